"""``colorkit serve`` in a real browser: headless Chromium driven by Selenium against a server this
module starts on a free loopback port (issue 16). Skipped, with the reason, where Chromium or its
driver is missing (CI installs Debian's ``chromium`` and ``chromium-driver``).

The hint model is a tiny CU-net trained here for a few dozen steps to copy its hint channels to its
output, so "the clicked pixel's colour moves toward the hint" is a real check that can fail.

With ``COLORKIT_SCREENSHOTS=docs/images`` the tests also save the screenshots of docs/serve.md
(``serve-*.png``), coloured by the shipped model where it can be loaded.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="colorkit[web] is not installed")
pytest.importorskip("uvicorn", reason="colorkit[web] is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (it is in colorkit[dev])")

import uvicorn  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from colorkit.cli.serve import listen  # noqa: E402
from colorkit.data.sample import sample_photos  # noqa: E402
from colorkit.data.lab import rgb_to_lab_np  # noqa: E402
from colorkit.data.metadata import read_metadata  # noqa: E402
from colorkit.hints.file import read_hints_file  # noqa: E402
from colorkit.serve.app import create_web_app  # noqa: E402
from colorkit.serve.models import ModelChoices  # noqa: E402
from colorkit.serve.photos import Photos  # noqa: E402
from colorkit.testing import save_tiny_checkpoint  # noqa: E402
from colorkit.zoo import DEFAULT_MODEL  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

SCREENSHOTS = os.environ.get("COLORKIT_SCREENSHOTS")
"""A folder to save the docs' screenshots in (unset: none are taken)."""
WAIT = 90
"""Seconds to wait for the page (the machine may be busy with a training)."""


def chromium_and_driver() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("no Chromium or chromedriver on PATH (apt-get install chromium chromium-driver)")
    return browser, driver


def train_hint_copier(path: Path, steps: int = 80) -> Path:
    """A tiny hint model trained to put each hint's ab where the hint is (its hint channels copied to
    its output): a model whose hints visibly work, in a few seconds."""
    import torch

    from colorkit import checkpoint as ckpt
    from colorkit.build import build_model
    from colorkit.plugins import get_host

    save_tiny_checkpoint(path, hints={"sampler": "points"})
    tensors, meta = ckpt.read_checkpoint(path)
    net = build_model(meta["model"], get_host())
    ckpt.load_modules(path, tensors, {"model": net})
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    size, batch = meta["size"], 16
    for _ in range(steps):
        L = torch.rand(batch, 1, 1, 1, generator=gen) * 1.6 - 0.8 + 0.2 * torch.randn(batch, 1, size, size, generator=gen)
        hint = torch.zeros(batch, 3, size, size)
        for i in range(batch):
            y, x = torch.randint(0, size, (2,), generator=gen).tolist()
            patch = (slice(None), slice(max(y - 2, 0), y + 3), slice(max(x - 2, 0), x + 3))
            hint[i][:2][patch] = (torch.rand(2, 1, 1, generator=gen) * 1.2 - 0.6)
            hint[i][2:][patch] = 1.0
        weight = 1 + 20 * hint[:, 2:]  # the few hinted pixels count as much as the rest together
        loss = (weight * (net(torch.cat([L, hint], 1)) - hint[:, :2]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    ckpt.save_checkpoint(path, modules={"model": net.eval()}, meta=meta)
    return path


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A server on a free loopback port: the trained hint model first, a plain run in its runs folder."""
    chromium_and_driver()
    root = tmp_path_factory.mktemp("serve-browser")
    model = train_hint_copier(root / "hints.safetensors")
    (root / "runs" / "plain" / "checkpoints").mkdir(parents=True)
    save_tiny_checkpoint(root / "runs" / "plain" / "checkpoints" / "best.safetensors")
    (root / "uploads").mkdir()
    app = create_web_app(ModelChoices(str(model), root / "runs", device="cpu"), Photos(root / "uploads"), max_upload_bytes=5_000_000)
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(30)
    assert list((root / "uploads").iterdir()) == []


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    binary, driver_path = chromium_and_driver()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server_url, downloads):
    """The page freshly opened in one tab, with its models listed and the downloads folder empty."""
    for old in downloads.iterdir():
        old.unlink()
    browser.get(server_url)
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    return browser


def gray_photo(path: Path, w: int, h: int, seed: int = 0) -> Path:
    """A generated gray photo (gradients and a block) saved at ``path``."""
    yy, xx = np.mgrid[0:h, 0:w]
    gray = 60 + 120 * xx / w + 40 * yy / h
    gray[h // 3 : h // 2, w // 5 : w // 3] = 40 + 30 * seed
    Image.fromarray(gray.clip(0, 255).astype(np.uint8)).save(path)
    return path


def drop(driver, *paths: Path) -> None:
    driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in paths))


def drag_and_drop(driver, *paths: Path) -> bool:
    """Drop files on the page's drop zone as a person's drag does: the files go into a DataTransfer
    (through a throwaway file input, the only way a page gets real File objects) and the zone gets
    ``dragover`` then ``drop`` events carrying it. Returns whether the zone lit up on ``dragover``."""
    carrier = driver.execute_script(
        "const i = document.createElement('input'); i.type = 'file'; i.multiple = true; i.hidden = true;"
        "document.body.appendChild(i); return i;")
    carrier.send_keys("\n".join(str(p) for p in paths))
    return driver.execute_script("""const [carrier, zone] = arguments;
    const data = new DataTransfer(); for (const f of carrier.files) data.items.add(f);
    const event = (type) => new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true});
    zone.dispatchEvent(event("dragover")); const lit = zone.classList.contains("over");
    zone.dispatchEvent(event("drop")); carrier.remove(); return lit;""", carrier, driver.find_element(By.ID, "drop"))


def cards(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#photos .card")


def wait_results(driver, card, count: int) -> None:
    """Until ``card`` shows its ``count``-th result (or an error, which fails the test)."""

    def done(_):
        error = card.find_element(By.CSS_SELECTOR, ".error").text
        assert not error, error
        return int(card.get_attribute("data-results") or 0) >= count and card.find_element(By.CSS_SELECTOR, ".busy").get_attribute("hidden")

    WebDriverWait(driver, WAIT).until(done)


def result_png(driver, card) -> bytes:
    """The bytes of the card's result, fetched by the page from its download link."""
    script = """const [link, done] = arguments;
    fetch(link.href).then(r => r.arrayBuffer()).then(b => {
      let s = ""; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); done(btoa(s)); });"""
    return base64.b64decode(driver.execute_async_script(script, card.find_element(By.CSS_SELECTOR, ".download-png")))


def click_pixel(driver, img, x: int, y: int, w: int, h: int) -> None:
    """Click ``img`` (showing a ``w`` x ``h`` photo) on the photo's pixel (x, y)."""
    box = img.rect
    dx = (x + 0.5) / w * box["width"] - box["width"] / 2
    dy = (y + 0.5) / h * box["height"] - box["height"] / 2
    ActionChains(driver).move_to_element_with_offset(img, round(dx), round(dy)).click().perform()


def set_colour(driver, element, value: str) -> None:
    """Choose a colour in an ``<input type=color>`` (the native dialog cannot be driven)."""
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))", element, value)


def downloaded(folder: Path, name: str) -> Path:
    path = folder / name
    deadline = time.monotonic() + WAIT
    while not path.is_file() or any(folder.glob("*.crdownload")):
        assert time.monotonic() < deadline, f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}"
        time.sleep(0.1)
    return path


def screenshot(driver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        shot.quantize(256, method=Image.Quantize.MEDIANCUT).save(Path(SCREENSHOTS) / f"serve-{name}.png", optimize=True)  # a small file for the docs


def ab_distance(rgb: np.ndarray, colour: str) -> float:
    target = rgb_to_lab_np(np.array([[[int(colour[i : i + 2], 16) for i in (1, 3, 5)]]], np.uint8))[0, 0, 1:]
    return float(np.linalg.norm(rgb_to_lab_np(rgb[None, None].astype(np.uint8))[0, 0, 1:] - target))


def test_colour_a_photo_add_a_hint_and_download(page, tmp_path, downloads):
    w, h, (x, y), colour = 192, 128, (140, 40), "#b05a3c"
    drop(page, gray_photo(tmp_path / "street.png", w, h))
    card = cards(page)[0]
    wait_results(page, card, 1)
    assert card.find_element(By.CSS_SELECTOR, ".info").text == f"{w} x {h} px, 8-bit"
    first = np.asarray(Image.open(io.BytesIO(result_png(page, card))).convert("RGB"))
    assert first.shape == (h, w, 3)
    img = card.find_element(By.CSS_SELECTOR, ".colour")
    assert page.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", img) == [w, h]

    set_colour(page, card.find_element(By.CSS_SELECTOR, ".hint-colour"), colour)
    click_pixel(page, card.find_element(By.CSS_SELECTOR, ".gray"), x, y, w, h)
    wait_results(page, card, 2)
    assert card.get_attribute("data-hints-used") == "1"
    listed = [li.text.split(")")[0].strip("(").split(", ") for li in card.find_elements(By.CSS_SELECTOR, ".hint-list li")]
    assert len(listed) == 1 and abs(int(listed[0][0]) - x) <= 1 and abs(int(listed[0][1]) - y) <= 1  # a click lands within a pixel
    x, y = int(listed[0][0]), int(listed[0][1])
    hinted = np.asarray(Image.open(io.BytesIO(result_png(page, card))).convert("RGB"))
    before, after = ab_distance(first[y, x], colour), ab_distance(hinted[y, x], colour)
    assert after < 0.6 * before, (before, after)  # the clicked pixel moved toward the hint's colour
    far = ab_distance(hinted[h - 5, 5], colour)
    assert far > after  # and mostly there: the hint is local
    screenshot(page, "hint")

    card.find_element(By.CSS_SELECTOR, ".download-png").click()
    png = downloaded(downloads, "street_colour.png")
    assert Image.open(png).size == (w, h) and read_metadata(png).bits == 8
    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), hinted)
    card.find_element(By.CSS_SELECTOR, ".download-hints").click()
    hints = read_hints_file(downloaded(downloads, "street.hints.json"), w, h)  # what `colorize --hints` reads
    assert len(hints) == 1 and (hints[0].x * w - 0.5, hints[0].y * h - 0.5) == pytest.approx((x, y))

    card.find_element(By.CSS_SELECTOR, ".hint-list .remove").click()  # no hint: the first colours again
    wait_results(page, card, 3)
    assert card.find_elements(By.CSS_SELECTOR, ".hint-list li") == []
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(result_png(page, card))).convert("RGB")), first)


def test_a_portrait_with_the_shipped_model_side_by_side_and_with_the_slider(page, tmp_path):
    """The pretrained model picked from the list colours a public-domain portrait (Grace Hopper, U.S.
    Navy, shipped with matplotlib) at its own size; the slider uncovers the gray as it moves."""
    Image.open(sample_photos()["grace_hopper"]).convert("L").save(tmp_path / "grace_hopper.jpg", quality=92)
    Select(page.find_element(By.ID, "model")).select_by_value(DEFAULT_MODEL)
    drop(page, tmp_path / "grace_hopper.jpg")
    card = cards(page)[0]
    wait_results(page, card, 1)
    result = np.asarray(Image.open(io.BytesIO(result_png(page, card))).convert("RGB"))
    assert result.shape == (600, 512, 3)
    assert np.abs(rgb_to_lab_np(result)[..., 1:]).mean() > 1  # colour, not gray
    screenshot(page, "page")
    card.find_element(By.CSS_SELECTOR, ".view-slider").click()
    slider = card.find_element(By.CSS_SELECTOR, ".reveal")
    page.execute_script("arguments[0].value = 30; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert card.find_element(By.CSS_SELECTOR, ".before").value_of_css_property("clip-path") == "inset(0px 70% 0px 0px)"
    screenshot(page, "slider")


def test_photos_dragged_onto_the_page_are_coloured(page, tmp_path):
    photos = [gray_photo(tmp_path / f"dragged{i}.png", 48, 32, seed=i) for i in range(2)]
    assert drag_and_drop(page, *photos)  # the zone shows where to let go
    assert "over" not in page.find_element(By.ID, "drop").get_attribute("class")  # and stops once dropped
    WebDriverWait(page, WAIT).until(lambda d: len(cards(d)) == 2)
    for card in cards(page):
        wait_results(page, card, 1)
    assert [c.find_element(By.CSS_SELECTOR, ".info").text for c in cards(page)] == ["48 x 32 px, 8-bit"] * 2


def test_a_16_bit_scan_downloads_as_16_bit(page, tmp_path, downloads):
    ramp = (np.mgrid[0:48, 0:80][1] * 800 + 1000).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "scan16.png")
    drop(page, tmp_path / "scan16.png")
    card = cards(page)[0]
    wait_results(page, card, 1)
    assert card.find_element(By.CSS_SELECTOR, ".info").text == "80 x 48 px, 16-bit"
    card.find_element(By.CSS_SELECTOR, ".download-png").click()
    png = downloaded(downloads, "scan16_colour.png")
    assert Image.open(png).size == (80, 48) and read_metadata(png).bits == 16


def test_a_file_that_cannot_be_coloured_shows_a_message(page, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    drop(page, tmp_path / "broken.jpg", gray_photo(tmp_path / "fine.png", 40, 30))
    WebDriverWait(page, WAIT).until(lambda d: len(cards(d)) == 2 and cards(d)[0].find_element(By.CSS_SELECTOR, ".error").text)
    message = cards(page)[0].find_element(By.CSS_SELECTOR, ".error").text
    assert message.startswith("broken.jpg: ") and ("not an image" in message or "cannot decode" in message), message
    wait_results(page, cards(page)[1], 1)  # the next photo is coloured all the same
    screenshot(page, "error")


def test_another_model_from_the_runs_folder(page, tmp_path):
    drop(page, gray_photo(tmp_path / "a.png", 64, 48))
    card = cards(page)[0]
    wait_results(page, card, 1)
    assert card.find_element(By.CSS_SELECTOR, ".hints").is_displayed()
    names = [o.get_attribute("value") for o in Select(page.find_element(By.ID, "model")).options]
    assert names[0] == "hints.safetensors" and "runs/plain" in names
    Select(page.find_element(By.ID, "model")).select_by_value("runs/plain")
    wait_results(page, card, 2)
    assert not card.find_element(By.CSS_SELECTOR, ".hints").is_displayed()  # that model takes no hints
    card.find_element(By.CSS_SELECTOR, ".view-slider").click()
    assert card.find_element(By.CSS_SELECTOR, ".compare").is_displayed() and not card.find_element(By.CSS_SELECTOR, ".gray").is_displayed()


def test_two_tabs_at_once_keep_their_own_photos(page, server_url, tmp_path):
    """Two tabs drop photos of different sizes at the same time; each gets its own photos back."""
    sizes = {"left": [(72, 40), (50, 60)], "right": [(64, 64)]}
    tabs = {"left": page.current_window_handle}
    page.switch_to.new_window("tab")
    tabs["right"] = page.current_window_handle
    try:
        page.get(server_url)
        WebDriverWait(page, WAIT).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
        for side in ("left", "right"):  # both start before either has finished
            page.switch_to.window(tabs[side])
            drop(page, *[gray_photo(tmp_path / f"{side}{i}.png", w, h, seed=i) for i, (w, h) in enumerate(sizes[side])])
        for side in ("left", "right"):
            page.switch_to.window(tabs[side])
            found = cards(page)
            assert len(found) == len(sizes[side])
            for card, (w, h) in zip(found, sizes[side]):
                wait_results(page, card, 1)
                result = np.asarray(Image.open(io.BytesIO(result_png(page, card))).convert("RGB"))
                source = np.asarray(Image.open(tmp_path / card.find_element(By.CSS_SELECTOR, ".name").text).convert("RGB"))
                assert result.shape == (h, w, 3)
                assert np.abs(rgb_to_lab_np(result)[..., 0] - rgb_to_lab_np(source)[..., 0]).mean() < 1.5  # its own photo
    finally:
        page.switch_to.window(tabs["right"])
        page.close()
        page.switch_to.window(tabs["left"])

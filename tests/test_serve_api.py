"""``colorkit serve`` over plain HTTP (FastAPI's TestClient): uploads, limits, ids, models by name,
hints, 16-bit results, and the command itself (issue 16). The page in a real browser:
tests/test_serve_browser.py."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="colorkit[web] is not installed")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from colorkit.data.images import set_max_pixels  # noqa: E402
from colorkit.data.lab import rgb_to_lab_np  # noqa: E402
from colorkit.hints.file import parse_hints  # noqa: E402
from colorkit.serve.app import create_web_app  # noqa: E402
from colorkit.serve.models import ModelChoices  # noqa: E402
from colorkit.serve.photos import Photos  # noqa: E402
from colorkit.testing import cli, save_tiny_checkpoint  # noqa: E402
from colorkit.zoo import DEFAULT_HINT_MODEL, DEFAULT_MODEL  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def photo(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A generated photo with structure (gradients and a block), so its L is its own."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 / w, yy * 255 / h, np.full((h, w), 90.0)], -1)
    img[h // 4 : h // 2, w // 4 : w // 2] = rng.uniform(0, 255, 3)
    return img.astype(np.uint8)


def png_bit_depth(data: bytes) -> int:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data[24]  # IHDR: length, type, width, height, then the bit depth


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve-models")
    save_tiny_checkpoint(root / "plain.safetensors")
    save_tiny_checkpoint(root / "hinted.safetensors", hints={"sampler": "points"})
    runs = root / "runs"
    for name, has_checkpoint in (("good-run", True), ("empty-run", False)):
        (runs / name / "checkpoints").mkdir(parents=True)
        if has_checkpoint:
            save_tiny_checkpoint(runs / name / "checkpoints" / "last.safetensors")
    return root


@pytest.fixture
def server(models_dir, tmp_path):
    """A client of a fresh app (the hint model first), its upload folder, and the app's parts."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    models = ModelChoices(str(models_dir / "hinted.safetensors"), models_dir / "runs", device="cpu")
    photos = Photos(uploads, keep=3)
    app = create_web_app(models, photos, max_upload_bytes=200_000)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, uploads, models


def upload(client, data: bytes, name: str = "photo.png"):
    return client.post("/api/photos", content=data, headers={"X-Filename": name})


def colour(client, photo_id: str, **body):
    return client.post(f"/api/photos/{photo_id}/colour", json=body)


def result(client, photo_id: str) -> bytes:
    """The download of the latest colouring: the PNG ``colorize`` would write."""
    answer = client.get(f"/api/photos/{photo_id}/result.png")
    assert answer.status_code == 200, answer.text
    return answer.content


def test_the_page_and_its_files_are_served(server):
    client, _, _ = server
    page = client.get("/")
    assert page.status_code == 200 and "/static/page.js" in page.text
    assert client.get("/static/page.js").headers["content-type"].startswith("text/javascript")
    for wrong in ("/static/index.html/../../app.py", "/static/..%2Fapp.py", "/static/app.py"):
        assert client.get(wrong).status_code == 404, wrong


def test_models_are_listed_by_name_and_runs_need_a_checkpoint(server):
    client, _, _ = server
    listed = client.get("/api/models").json()
    names = [m["name"] for m in listed["models"]]
    assert listed["default"] == names[0] == "hinted.safetensors"
    assert DEFAULT_MODEL in names and "runs/good-run" in names and "runs/empty-run" not in names
    assert not any(os.sep in n and not n.startswith("runs/") for n in names)


@pytest.mark.parametrize("name", ["/etc/passwd", "../plain.safetensors", "plain.safetensors", "runs/empty-run"])
def test_a_model_outside_the_list_is_refused_and_never_opened(server, name):
    client, _, _ = server
    photo_id = upload(client, png(photo())).json()["id"]
    answer = colour(client, photo_id, model=name)
    assert answer.status_code == 422
    assert "not one of this server's models" in answer.json()["detail"]


def test_a_photo_is_coloured_at_its_own_size_with_another_model_by_name(server):
    client, uploads, _ = server
    rgb = photo(37, 61)
    described = upload(client, png(rgb), "my%20photo.png").json()
    assert described == {"id": described["id"], "name": "my photo.png", "width": 61, "height": 37, "bits": 8}
    for model in ("hinted.safetensors", "runs/good-run"):
        answer = colour(client, described["id"], model=model)
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Takes-Hints"] == ("1" if model == "hinted.safetensors" else "0")
        shown = Image.open(io.BytesIO(answer.content))
        assert shown.format == "JPEG" and shown.size == (61, 37)  # quick to encode at any size
        data = result(client, described["id"])
        coloured = np.asarray(Image.open(io.BytesIO(data)))
        assert coloured.shape == rgb.shape and png_bit_depth(data) == 8
        assert np.abs(coloured.astype(int) - np.asarray(shown.convert("RGB"), int)).mean() < 3  # the same picture
        L_in, L_out = rgb_to_lab_np(rgb)[..., 0], rgb_to_lab_np(coloured)[..., 0]
        assert np.abs(L_in - L_out).mean() < 1.5  # the photo's own L, joined with the predicted ab
    gray = Image.open(io.BytesIO(client.get(f"/api/photos/{described['id']}/gray.jpg").content))
    assert gray.mode == "L" and gray.size == (61, 37)
    assert list(uploads.iterdir()) == []  # an upload is decoded from the temporary folder, then deleted


def test_a_16_bit_scan_gives_a_16_bit_png(server):
    client, _, _ = server
    ramp = (np.mgrid[0:30, 0:50][1] * 1300).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    described = upload(client, buf.getvalue(), "scan.png").json()
    assert described["bits"] == 16
    assert colour(client, described["id"]).status_code == 200
    data = result(client, described["id"])
    assert png_bit_depth(data) == 16 and Image.open(io.BytesIO(data)).size == (50, 30)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"not an image at all", "bad.jpg: not an image"),
        (png(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))[:6000], "bad.jpg: cannot decode"),
        (b"", "bad.jpg: empty file"),
        (b"x" * 200_001, "bad.jpg: 200,001 bytes is over the upload limit of 0.2 MB (colorkit serve --max-upload-mb)"),
    ],
)
def test_a_file_that_cannot_be_coloured_gets_one_line(server, data, message):
    client, uploads, _ = server
    answer = upload(client, data, "bad.jpg")
    assert answer.status_code in (413, 422)
    detail = answer.json()["detail"]
    assert detail.startswith(message) and "\n" not in detail and str(uploads) not in detail
    assert list(uploads.iterdir()) == []


def test_the_pixel_guard_is_the_one_of_colorize(server):
    client, _, _ = server
    set_max_pixels(1000)
    try:
        answer = upload(client, png(photo(40, 56)), "big.png")
    finally:
        set_max_pixels(None)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("big.png: too large: 56 x 40 = 2,240 pixels is over the limit of 1,000")


def test_a_declared_length_over_the_limit_is_refused_before_reading(server):
    client, _, _ = server
    answer = client.post("/api/photos", content=b"x" * 10, headers={"X-Filename": "huge.tif", "Content-Length": "5000000"})
    assert answer.status_code == 413 and "huge.tif: 5,000,000 bytes is over the upload limit" in answer.json()["detail"]


def test_a_colour_request_over_its_limit_is_refused(server):
    from colorkit.serve.app import MAX_REQUEST_BYTES

    client, _, _ = server
    photo_id = upload(client, png(photo(32, 32)), "a.png").json()["id"]
    hints = {"units": "px", "hints": [{"x": 1, "y": 1, "ab": [1.0, 2.0]}] * (MAX_REQUEST_BYTES // 20)}
    answer = client.post(f"/api/photos/{photo_id}/colour", json={"hints": hints})
    assert answer.status_code == 413 and "over the colour request's limit" in answer.json()["detail"]


@pytest.mark.parametrize("photo_id", ["nope", "%2e%2e%2fetc", "A" * 22])
def test_an_unknown_id_is_a_clear_404(server, photo_id):
    client, _, _ = server
    for answer in (client.get(f"/api/photos/{photo_id}/gray.jpg"), colour(client, photo_id)):
        assert answer.status_code == 404
        assert "no longer on the server" in answer.json()["detail"] or "%2f" in photo_id  # a slash matches no route


def test_old_photos_make_room_and_ids_are_random(server):
    client, _, _ = server
    ids = [upload(client, png(photo(seed=i))).json()["id"] for i in range(4)]
    assert len(set(ids)) == 4 and all(len(i) >= 20 for i in ids)
    assert client.get(f"/api/photos/{ids[0]}/gray.jpg").status_code == 404  # keep=3
    assert client.get(f"/api/photos/{ids[3]}/gray.jpg").status_code == 200


def test_hints_change_the_result_and_come_back_as_a_hints_file(server, models_dir, tmp_path):
    """The page's hints file is what ``colorkit colorize --hints`` reads: it colours the photo as the page did."""
    client, _, _ = server
    rgb = photo(40, 56)
    (tmp_path / "photo.png").write_bytes(png(rgb))
    photo_id = upload(client, png(rgb)).json()["id"]
    assert client.get(f"/api/photos/{photo_id}/result.png").json()["detail"] == "photo.png: not coloured yet"
    colour(client, photo_id, hints={"units": "px", "hints": []})
    plain = result(client, photo_id)
    document = {"units": "px", "hints": [{"x": 20, "y": 10, "color": "#1f3a93", "radius": 6}, {"x": 50, "y": 35, "color": "#e0c000"}]}
    colour(client, photo_id, hints=document)
    hinted = result(client, photo_id)
    assert not np.array_equal(np.asarray(Image.open(io.BytesIO(plain))), np.asarray(Image.open(io.BytesIO(hinted))))
    saved = client.get(f"/api/photos/{photo_id}/hints.json").json()
    assert parse_hints(saved, 56, 40, "saved") == pytest.approx(parse_hints(document, 56, 40, "sent"))
    (tmp_path / "photo.hints.json").write_text(json.dumps(saved))
    ran = cli("colorize", models_dir / "hinted.safetensors", tmp_path / "photo.png", "--hints", tmp_path / "photo.hints.json",
                 "-o", tmp_path / "out.png", "--device", "cpu", "--backend", "torch")
    assert ran.exit_code == 0, ran.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), np.asarray(Image.open(io.BytesIO(hinted))))


def test_a_bad_hint_is_named_and_a_plain_model_refuses_hints(server):
    client, _, _ = server
    photo_id = upload(client, png(photo(40, 56))).json()["id"]
    answer = colour(client, photo_id, hints={"units": "px", "hints": [{"x": 56, "y": 0, "color": "#ffffff"}]})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("browser: hints[0]: x = 56 is outside the image")
    answer = colour(client, photo_id, model="runs/good-run", hints={"hints": [{"x": 1, "y": 1, "color": "#ffffff"}]})
    assert answer.status_code == 422 and "no hint channels" in answer.json()["detail"]
    assert client.post(f"/api/photos/{photo_id}/colour", content=b"{nope").json()["detail"] == "the request is not JSON"


def test_only_requests_to_a_loopback_name_are_answered(server):
    client, _, _ = server
    assert client.get("/api/models", headers={"Host": "attacker.example"}).status_code == 400
    for name in ("localhost:7860", "[::1]:7860", "127.0.0.1"):
        assert client.get("/api/models", headers={"Host": name}).status_code == 200, name


def test_tabs_at_once_get_their_own_photos(server):
    """Several clients upload and colour at the same time: each result has its own photo's L."""
    client, _, models = server
    photos = [photo(40 + 4 * i, 56, seed=i) for i in range(3)]  # the server keeps 3
    results: dict[int, np.ndarray] = {}

    def tab(i: int) -> None:
        photo_id = upload(client, png(photos[i]), f"tab{i}.png").json()["id"]
        for _ in range(2):
            answer = colour(client, photo_id, model=["hinted.safetensors", "runs/good-run"][i % 2])
            assert answer.status_code == 200, answer.text
        results[i] = np.asarray(Image.open(io.BytesIO(result(client, photo_id))))

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2]  # a tab that failed left no result (its assertion is printed)
    for i, coloured in results.items():
        assert coloured.shape == photos[i].shape
        assert np.abs(rgb_to_lab_np(photos[i])[..., 0] - rgb_to_lab_np(coloured)[..., 0]).mean() < 1.5


def test_the_model_runs_one_photo_at_a_time(server, monkeypatch):
    """Requests from several tabs overlap; the network never runs two of them at once."""
    from colorkit.inference.colorizer import Colorizer

    client, _, _ = server
    running, most = [0], [0]
    real = Colorizer.predict_many

    def predict_many(self, *args, **kwargs):
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.05)  # long enough for the other requests to arrive meanwhile
        try:
            return real(self, *args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(Colorizer, "predict_many", predict_many)
    ids = [upload(client, png(photo(seed=i))).json()["id"] for i in range(3)]
    threads = [threading.Thread(target=colour, args=(client, i)) for i in ids for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    result = cli("serve")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ['error: colorkit serve needs fastapi: pip install "colorkit[web]"']


def test_serve_with_a_model_it_cannot_load_is_one_line(tmp_path):
    result = cli("serve", tmp_path / "nosuch.safetensors", "--port", "0")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "nosuch.safetensors" in result.output


@pytest.mark.parametrize("stop, model", [(signal.SIGINT, "plain.safetensors"), (signal.SIGTERM, None)])
def test_the_command_prints_the_url_warns_off_loopback_and_leaves_nothing(models_dir, tmp_path, stop, model):
    """``colorkit serve [MODEL] --host 0.0.0.0 --port 0`` in a process of its own: the URL it prints
    answers with the model asked for (without one, the shipped model that takes hints), a warning
    names the exposure, and Ctrl-C or SIGTERM leaves its temporary folder removed."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    asked = [str(models_dir / model)] if model else []
    command = [sys.executable, "-m", "colorkit", "serve", *asked, "--host", "0.0.0.0", "--port", "0", "--device", "cpu"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://\S+/", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        assert len(ours(tmp)) == 1, sorted(p.name for p in tmp.iterdir())
        port = url.group(0).rsplit(":", 1)[1].strip("/")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=30) as answer:
            assert json.load(answer)["default"] == (model or DEFAULT_HINT_MODEL)
    finally:
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=60)
    assert "warning: listening on 0.0.0.0" in stderr
    assert proc.returncode == (130 if stop == signal.SIGINT else 143)
    assert ("interrupted" in stderr) == (stop == signal.SIGINT)
    assert ours(tmp) == []


def ours(folder: Path) -> list[Path]:
    """The temporary folders of ``colorkit serve`` in ``folder`` (torch may keep caches there too)."""
    return [p for p in folder.iterdir() if p.name.startswith("colorkit-serve-")]

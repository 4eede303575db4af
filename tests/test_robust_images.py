"""Bad and odd image files: each is decoded correctly or refused with the file and the reason.

Cases already covered elsewhere (zero-byte file, plain garbage, transparent RGBA, plain L, a bad file
inside a dataset, on_bad_file = "stop") live in test_data.py and test_end_to_end.py.
"""

import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorkit.cli.common import safe_streams
from colorkit.data import images
from colorkit.data.images import find_images, load_rgb, open_image, printable, set_max_pixels
from colorkit.errors import ColorkitError, ImageError
from colorkit.testing import cli, make_images, write_recipe

pytestmark = pytest.mark.usefixtures("one_thread")

RNG = np.random.default_rng(0)
PHOTO = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)


def encoded(fmt: str, arr: np.ndarray = PHOTO, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **options)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def refused(path, *fragments) -> str:
    with pytest.raises(ImageError) as exc:
        open_image(path)
    msg = str(exc.value)
    assert str(path) in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


@pytest.fixture(autouse=True)
def default_pixel_limit(monkeypatch):
    monkeypatch.delenv(images.MAX_PIXELS_ENV, raising=False)
    set_max_pixels(None)
    yield
    set_max_pixels(None)


# --- truncated, corrupt and disguised files -------------------------------------------------------


@pytest.mark.parametrize("fmt,name", [("JPEG", "photo.jpg"), ("PNG", "photo.png")])
def test_truncated_files_are_refused_as_truncated(tmp_path, fmt, name):
    data = encoded(fmt)
    refused(write(tmp_path / name, data[: len(data) // 2]), "cannot decode", "truncated")
    msg = refused(write(tmp_path / ("tiny_" + name), data[:20]))  # not even a full header
    assert "not an image" in msg or "truncated" in msg.lower()


def test_corrupt_png_data_is_refused(tmp_path):
    data = bytearray(encoded("PNG"))
    data[100:140] = bytes(40)  # inside the compressed pixel data
    refused(write(tmp_path / "corrupt.png", bytes(data)), "cannot decode")


def test_corrupt_jpeg_header_is_refused(tmp_path):
    data = bytearray(encoded("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = bytes(4)  # zero height and width in the frame header
    refused(write(tmp_path / "corrupt.jpg", bytes(data)), "not an image", "damaged header")


def test_corrupt_jpeg_scan_data_decodes_with_artefacts(tmp_path):
    """libjpeg resynchronises on damaged entropy-coded data: the photo decodes, damaged, at full size."""
    data = bytearray(encoded("JPEG"))
    data[-200:-160] = bytes(40)
    rgb = load_rgb(write(tmp_path / "damaged.jpg", bytes(data)))
    assert rgb.shape == PHOTO.shape and rgb.dtype == np.uint8


@pytest.mark.parametrize("name,content", [("notes.png", b"hello world\n" * 20), ("page.jpg", b"<html><body></body></html>"), ("pdf.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")])
def test_non_images_with_image_extensions_are_refused(tmp_path, name, content):
    refused(write(tmp_path / name, content), "not an image")


def test_a_folder_named_like_an_image_is_refused(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    refused(tmp_path / "album.jpg", "folder")
    assert find_images(tmp_path).files == []  # searched as a folder, not listed as an image


# --- modes: 16-bit, CMYK, palette, alpha, grayscale ------------------------------------------------


def test_16_bit_png_keeps_its_range(tmp_path):
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)[None].repeat(4, 0)
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    assert Image.open(tmp_path / "ramp16.png").mode == "I;16"
    rgb = load_rgb(tmp_path / "ramp16.png")
    assert rgb.shape == (4, 256, 3) and rgb[0, 0, 0] == 0 and rgb[0, -1, 0] == 255
    assert np.abs(rgb[0, :, 0].astype(int) - np.arange(256)).max() <= 1  # 16 -> 8 bits, no clipping
    Image.fromarray(np.full((3, 3), 1000, np.uint16)).save(tmp_path / "dark16.png")
    assert (load_rgb(tmp_path / "dark16.png") == 4).all()  # 1000 / 65535 * 255: dark stays dark


@pytest.mark.parametrize(
    "cmyk,rgb",
    [((0, 0, 0, 0), (255, 255, 255)), ((0, 255, 255, 0), (255, 0, 0)), ((255, 0, 255, 0), (0, 255, 0)), ((0, 0, 0, 255), (0, 0, 0)), ((0, 0, 255, 0), (255, 255, 0))],
)
def test_cmyk_jpeg_converts_to_the_right_rgb(tmp_path, cmyk, rgb):
    Image.new("CMYK", (16, 16), cmyk).save(tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    out = load_rgb(tmp_path / "cmyk.jpg")
    assert out.shape == (16, 16, 3)
    assert np.abs(out.reshape(-1, 3).mean(0) - np.array(rgb)).max() < 6


def test_palette_png_with_and_without_transparency(tmp_path):
    index = np.array([[0, 1], [1, 2]], np.uint8)
    palette = [255, 0, 0, 0, 0, 255, 0, 128, 0] + [0] * (256 * 3 - 9)
    img = Image.fromarray(index, "P")
    img.putpalette(palette)
    img.save(tmp_path / "pal.png")
    img.save(tmp_path / "pal_t.png", transparency=1)  # index 1 (blue) is transparent
    assert load_rgb(tmp_path / "pal.png").tolist() == [[[255, 0, 0], [0, 0, 255]], [[0, 0, 255], [0, 128, 0]]]
    assert load_rgb(tmp_path / "pal_t.png").tolist() == [[[255, 0, 0], [255, 255, 255]], [[255, 255, 255], [0, 128, 0]]]


def test_alpha_is_composited_on_white(tmp_path):
    Image.new("RGBA", (3, 3), (0, 0, 255, 128)).save(tmp_path / "half.png")
    Image.new("LA", (3, 3), (100, 0)).save(tmp_path / "la_clear.png")
    Image.new("LA", (3, 3), (100, 255)).save(tmp_path / "la_opaque.png")
    half = load_rgb(tmp_path / "half.png")[0, 0]
    assert np.abs(half.astype(int) - [127, 127, 255]).max() <= 1
    assert (load_rgb(tmp_path / "la_clear.png") == 255).all()
    assert (load_rgb(tmp_path / "la_opaque.png") == 100).all()


def test_one_bit_and_grayscale_jpeg_give_gray_rgb(tmp_path):
    Image.new("1", (5, 4), 1).save(tmp_path / "bw.png")
    Image.new("L", (5, 4), 90).save(tmp_path / "gray.jpg")
    assert (load_rgb(tmp_path / "bw.png") == 255).all()
    gray = load_rgb(tmp_path / "gray.jpg")
    assert gray.shape == (4, 5, 3) and (gray[..., 0] == gray[..., 1]).all() and abs(int(gray[0, 0, 0]) - 90) <= 1


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((2, 6, 3), np.uint8)
    arr[0, 0] = (255, 0, 0)  # red marks the top-left corner as stored
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img.save(tmp_path / "rotated.png", exif=exif)
    rgb = load_rgb(tmp_path / "rotated.png")
    assert rgb.shape == (6, 2, 3)
    assert tuple(rgb[0, 1]) == (255, 0, 0)  # the stored top-left is now top-right


@pytest.mark.parametrize("side", [1, 3])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_tiny_images_decode(tmp_path, side, fmt):
    arr = np.full((side, side, 3), (200, 40, 90), np.uint8)
    path = write(tmp_path / f"tiny.{fmt.lower()}", encoded(fmt, arr))
    rgb = load_rgb(path)
    assert rgb.shape == (side, side, 3) and np.abs(rgb.astype(int) - arr).max() <= 8


# --- decompression bombs ----------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width x height`` pixels (the pixel data is a stub)."""
    data = bytearray(encoded("PNG", np.zeros((2, 2), np.uint8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def test_decompression_bomb_is_refused_before_decoding_with_how_to_raise_the_limit(tmp_path):
    bomb = write(tmp_path / "bomb.png", png_claiming(50_000, 50_000))
    msg = refused(bomb, "too large", "2,500,000,000 pixels", "--max-pixels", "COLORKIT_MAX_PIXELS")
    assert "89,478,485" in msg


def test_pillow_warning_band_is_refused_too(tmp_path, recwarn):
    """Pillow only warns between its limit and twice it; colorkit has one limit and no warning."""
    refused(write(tmp_path / "big.png", png_claiming(10_000, 10_000)), "too large")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_the_pixel_limit_can_be_raised_and_lowered(tmp_path, monkeypatch):
    small = write(tmp_path / "small.png", encoded("PNG"))  # 50 x 40 = 2000 pixels
    monkeypatch.setenv(images.MAX_PIXELS_ENV, "1999")
    refused(small, "too large", "limit of 1,999")
    monkeypatch.setenv(images.MAX_PIXELS_ENV, "2000")
    assert load_rgb(small).shape == PHOTO.shape
    set_max_pixels(100)  # what --max-pixels does; it wins over the environment
    refused(small, "limit of 100")
    # beyond twice Pillow's own limit (where Pillow alone refuses): colorkit's limit decides
    set_max_pixels(300_000_000)
    big = write(tmp_path / "big.png", png_claiming(14_000, 14_000))
    refused(big, "cannot decode")  # passed the size check; its stub pixel data is then truncated
    monkeypatch.setenv(images.MAX_PIXELS_ENV, "lots")
    set_max_pixels(None)
    with pytest.raises(ColorkitError, match="COLORKIT_MAX_PIXELS='lots'.*positive number"):
        load_rgb(small)


# --- file-system trouble -----------------------------------------------------------------------------


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    """Permission denied, simulated (the suite may run as root, who can read a chmod 000 file)."""
    path = write(tmp_path / "secret.jpg", encoded("JPEG"))

    def deny(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(images, "open", deny, raising=False)
    refused(path, "cannot read", "Permission denied")


@contextmanager
def unprivileged():
    """Run the block as user ``nobody`` when the suite runs as root (root reads chmod 000 files)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def shared_dir():
    """A folder ``nobody`` may enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="colorkit-perm-"))
    path.chmod(0o755)
    yield path
    for p in sorted(path.rglob("*"), reverse=True):
        p.chmod(0o755) if p.is_dir() else None
    shutil.rmtree(path)


def test_unreadable_file_real(shared_dir):
    path = write(shared_dir / "secret.jpg", encoded("JPEG"))
    path.chmod(0)
    with unprivileged():
        refused(path, "cannot read", "Permission denied")


def test_unreadable_folder_simulated(tmp_path, monkeypatch):
    write(tmp_path / "ok" / "a.png", encoded("PNG"))
    write(tmp_path / "locked" / "b.png", encoded("PNG"))
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = find_images(tmp_path)
    assert [p.name for p in found.files] == ["a.png"]
    assert len(found.problems) == 1 and "locked" in str(found.problems[0]) and "Permission denied" in str(found.problems[0])


def test_unreadable_folder_real(shared_dir):
    write(shared_dir / "open" / "a.png", encoded("PNG"))
    write(shared_dir / "locked" / "b.png", encoded("PNG"))
    (shared_dir / "locked").chmod(0)
    with unprivileged():
        found = find_images(shared_dir)
    assert [p.name for p in found.files] == ["a.png"]
    assert len(found.problems) == 1 and "locked" in str(found.problems[0]) and "cannot list folder" in str(found.problems[0])


def test_symlink_loops_and_dangling_links(tmp_path):
    root = tmp_path / "photos"
    write(root / "a.png", encoded("PNG"))
    write(tmp_path / "elsewhere" / "b.png", encoded("PNG"))
    (root / "loop").symlink_to(root, target_is_directory=True)  # photos/loop -> photos
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "self.jpg").symlink_to(root / "self.jpg")  # a link to itself
    (root / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    found = find_images(root)
    names = sorted(p.relative_to(root).as_posix() for p in found.files)
    assert names == ["a.png", "gone.jpg", "linked/b.png", "self.jpg"]  # each real folder searched once
    assert len(found.problems) == 1 and "loop" in str(found.problems[0])
    refused(root / "self.jpg", "cannot read", "symbolic links")
    refused(root / "gone.jpg", "cannot read", "No such file")


def test_non_utf8_file_names(tmp_path):
    folder = os.fsencode(tmp_path)
    name = os.path.join(folder, b"caf\xe9.png")
    with open(name, "wb") as f:
        f.write(encoded("PNG"))
    with open(os.path.join(folder, b"bad\xff.jpg"), "wb") as f:
        f.write(b"garbage")
    found = find_images(tmp_path)
    assert sorted(os.fsencode(p.name) for p in found.files) == [b"bad\xff.jpg", b"caf\xe9.png"]
    good = next(p for p in found.files if os.fsencode(p.name) == b"caf\xe9.png")
    assert load_rgb(good).shape == PHOTO.shape
    bad = next(p for p in found.files if p is not good)
    msg = refused(bad, "not an image")
    assert "bad\\xff.jpg: not an image" in printable(msg)  # shown as ls -b would


def test_non_utf8_names_print_on_a_strict_utf8_terminal(monkeypatch):
    """What every command does first: a surrogate-escaped name is printed escaped, not a crash."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    safe_streams()
    print(os.fsdecode(b"caf\xe9.jpg"), file=sys.stdout)
    stdout.flush()
    assert raw.getvalue() == b"caf\\udce9.jpg\n"
    assert printable(os.fsdecode(b"caf\xe9.jpg")) == "caf\\xe9.jpg"  # how colorkit's own messages show it


def test_decoded_colours_match_the_file(tmp_path):
    """A plain RGB PNG decodes to exactly its pixels, and its L is what scikit-image says."""
    path = write(tmp_path / "exact.png", encoded("PNG"))
    rgb = load_rgb(path)
    assert np.array_equal(rgb, PHOTO)
    assert np.allclose(rgb2lab(rgb)[..., 0], rgb2lab(PHOTO)[..., 0])


# --- through the commands: colorize, evaluate and training finish the good files ---------------------

def odd_folder(root: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Good odd images (name -> (height, width)) and bad files, written under ``root``."""
    good = {}
    for side in (1, 3):
        write(root / f"px{side}.png", encoded("PNG", np.full((side, side, 3), 120, np.uint8)))
        good[f"px{side}.png"] = (side, side)
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(root / "cmyk.jpg")
    good["cmyk.jpg"] = (10, 20)
    Image.fromarray(np.linspace(0, 65535, 24 * 16).astype(np.uint16).reshape(16, 24)).save(root / "deep16.png")
    good["deep16.png"] = (16, 24)
    (root / "sub").mkdir()
    Image.new("LA", (9, 7), (80, 200)).save(root / "sub" / "la.png")
    good["sub/la.png"] = (7, 9)
    with open(os.path.join(os.fsencode(root), b"caf\xe9.png"), "wb") as f:
        f.write(encoded("PNG", PHOTO[:13, :17]))
    good[os.fsdecode(b"caf\xe9.png")] = (13, 17)
    data = encoded("JPEG")
    write(root / "truncated.jpg", data[: len(data) // 2])
    write(root / "empty.png", b"")
    write(root / "notes.png", b"not an image")
    write(root / "bomb.png", png_claiming(50_000, 50_000))
    with open(os.path.join(os.fsencode(root), b"bad\xff.jpg"), "wb") as f:
        f.write(b"junk")
    bad = ["truncated.jpg", "empty.png", "notes.png", "bomb.png", os.fsdecode(b"bad\xff.jpg")]
    return good, bad


def test_colorize_finishes_good_files_lists_bad_ones_and_exits_1(tiny_checkpoint, tmp_path):
    good, bad = odd_folder(tmp_path / "in")
    result = cli("colorize", tiny_checkpoint, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert f"coloured {len(good)} of {len(good) + len(bad)}" in result.output
    for name in bad:
        assert printable(name) in result.output
    assert "Traceback" not in result.output
    for name, (h, w) in good.items():
        out = np.asarray(Image.open(tmp_path / "out" / name))
        assert out.shape == (h, w, 3), name  # every size, 1 x 1 included, comes back at its own size


def test_colorize_pixel_limit_option(tiny_checkpoint, tmp_path):
    photo = write(tmp_path / "photo.png", encoded("PNG"))  # 2000 pixels
    refused_run = cli("colorize", tiny_checkpoint, photo, "-o", tmp_path / "a.png", "--max-pixels", 1000)
    assert refused_run.exit_code == 1 and "too large" in refused_run.output and "--max-pixels" in refused_run.output
    assert cli("colorize", tiny_checkpoint, photo, "-o", tmp_path / "b.png", "--max-pixels", 2000).exit_code == 0


def test_evaluate_finishes_good_files_lists_bad_ones_and_exits_1(tiny_checkpoint, tmp_path):
    good, bad = odd_folder(tmp_path / "data")
    target = tmp_path / "eval.json"
    result = cli("evaluate", tiny_checkpoint, "--data", tmp_path / "data", "--size", 32, "--json", target)
    assert result.exit_code == 1, result.output
    data = json.loads(target.read_text())
    assert data["n"] == len(good) and len(data["failed"]) == len(bad)
    assert all(np.isfinite(v) for v in data["overall"]["model"].values())
    assert f"{len(bad)} failed" in result.output and "truncated.jpg" in result.output and "Traceback" not in result.output


def training_folder(root: Path) -> list[str]:
    make_images(root, count=10, size=32)
    _, bad = odd_folder(root / "odd")
    return bad


def test_training_skips_bad_files_and_counts_them(tmp_path):
    bad = training_folder(tmp_path / "photos")
    recipe = write_recipe(tmp_path / "tiny.toml", tmp_path / "photos", tmp_path / "runs", extra="")
    result = cli("run", recipe, "--set", "train.epochs=1", "--set", "data.val_fraction=0.2")
    assert result.exit_code == 0, result.output
    assert result.output.count("skipped") >= len(bad) and "truncated.jpg" in result.output
    (run,) = (tmp_path / "runs").iterdir()
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["bad_files"] == len(bad) and np.isfinite(record["train_loss"])  # in training and validation


def test_training_stops_before_training_on_bad_files_in_stop_mode(tmp_path):
    bad = training_folder(tmp_path / "photos")
    recipe = write_recipe(tmp_path / "tiny.toml", tmp_path / "photos", tmp_path / "runs", extra="")
    result = cli("run", recipe, "--set", 'data.on_bad_file="stop"')
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{len(bad)} bad image files, training not started" in result.output and "on_bad_file" in result.output
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # no run directory left behind

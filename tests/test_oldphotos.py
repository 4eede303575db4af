"""Old photos (issue 7): toned scans reduced to L, 16-bit depth kept, EXIF/ICC/DPI copied, --size,
and the before/after image. Photos are 64-96 px; the checkpoint is an untrained tiny CU-net saved
directly (no training), which is enough: these tests are about files, not colour quality."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageCms
from typer.testing import CliRunner

from colorkit import checkpoint as ckpt
from colorkit.build import build_model
from colorkit.cli import create_app
from colorkit.data.encode import png16
from colorkit.data.lab import rgb_to_lab_np
from colorkit.data.metadata import Metadata
from colorkit.data.tone import classify, to_l
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import create_host

runner = CliRunner()
SPEC = {"name": "cunet", "args": {"width": 8, "depth": 4, "dilations": [1, 2]}, "in_channels": 1, "out_channels": 2}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = build_model(SPEC, create_host(entry_points=False))
    with torch.no_grad():  # an untrained net predicts almost no colour; make its output visible
        model.head.weight.mul_(20)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    ckpt.save_checkpoint(path, modules={"model": model}, meta={"model": SPEC, "decoder": None, "size": 32})
    return path


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    from colorkit.video.synthetic import sample_photos_rgb

    img = Image.fromarray(sample_photos_rgb(("grace_hopper",))["grace_hopper"])
    return np.asarray(img.resize((72, 96), Image.Resampling.LANCZOS))


def sepia(rgb: np.ndarray) -> np.ndarray:
    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return np.clip(to_l(rgb).astype(float) @ m.T, 0, 255).astype(np.uint8)


def cyanotype(rgb: np.ndarray) -> np.ndarray:
    g = to_l(rgb)[..., :1].astype(float) / 255
    return (np.clip(np.concatenate([g * 0.3, g * 0.6, g * 0.9 + 0.1], 2), 0, 1) * 255).astype(np.uint8)


def test_tone_of_scans(portrait):
    assert classify(portrait).kind == "colour"
    assert classify(to_l(portrait)).kind == "rgb-gray"
    assert classify(sepia(portrait)).kind == "sepia"
    assert classify(cyanotype(portrait)).kind == "tinted"
    assert classify(portrait, single_channel=True).kind == "gray"
    buf = io.BytesIO()
    Image.fromarray(sepia(portrait)).save(buf, "JPEG", quality=50)
    assert classify(np.asarray(Image.open(buf).convert("RGB"))).kind == "sepia"  # survives JPEG noise


def test_sample_colour_photos_are_not_mistaken_for_toned_ones():
    from colorkit.video.synthetic import sample_photos_rgb

    for name, rgb in sample_photos_rgb(("astronaut", "grace_hopper", "coffee", "chelsea")).items():
        assert classify(rgb).kind == "colour", name


def test_a_toned_scan_is_coloured_from_its_l_alone(checkpoint, portrait):
    col = Colorizer.load(checkpoint, device="cpu")
    toned, neutral = sepia(portrait), to_l(sepia(portrait))
    a, b = col.colorize(toned), col.colorize(neutral)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 3  # the tone plays no part
    L_in, L_out = rgb_to_lab_np(toned)[..., 0], rgb_to_lab_np(a)[..., 0]
    assert np.abs(L_in - L_out).mean() < 1.0  # the scan's own L is kept


def test_sepia_input_through_the_cli(tmp_path, checkpoint, portrait):
    Image.fromarray(sepia(portrait)).save(tmp_path / "old.jpg", quality=90)
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(tmp_path / "old.jpg"), "-o", str(tmp_path / "new.png")])
    assert res.exit_code == 0, res.output
    out = np.asarray(Image.open(tmp_path / "new.png"))
    assert out.shape == portrait.shape


_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # once: the profile holds its creation time


def _icc() -> bytes:
    return _ICC


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = "Studio Archive"  # Artist
    exif[0x8298] = "public domain"  # Copyright
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp"])
def test_metadata_is_kept(tmp_path, checkpoint, portrait, ext):
    src = tmp_path / "scan.jpg"
    stored = np.ascontiguousarray(np.rot90(portrait, 1))  # stored sideways, EXIF orientation 6 turns it upright
    Image.fromarray(stored).save(src, quality=92, exif=_exif(6).tobytes(), icc_profile=_icc(), dpi=(600, 600))
    dst = tmp_path / f"coloured{ext}"
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(src), "-o", str(dst)])
    assert res.exit_code == 0, res.output
    with Image.open(dst) as out:
        assert out.size == (portrait.shape[1], portrait.shape[0])  # upright
        assert out.info.get("icc_profile") == _icc()
        exif = out.getexif()
        assert exif.get(0x013B) == "Studio Archive" and exif.get(0x8298) == "public domain"
        assert exif.get(0x0112, 1) == 1  # the pixels are upright now: no second rotation
        if ext != ".webp":  # WebP has no DPI field
            assert tuple(round(float(d)) for d in out.info["dpi"]) == (600, 600)


def _gradient16(h: int = 64, w: int = 80) -> np.ndarray:
    return np.tile(np.linspace(1000, 64000, w), (h, 1)).astype(np.uint16)


def test_16bit_gray_scan_keeps_its_depth_in_png(tmp_path, checkpoint):
    cv2 = pytest.importorskip("cv2")
    src = tmp_path / "scan16.png"
    Image.fromarray(_gradient16()).save(src, icc_profile=_icc(), dpi=(1200, 1200), exif=_exif().tobytes())
    assert Image.open(src).mode.startswith("I;16")
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(src), "-o", str(tmp_path / "out.png")])
    assert res.exit_code == 0, res.output
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (64, 80, 3)
    L = rgb_to_lab_np(out[..., ::-1])[..., 0]
    assert len(np.unique(np.round(L[0] * 100))) > 60  # finer steps than 8 bits could hold across 80 px
    with Image.open(tmp_path / "out.png") as back:
        assert back.info.get("icc_profile") == _icc() and round(back.info["dpi"][0]) == 1200
        assert back.getexif().get(0x013B) == "Studio Archive"


def test_16bit_scan_to_tiff_and_to_jpeg(tmp_path, checkpoint):
    tifffile = pytest.importorskip("tifffile")
    src = tmp_path / "scan16.tif"
    Image.fromarray(_gradient16()).save(src, dpi=(300, 300))
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(src), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    with tifffile.TiffFile(tmp_path / "out" / "scan16.tif") as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (64, 80, 3)
        assert page.tags["XResolution"].value[0] / page.tags["XResolution"].value[1] == pytest.approx(300)
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(src), "-o", str(tmp_path / "small.jpg")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "small.jpg").mode == "RGB"  # JPEG holds 8 bits


def test_16bit_png_writer_round_trip():
    cv2 = pytest.importorskip("cv2")
    rgb = np.random.default_rng(0).integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    data = png16(rgb, Metadata(icc_profile=_icc(), dpi=(72.0, 72.0)))
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(back[..., ::-1], rgb)


def test_side_by_side(tmp_path, checkpoint, portrait):
    Image.fromarray(to_l(portrait)).save(tmp_path / "gran.png")
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(tmp_path / "gran.png"), "-o", str(tmp_path / "out"), "--side-by-side"])
    assert res.exit_code == 0, res.output
    pair = np.asarray(Image.open(tmp_path / "out" / "gran_before_after.png"))
    h, w = portrait.shape[:2]
    assert pair.shape == (h, 2 * w + 8, 3)
    assert np.array_equal(pair[:, :w], to_l(portrait))
    assert np.array_equal(pair[:, w + 8 :], np.asarray(Image.open(tmp_path / "out" / "gran.png")))


def test_size_sets_the_network_resolution(tmp_path, checkpoint, portrait):
    assert Colorizer.load(checkpoint, device="cpu", size=64).size == 64
    assert Colorizer.load(checkpoint, device="cpu").size == 32
    Image.fromarray(portrait).save(tmp_path / "p.png")
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(tmp_path / "p.png"), "-o", str(tmp_path / "o.png"), "--size", "66"])
    assert res.exit_code == 2 and "stride 4" in res.output and "try 64 or 68" in res.output
    res = runner.invoke(create_app(), ["colorize", str(checkpoint), str(tmp_path / "p.png"), "-o", str(tmp_path / "o.png"), "--size", "64"])
    assert res.exit_code == 0, res.output

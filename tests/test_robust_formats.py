"""Every file colorize writes reads back (issue 12): each input mode in each format, read back with
Pillow (and tifffile for TIFF) at its size and mode; descriptive metadata kept, layout tags dropped;
a result that does not read back is never kept; animations are said to be cut to their first frame."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorkit.data import metadata
from colorkit.inference import photo_files
from colorkit.inference.colorizer import Colorizer
from colorkit.testing import cli

pytestmark = pytest.mark.usefixtures("one_thread")

W, H = 40, 30
RGB = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16")
STORES = {  # the modes each format can hold (Pillow refuses the others)
    "JPEG": ("1", "L", "RGB", "CMYK"),
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),
    "TIFF": MODES,
    "WEBP": MODES,  # stored as RGB or RGBA
    "BMP": ("1", "L", "P", "RGB", "RGBA"),
}
ARTIST, COPYRIGHT = "Studio Archive", "public domain"


def in_mode(mode: str) -> Image.Image:
    img = Image.fromarray(RGB)
    if mode == "I;16":
        return Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257)
    return img.convert(mode)


ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
GRAY_ICC = ICC[:16] + b"GRAY" + ICC[20:]
"""A profile whose colour space says gray (or CMYK): it would misdescribe an RGB result."""


def profile(mode: str) -> bytes:
    return ICC if mode in ("P", "RGB", "RGBA") else GRAY_ICC


def save_with_metadata(img: Image.Image, path: Path, fmt: str) -> None:
    """``img`` in ``fmt`` with an artist, a copyright, 300 DPI and an ICC profile (RGB, or gray for
    gray and CMYK modes) where the format holds them."""
    exif = Image.Exif()
    exif[0x013B], exif[0x8298] = ARTIST, COPYRIGHT
    icc = profile(img.mode)
    options = {"JPEG": {"exif": exif, "icc_profile": icc, "dpi": (300, 300)},
               "PNG": {"exif": exif, "icc_profile": icc, "dpi": (300, 300)},
               "TIFF": {"tiffinfo": {315: ARTIST, 33432: COPYRIGHT}, "icc_profile": icc, "dpi": (300, 300)},
               "WEBP": {"exif": exif, "icc_profile": icc},
               "BMP": {"dpi": (300, 300)}}[fmt]
    img.save(path, format=fmt, **options)


def reads_back(path: Path, fmt: str) -> Image.Image:
    """``path`` opened with Pillow, decoded, checked for format, size and mode (and with tifffile for TIFF)."""
    with Image.open(path) as img:
        img.load()
        assert (img.format, img.size, img.mode) == (fmt, (W, H), "RGB"), path
    if fmt == "TIFF":
        tifffile = pytest.importorskip("tifffile")
        assert tifffile.imread(path).shape == (H, W, 3), path
    return Image.open(path)


def colorize(*args):
    """``colorkit colorize`` with the torch backend (no ONNX export: these tests are about files)."""
    return cli("colorize", "--backend", "torch", *args)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_mode_in_every_format_reads_back(tmp_path, tiny_checkpoint, fmt):
    ext = FORMATS[fmt]
    (tmp_path / "in").mkdir()
    for mode in STORES[fmt]:
        save_with_metadata(in_mode(mode), tmp_path / "in" / f"{mode.replace(';', '')}{ext}", fmt)
    result = colorize(tiny_checkpoint, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"coloured {len(STORES[fmt])} of {len(STORES[fmt])}" in result.output
    for mode in STORES[fmt]:
        with reads_back(tmp_path / "out" / f"{mode.replace(';', '')}{ext}", fmt) as out:
            exif = out.getexif()
            if fmt != "BMP":  # BMP holds no EXIF and no ICC profile
                assert (exif.get(0x013B), exif.get(0x8298)) == (ARTIST, COPYRIGHT), mode
                assert out.info.get("icc_profile") == (ICC if profile(mode) == ICC else None), mode  # a gray profile is dropped
            if fmt == "TIFF":  # its own layout: RGB, three samples (not the gray, palette or CMYK source's)
                assert (exif.get(262), exif.get(277)) == (2, 3), mode
            else:
                assert not metadata.LAYOUT_TAGS & set(exif), mode
            if fmt in ("TIFF", "PNG", "BMP", "JPEG"):
                assert tuple(round(float(d)) for d in out.info["dpi"]) == (300, 300), mode
    if fmt == "TIFF":  # the 16-bit scan keeps 16 bits, and tifffile agrees
        tifffile = pytest.importorskip("tifffile")
        assert tifffile.imread(tmp_path / "out" / "I16.tif").dtype == np.uint16


@pytest.mark.parametrize("out_fmt", FORMATS)
def test_tiff_metadata_of_every_mode_fits_every_output_format(tmp_path, tiny_checkpoint, out_fmt):
    """The issue's example the other way round: a TIFF's tags go into JPEG, PNG, WebP and BMP too."""
    colorizer = Colorizer.load(tiny_checkpoint, device="cpu")
    for mode in MODES:
        src = tmp_path / f"{mode.replace(';', '')}.tif"
        save_with_metadata(in_mode(mode), src, "TIFF")
        dst = tmp_path / "out" / f"{src.stem}{FORMATS[out_fmt]}"
        dst.parent.mkdir(exist_ok=True)
        ((path, data, size),) = photo_files.outputs(src, RGB, RGB, dst, colorizer)
        assert size == (W, H)
        path.write_bytes(data)
        reads_back(path, out_fmt).close()
        tags = metadata.read_metadata(src).exif_tags()
        assert not metadata.LAYOUT_TAGS & set(tags) and tags.get(0x013B) == ARTIST, mode


def test_a_result_that_does_not_read_back_is_not_kept(tmp_path, tiny_checkpoint, monkeypatch):
    Image.fromarray(RGB).save(tmp_path / "a.png")
    Image.fromarray(RGB).save(tmp_path / "b.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"an earlier result")
    real = photo_files.encode8
    monkeypatch.setattr(photo_files, "encode8", lambda rgb, dst, meta=None: real(rgb, dst, meta)[:200] if "a.png" in str(dst) else real(rgb, dst, meta))
    result = colorize(tiny_checkpoint, tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "out")
    assert result.exit_code == 1 and "coloured 1 of 2" in result.output, result.output
    assert f"could not write {tmp_path / 'out' / 'a.png'}: the written file does not read back" in result.output
    assert (tmp_path / "out" / "a.png").read_bytes() == b"an earlier result"  # the earlier file stays
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]  # no temp file left
    reads_back(tmp_path / "out" / "b.png", "PNG").close()


def test_an_animation_is_said_to_be_cut_to_its_first_frame(tmp_path, tiny_checkpoint):
    frames = [Image.fromarray(np.roll(RGB, 5 * k, axis=1)) for k in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:2], duration=100)
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "still.png")
    result = colorize(tiny_checkpoint, *(tmp_path / n for n in ("anim.gif", "anim.webp", "pages.tif", "still.png")), "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for name, n in (("anim.gif", 3), ("anim.webp", 2), ("pages.tif", 3)):
        assert f"note: {tmp_path / name}: {n} frames; only the first was coloured" in result.output
        with Image.open(tmp_path / "out" / name) as out:
            assert out.size == (W, H) and getattr(out, "n_frames", 1) == 1
    assert "still.png" not in result.output

"""The face_parts preprocessor and the part metrics on real photos (needs mediapipe: skipped without it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mediapipe", reason="colorkit-faces needs mediapipe==0.10.21 (pip install -e plugins/colorkit-faces)")
skimage_data = pytest.importorskip("skimage.data")

from colorkit.plugins import create_host  # noqa: E402
from colorkit.preprocess import Preprocessors, gray_u8  # noqa: E402
from colorkit_faces import PARTS, FaceParts  # noqa: E402
from colorkit_faces.metrics import eyes_ab_error, lips_ab_error  # noqa: E402


def resized(rgb: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC))


@pytest.fixture(scope="module")
def astronaut_parts():
    return FaceParts()(gray_u8(resized(skimage_data.astronaut(), 256)))


def centre(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask > 0.5)
    return float(ys.mean()), float(xs.mean())


def test_registered_through_the_entry_point():
    host = create_host()
    assert host.preprocessors.get("face_parts").plugin == "faces"
    assert {"lips_ab_error", "eyes_ab_error"} <= set(host.metrics.names())


def test_masks_on_the_astronaut_have_the_parts_where_a_face_has_them(astronaut_parts):
    m = dict(zip(PARTS, astronaut_parts))
    assert astronaut_parts.shape == (7, 256, 256) and astronaut_parts.dtype == np.float32
    assert astronaut_parts.min() >= 0 and astronaut_parts.max() <= 1
    for part in PARTS:
        assert (m[part] > 0.5).sum() > 10, part
    # Her face is at about rows 40-110, columns 85-135 of the 256 px image (from the 512 px original).
    y, x = centre(m["skin"])
    assert 40 < y < 110 and 85 < x < 135
    brows, eyes, nose, lips = (centre(m[p])[0] for p in ("brows", "eyes", "nose", "lips"))
    assert brows < eyes < nose < lips < y + 40
    assert centre(m["hair"])[0] < eyes  # hair above the eyes
    assert m["background"][5, 250] > 0.5 and m["background"][80, 110] == 0  # the corner, not the face
    assert (m["skin"] * m["lips"]).sum() < 0.2 * m["lips"].sum()  # skin stops where the lips start


def test_no_face_gives_empty_masks():
    out = FaceParts()(gray_u8(resized(skimage_data.coffee(), 64)))
    assert out.shape == (7, 64, 64) and not out.any()


def test_masks_are_cached_beside_nothing_but_the_cache(tmp_path, monkeypatch):
    photo = tmp_path / "astronaut.png"
    rgb = resized(skimage_data.astronaut(), 64)
    Image.fromarray(rgb).save(photo)
    pre = Preprocessors([{"name": "face_parts"}], create_host())
    first = pre(rgb, photo)
    calls = []
    monkeypatch.setattr(FaceParts, "__call__", lambda self, gray: calls.append(1) or np.zeros((7, *gray.shape), np.float32))
    assert np.array_equal(pre(rgb, photo), first) and not calls  # read from the cache
    assert first.any() and list(tmp_path.iterdir()) == [photo]


def test_options_are_checked_cheaply():
    with pytest.raises(ValueError, match="max_faces"):
        FaceParts(max_faces=0)
    assert "max_faces=2" in FaceParts(max_faces=2).cache_key


def test_part_errors_are_zero_for_the_truth_and_nan_without_a_face():
    true = resized(skimage_data.astronaut(), 128) / 255.0
    from colorkit.data.lab import rgb_to_lab_np

    ab = rgb_to_lab_np(true)[..., 1:]
    assert lips_ab_error(true, true, pred_ab=ab, true_ab=ab) == 0.0
    gray_error = lips_ab_error(true, true, pred_ab=np.zeros_like(ab), true_ab=ab)
    assert gray_error > 10  # lips are far from gray
    assert eyes_ab_error(true, true, pred_ab=np.zeros_like(ab), true_ab=ab) > 0
    coffee = resized(skimage_data.coffee(), 64) / 255.0
    assert math.isnan(lips_ab_error(coffee, coffee))

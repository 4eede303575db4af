"""The hint contract: Hint objects become the network's hint channels, in one place."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from colorkit.data.lab import AB_SCALE
from colorkit.errors import ColorkitError
from colorkit.hints import HINT_CHANNELS, Hint, render_hints
from colorkit.inference.colorizer import Colorizer
from colorkit.testing import make_images, save_tiny_checkpoint


def test_no_hints_render_all_zero():
    assert not render_hints(None, 16).any() and not render_hints([], 16).any()
    assert render_hints([], 16).shape == (len(HINT_CHANNELS), 16, 16)


def test_a_hint_fills_its_patch_with_scaled_ab_and_the_mask():
    out = render_hints([Hint(x=0.5, y=0.25, ab=(22.0, -44.0), radius=1 / 16)], 16)
    mask = out[2] > 0
    assert mask.sum() == 9 and mask[3:6, 7:10].all()  # pixel (8, 4), half-side 1
    assert np.allclose(out[0][mask], 22.0 / AB_SCALE) and np.allclose(out[1][mask], -44.0 / AB_SCALE)
    assert not out[:2][:, ~mask].any()


def test_hints_at_the_edges_stay_inside():
    out = render_hints([Hint(x=1.0, y=1.0, ab=(10.0, 10.0), radius=0.1), Hint(x=0.0, y=0.0, ab=(5.0, 5.0))], 20)
    assert out[2, -1, -1] == 1 and out[2, 0, 0] == 1 and out[2, 17:, 17:].all()


def test_a_later_hint_overwrites_an_earlier_one():
    out = render_hints([Hint(0.5, 0.5, (50.0, 0.0), 0.2), Hint(0.5, 0.5, (-30.0, 0.0))], 10)
    assert out[0, 5, 5] == pytest.approx(-30.0 / AB_SCALE) and out[0, 4, 4] == pytest.approx(50.0 / AB_SCALE)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    return np.asarray(Image.open(make_images(tmp_path_factory.mktemp("p"), 1, size=40)[0]).convert("RGB"))


def test_a_hint_model_gets_its_hint_channels(tmp_path, photo):
    colorizer = Colorizer.load(save_tiny_checkpoint(tmp_path / "h.safetensors", hints={"sampler": "points"}), device="cpu")
    assert colorizer.takes_hints
    hint = Hint(0.5, 0.5, (40.0, 20.0), 0.1)
    x = colorizer.network_inputs([photo, photo], [[hint], None])
    assert x.shape == (2, 4, 32, 32)
    assert np.array_equal(x[0, 1:].numpy(), render_hints([hint], 32)) and not x[1, 1:].any()
    plain, hinted = colorizer.colorize(photo), colorizer.colorize(photo, [hint])
    assert plain.shape == hinted.shape == photo.shape and not np.array_equal(plain, hinted)


def test_a_model_without_hint_channels_refuses_hints(tmp_path, photo):
    colorizer = Colorizer.load(save_tiny_checkpoint(tmp_path / "p.safetensors"), device="cpu")
    assert not colorizer.takes_hints
    assert colorizer.network_inputs([photo], [[]]).shape[1] == 1  # an empty hint list is no hint
    with pytest.raises(ColorkitError, match="no hint channels"):
        colorizer.colorize(photo, [Hint(0.5, 0.5, (1.0, 1.0))])

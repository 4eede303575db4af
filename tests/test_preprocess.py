"""Preprocessors: the contract, the elliptical fallback, the mask cache, part-weighted losses, recipes,
training with extra channels and ``colorkit segment`` (the mediapipe plugin has its own tests in
plugins/colorkit-faces/tests)."""

import os
import types

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from colorkit.build import build_losses
from colorkit.checkpoint import read_checkpoint
from colorkit.cli import create_app
from colorkit.errors import ColorkitError, RecipeError
from colorkit.hookspecs import hookimpl
from colorkit.inference.colorizer import Colorizer
from colorkit.losses import ChromaWeightedLoss, L1Loss, MSELoss
from colorkit.plugins import create_host
from colorkit.preprocess import FaceEllipse, Preprocessor, Preprocessors, gray_u8, part_weight_map
from colorkit.recipe import check_names, load_recipe
from colorkit.testing import make_images, write_recipe


class Counting(Preprocessor):
    """Mean brightness as one channel; counts its calls (test preprocessor)."""

    channels = ("bright",)
    calls = 0

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    @property
    def cache_key(self):
        return f"counting/gain={self.gain}"

    def __call__(self, gray):
        type(self).calls += 1
        return np.full((1, *gray.shape), min(1.0, gray.mean() / 255 * self.gain), np.float32)


class Broken(Preprocessor):
    """Returns the wrong shape (test preprocessor)."""

    channels = ("a", "b")

    def __call__(self, gray):
        return np.zeros((1, *gray.shape), np.float32)


def host_with(**factories):
    plugin = types.SimpleNamespace(colorkit_register_preprocessors=hookimpl(lambda register: [register(n, f) for n, f in factories.items()]))
    return create_host(entry_points=False, extra=[("test", plugin)])


def test_face_ellipse_is_a_soft_face_and_its_complement():
    out = FaceEllipse()(np.zeros((40, 40), np.uint8))
    assert out.shape == (2, 40, 40) and out.dtype == np.float32
    face, bg = out
    assert face[22, 20] == 1.0 and face[0, 0] == 0.0 and np.allclose(face + bg, 1.0)
    assert ((face[22] > 0) & (face[22] < 1)).sum() >= 4  # a soft edge on each side, not a step
    with pytest.raises(ValueError, match="softness"):
        FaceEllipse(softness=0)


def test_gray_is_the_lightness_the_network_sees():
    from skimage.color import rgb2lab

    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    gray = gray_u8(rgb)
    assert gray.dtype == np.uint8 and gray.shape == (16, 16)
    assert np.abs(gray.astype(float) - rgb2lab(rgb)[..., 0] * 2.55).max() <= 0.51
    assert gray_u8(np.full((2, 2, 3), 255, np.uint8)).min() == 255 and gray_u8(np.zeros((2, 2, 3), np.uint8)).max() == 0


def test_cache_reuses_masks_and_notices_changed_files_and_options(tmp_path):
    host = host_with(counting=Counting)
    photo = tmp_path / "a.png"
    rgb = np.full((24, 24, 3), 128, np.uint8)
    Image.fromarray(rgb).save(photo)
    pre = Preprocessors([{"name": "counting"}], host)
    Counting.calls = 0
    first = pre(rgb, photo)
    second = pre(rgb, photo)
    assert Counting.calls == 1 and np.array_equal(first, second)
    assert np.array_equal(pre(rgb), first) and Counting.calls == 2  # no file: computed, same quantised value
    os.utime(photo, ns=(1, 1))
    pre(rgb, photo)
    assert Counting.calls == 3  # a changed file is a new entry
    Preprocessors([{"name": "counting", "args": {"gain": 2.0}}], host)(rgb, photo)
    assert Counting.calls == 4  # so are other options
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # nothing written beside the data
    assert not [p for p in tmp_path.iterdir() if p.name != "a.png"]


def test_bad_output_and_clashing_channels_are_clear_errors():
    host = host_with(broken=Broken, counting=Counting)
    with pytest.raises(ColorkitError, match="preprocessor 'broken' returned shape"):
        Preprocessors([{"name": "broken"}], host)(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ColorkitError, match="'bright' comes from more than one"):
        Preprocessors([{"name": "counting"}, {"name": "counting"}], host)
    with pytest.raises(ColorkitError, match="Did you mean 'counting'"):
        Preprocessors([{"name": "countin"}], host)


def test_missing_face_parts_plugin_says_how_to_install_it(tmp_path):
    host = create_host(entry_points=False)  # built-ins only, as where colorkit-faces is not installed
    with pytest.raises(ColorkitError, match=r"unknown preprocessor 'face_parts'.*pip install -e plugins/colorkit-faces"):
        Preprocessors([{"name": "face_parts"}], host)
    recipe = write_recipe(tmp_path / "r.toml", tmp_path, tmp_path / "runs", extra='[[preprocess]]\nname = "face_parts"\n')
    with pytest.raises(RecipeError, match=r"preprocess\.0\.name.*pip install -e plugins/colorkit-faces"):
        check_names(load_recipe(recipe), host, str(recipe))


def test_part_weight_map_and_weighted_losses_by_hand():
    extra = torch.zeros(1, 2, 1, 2)
    extra[0, 0, 0, 1] = 1.0  # pixel 1 is all "lips"
    w = part_weight_map(extra, ["lips", "eyes"], {"lips": 3.0})
    assert w.flatten().tolist() == [1.0, 3.0]
    pred, target = torch.zeros(1, 2, 1, 2), torch.tensor([[[[0.1, 0.3]], [[0.1, 0.3]]]])
    # squared errors 0.01 and 0.09, weights 1 and 3 -> (0.01 + 0.27) / 4
    assert MSELoss()(pred, target, pixel_weights=w)["mse"].item() == pytest.approx(0.28 / 4)
    assert L1Loss()(pred, target, pixel_weights=w)["l1"].item() == pytest.approx((0.1 + 0.9) / 4)
    ones = torch.ones(1, 1, 1, 2)
    assert MSELoss()(pred, target, pixel_weights=ones)["mse"].item() == pytest.approx(MSELoss()(pred, target)["mse"].item())
    chroma = ChromaWeightedLoss(alpha=0.0)  # chroma weights all 1: the part weights alone
    assert chroma(pred, target, pixel_weights=w)["chroma_weighted"].item() == pytest.approx((0.1 + 0.9) / 4)
    with pytest.raises(ValueError, match="pixel_weights must have shape"):
        MSELoss()(pred, target, pixel_weights=torch.ones(1, 1, 2, 2))


def recipe_file(tmp_path, body):
    p = tmp_path / "r.toml"
    p.write_text('name = "x"\n[train]\nepochs = 1\n' + body)
    return p


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[preprocess]]\nname = "face_elipse"\n', "key 'preprocess.0.name': unknown preprocessor 'face_elipse'; valid: face_ellipse"),
        ('[[preprocess]]\nname = "face_ellipse"\nargs = { rx = 2 }\n', "key 'preprocess.0.args': face_ellipse: options 'rx'"),
        ('[[preprocess]]\nname = "face_ellipse"\nargs = { radius = 2 }\n', "key 'preprocess.0.args.radius': unknown option"),
        ('[[loss]]\nname = "mse"\npart_weights = { lips = 3 }\n', "key 'loss.0.part_weights.lips': no preprocessor makes a channel 'lips'; no [[preprocess]]"),
        (
            '[[preprocess]]\nname = "face_ellipse"\n[[loss]]\nname = "mse"\npart_weights = { lips = 3 }\n',
            "key 'loss.0.part_weights.lips': no preprocessor makes a channel 'lips'; the preprocessors make: face, background",
        ),
        ('[[preprocess]]\nname = "face_ellipse"\n[[loss]]\nname = "colorfulness"\npart_weights = { face = 3 }\n', "key 'loss.0.part_weights': loss 'colorfulness' cannot use per-pixel weights"),
        ('[[loss]]\nname = "mse"\npart_weights = { face = -1 }\n', "part_weights.face must be >= 0"),
    ],
)
def test_recipe_errors_name_the_key(tmp_path, body, message):
    host = create_host(entry_points=False)
    with pytest.raises(RecipeError) as exc:
        check_names(load_recipe(recipe_file(tmp_path, body)), host, "r.toml")
    assert message in str(exc.value)


@pytest.mark.slow
def test_training_with_parts_feeds_the_model_and_colorizer_rebuilds_them(tmp_path):
    photos = tmp_path / "photos"
    make_images(photos, count=8)
    extra = '[[preprocess]]\nname = "face_ellipse"\n'
    recipe = write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra=extra)
    text = recipe.read_text().replace('[[loss]]\nname = "mse"\n', '[[loss]]\nname = "mse"\npart_weights = { face = 3 }\n')
    recipe.write_text(text.replace("epochs = 2", "epochs = 1"))
    result = CliRunner().invoke(create_app(), ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    _, meta = read_checkpoint(run / "checkpoints" / "best.safetensors")
    assert meta["model"]["in_channels"] == 3 and meta["preprocess"] == [{"name": "face_ellipse", "args": {}}]
    colorizer = Colorizer.load(run, device="cpu")
    rgb = np.asarray(Image.open(next(photos.iterdir())).convert("RGB"))
    x = colorizer.network_inputs([rgb, rgb])
    assert x.shape == (2, 3, 32, 32)
    assert torch.allclose(x[0, 1:], torch.from_numpy(FaceEllipse()(np.zeros((32, 32), np.uint8))))
    assert colorizer.colorize(rgb).shape == rgb.shape


def test_losses_without_part_weights_ignore_the_channels(tmp_path):
    recipe = load_recipe(recipe_file(tmp_path, '[[preprocess]]\nname = "face_ellipse"\n[[loss]]\nname = "mse"\n'))
    losses = build_losses(recipe, create_host(entry_points=False), ["face", "background"])
    pred, target = torch.zeros(2, 2, 4, 4), torch.rand(2, 2, 4, 4)
    total, _ = losses(pred, target, extra=torch.rand(2, 2, 4, 4))
    assert total.item() == pytest.approx(target.square().mean().item())


def test_segment_writes_overlays_and_reports_bad_files(tmp_path):
    photos = tmp_path / "in"
    make_images(photos, count=2)
    (photos / "broken.jpg").write_bytes(b"not an image")
    result = CliRunner().invoke(create_app(), ["segment", str(photos), "-o", str(tmp_path / "out"), "--preprocessor", "face_ellipse", "--size", "32"])
    assert result.exit_code == 1 and "broken.jpg" in result.output and "segmented 2 of 3" in result.output, result.output
    written = sorted((tmp_path / "out").rglob("*.parts.png"))
    assert len(written) == 2
    img = np.asarray(Image.open(written[0]))
    assert img.shape == (32, 32, 3) and not np.array_equal(img[..., 0], img[..., 2])  # tinted, not gray
    bad = CliRunner().invoke(create_app(), ["segment", str(photos), "-o", str(tmp_path / "o2"), "-p", "nope"])
    assert bad.exit_code == 2 and "unknown preprocessor 'nope'" in bad.output

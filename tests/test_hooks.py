"""Every hook in hookspecs.py, exercised through a fake plugin: what it registers lands in its registry,
named after the plugin, with the factory's first docstring line (models, losses, loggers have fuller
tests in test_plugins.py, test_contract.py and test_loggers.py)."""

import types

import numpy as np
import pytest

from colorkit.hookspecs import hookimpl
from colorkit.plugins import create_host
from colorkit.preprocess import Preprocessors


def mean_red(pred_rgb, true_rgb):
    """Mean red channel of the prediction (test metric)."""
    return float(np.mean(pred_rgb[..., 0]))


class Brightness:
    """The gray image itself as one extra channel (test preprocessor)."""

    channels = ("brightness",)
    cache_key = None

    def __call__(self, gray):
        return (gray / 255.0)[None].astype(np.float32)


def test_colorkit_register_metrics_adds_a_metric_evaluate_can_call():
    plugin = types.SimpleNamespace(colorkit_register_metrics=hookimpl(lambda register: register("mean_red", mean_red)))
    host = create_host(entry_points=False, extra=[("mine", plugin)])
    entry = host.metrics.get("mean_red")
    assert entry.plugin == "mine" and entry.doc == "Mean red channel of the prediction (test metric)."
    assert {"psnr", "ssim"} <= set(host.metrics.names())  # the built-ins are still there
    pred = np.zeros((4, 4, 3))
    pred[..., 0] = 0.25
    assert entry.factory(pred, np.ones((4, 4, 3))) == pytest.approx(0.25)


def test_colorkit_register_preprocessors_fills_the_preprocessor_registry():
    plugin = types.SimpleNamespace(colorkit_register_preprocessors=hookimpl(lambda register: register("brightness", Brightness)))
    host = create_host(entry_points=False, extra=[("mine", plugin)])
    assert host.preprocessors.names() == ["brightness", "face_ellipse"]  # face_ellipse is built in
    entry = host.preprocessors.get("brightness")
    assert entry.plugin == "mine" and {p.name: p.registered for p in host.plugins}["mine"] == {"preprocessors": ["brightness"]}
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert np.array_equal(host.preprocessors.build("brightness")(gray)[0], gray / np.float32(255.0))
    rgb = np.repeat(np.full((8, 8), 200, np.uint8)[..., None], 3, 2)
    assert Preprocessors([{"name": "brightness"}], host)(rgb).shape == (1, 8, 8)  # colorkit runs it on the gray


def test_colorkit_register_loggers_and_the_builtin_loggers():
    plugin = types.SimpleNamespace(colorkit_register_loggers=hookimpl(lambda register: register("null", object)))
    host = create_host(entry_points=False, extra=[("mine", plugin)])
    assert host.loggers.names() == ["mlflow", "null", "tensorboard"]
    assert host.loggers.get("tensorboard").plugin == host.loggers.get("mlflow").plugin == "colorkit.loggers"
    assert host.loggers.get("null").plugin == "mine"

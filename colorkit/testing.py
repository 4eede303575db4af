"""Pytest fixtures for colorkit and for plugin authors (loaded automatically through ``pytest11``).

- ``colorkit_host``: a fresh plugin host with the built-ins and installed entry-point plugins.
- ``builtin_host``: a fresh host with the built-ins only.
- ``tiny_image_folder``: a folder of small generated colour photos (nested, mixed formats).
- ``tiny_recipe``: a function writing a recipe that trains a tiny net on that folder in seconds.
- ``tiny_checkpoint``: an untrained tiny CU-net checkpoint (one per test module), for ``colorize``
  and ``evaluate``.
- ``installed_plugins``: a function making colorkit see given plugin packages as the installed ones.

``TINY_ARGS`` names the tiny variant of each built-in model that those recipes train, and
``tiny_spec`` gives it as a checkpoint's model description, so tests share one copy of them.
``cli`` runs a ``colorkit`` command in the test's process, ``plugin_problems`` reads what
``colorkit plugins`` says of each plugin, and ``fake_plugin`` stands in for a plugin module.
"""

from __future__ import annotations

import copy
import json
import os
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from colorkit.cli import create_app
from colorkit.hookspecs import hookimpl
from colorkit.plugins import create_host, get_host

TINY_ARGS: dict[str, dict] = {
    "cunet": {"width": 8, "depth": 3, "dilations": [1, 2]},
    "unet": {"width": 8, "depth": 2},
}
"""The ``[model] args`` of a tiny variant of a built-in model (a 32 px epoch of a few photos in seconds)."""


def tiny_spec(model: str = "cunet", in_channels: int = 1, out_channels: int = 2) -> dict:
    """The tiny ``model`` as a checkpoint describes it (``meta["model"]``), a fresh copy each call."""
    return {"name": model, "args": copy.deepcopy(TINY_ARGS[model]), "in_channels": in_channels, "out_channels": out_channels}


def cli(*args) -> Result:
    """``colorkit ARGS`` run in this process; arguments may be paths, numbers or bytes (a file name
    that is not UTF-8)."""
    return CliRunner().invoke(create_app(), [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args])


def plugin_problems() -> dict[str, str]:
    """What ``colorkit plugins --json`` reports wrong with each plugin, by name ("" for one that works)."""
    result = cli("plugins", "--json")
    assert result.exit_code == 0, result.output
    return {p["name"]: " ".join(p["errors"]) for p in json.loads(result.output)["plugins"]}


def save_tiny_checkpoint(path: Path, model: str = "cunet", hints: dict | None = None) -> Path:
    """Save an untrained tiny ``model`` (the same weights every time) as a checkpoint at ``path``;
    with ``hints`` (a ``[hints]`` table) it is a hint model, with its hint input channels."""
    import torch  # heavy: imported when a checkpoint is made, not when pytest loads this plugin

    from colorkit.build import build_model
    from colorkit.checkpoint import save_checkpoint

    from colorkit.hints import hint_channels

    spec = tiny_spec(model, in_channels=1 + len(hint_channels(hints)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_model(spec, get_host())
    meta = {"model": spec, "decoder": None, "size": 32, "recipe": "tiny"}
    save_checkpoint(path, modules={"model": net}, meta=meta if hints is None else dict(meta, hints=hints))
    return path


def fake_plugin(**hooks) -> types.SimpleNamespace:
    """A plugin module's stand-in: each keyword is a hook and its implementation
    (``fake_plugin(colorkit_register_losses=lambda register: register("mine", MyLoss))``)."""
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


class FakeEntryPoint:
    """An installed plugin package's entry point: loading it gives ``target``, or raises it if it is an exception."""

    def __init__(self, name: str, target, version: str = "1.0"):
        self.name, self.value, self.target = name, f"{name}_pkg:plugin", target
        self.dist = types.SimpleNamespace(version=version)

    def load(self):
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


def make_images(folder: Path, count: int = 12, size: int = 48, seed: int = 0) -> list[Path]:
    """Write ``count`` colourful generated photos (soft blobs on gradients) under ``folder``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    paths = []
    for i in range(count):
        base = rng.uniform(0.2, 0.8, 3)
        img = base + 0.3 * np.stack([xx - 0.5, yy - 0.5, (xx - yy) / 2], -1)
        for _ in range(3):
            cx, cy, r = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.1, 0.25)
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2) < r * r
            img[mask] = rng.uniform(0, 1, 3)
        sub = folder / ("nested" if i % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"img_{i:03d}.{'jpg' if i % 2 else 'png'}"
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def write_recipe(path: Path, data: Path, out: Path, *, model: str = "cunet", loss: str = "mse", extra: str = "") -> Path:
    """A recipe training a tiny ``model`` (its :data:`TINY_ARGS`, else its defaults) on ``data`` at 32 px for two short epochs."""
    args = ", ".join(f"{key} = {json.dumps(value)}" for key, value in TINY_ARGS.get(model, {}).items())
    path.write_text(
        f"""# colorkit run {path.name}
name = "tiny"
seed = 1

[data]
source = "{data}"
size = 32

[model]
name = "{model}"
args = {{ {args} }}

[[loss]]
name = "{loss}"

[train]
batch_size = 4
epochs = 2

[output]
dir = "{out}"
samples = 2
{extra}"""
    )
    return path


@pytest.fixture
def colorkit_host():
    return create_host()


@pytest.fixture
def builtin_host():
    return create_host(entry_points=False)


@pytest.fixture
def tiny_image_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    make_images(folder)
    return folder


@pytest.fixture
def tiny_recipe(tmp_path, tiny_image_folder):
    def make(**kwargs) -> Path:
        return write_recipe(tmp_path / "tiny.toml", tiny_image_folder, tmp_path / "runs", **kwargs)

    return make


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture
def installed_plugins(monkeypatch):
    """``installed_plugins({name: target}, version="1.0")``: colorkit sees these, and only these, as the
    installed plugin packages; a target is a plugin module (:func:`fake_plugin`) or the exception its
    import raises. The global host is built afresh after each call and after the test."""

    def install(plugins: dict, version: str = "1.0") -> None:
        entry_points = [FakeEntryPoint(name, target, version) for name, target in plugins.items()]
        monkeypatch.setattr("colorkit.plugins._entry_points", lambda: entry_points)
        get_host.cache_clear()

    yield install
    get_host.cache_clear()

"""ONNX export (network + decoder in one graph) and the onnxruntime backend of colorize."""

import builtins
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

from colorkit.build import build_model  # noqa: E402
from colorkit.checkpoint import save_checkpoint  # noqa: E402
from colorkit.cli import create_app  # noqa: E402
from colorkit.errors import ColorkitError  # noqa: E402
from colorkit.inference import backends  # noqa: E402
from colorkit.inference.colorizer import Colorizer  # noqa: E402
from colorkit.plugins import get_host  # noqa: E402
from colorkit.testing import tiny_spec  # noqa: E402

TINY = tiny_spec("cunet")
TINY_CE = dict(TINY, out_channels=313)
CE = {"name": "rebalanced_ce", "args": {"temperature": 0.38}}


def cli(*args):
    return CliRunner().invoke(create_app(), [str(a) for a in args])


def tiny_checkpoint(path: Path, spec: dict, decoder: dict | None) -> Path:
    torch.manual_seed(0)
    model = build_model(spec, get_host())
    with torch.no_grad():  # BatchNorm statistics that are not the identity, so the export must carry them
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    save_checkpoint(path, modules={"model": model}, meta={"model": spec, "decoder": decoder, "size": 32, "recipe": "tiny"})
    return path


@pytest.fixture(scope="module")
def ce_checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ce") / "ce.safetensors", TINY_CE, CE)


@pytest.fixture(scope="module")
def exported(ce_checkpoint, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    result = cli("export", ce_checkpoint, "--format", "onnx", "-o", path)
    assert result.exit_code == 0, result.output
    return path, result.output


def test_export_decodes_logits_in_the_graph_with_dynamic_batch_and_metadata(ce_checkpoint, exported):
    path, output = exported
    assert "max abs diff" in output
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["size"] == "32" and '"cunet"' in props["model"] and props["colorkit_version"]
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 2  # ab, not 313 logits
    reference = Colorizer.load(ce_checkpoint, device="cpu")
    session = backends.OnnxBackend(path)
    for batch in (1, 3):
        x = torch.rand(batch, 1, 32, 32) * 2 - 1
        got, want = session(x), reference.backend(x)
        assert got.shape == (batch, 2, 32, 32)
        assert float((got - want).abs().max()) < 1e-4


def test_colorize_with_onnxruntime_matches_torch(ce_checkpoint, exported, tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "in").mkdir()
    for i, (h, w) in enumerate([(40, 50), (33, 21), (64, 64)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / "in" / f"p{i}.png")
    runs = {
        "torch": ("colorize", ce_checkpoint, tmp_path / "in", "-o", tmp_path / "torch"),
        "onnx_file": ("colorize", exported[0], tmp_path / "in", "-o", tmp_path / "onnx_file", "--backend", "onnxruntime"),
        "cached": ("colorize", ce_checkpoint, tmp_path / "in", "-o", tmp_path / "cached", "--backend", "onnxruntime"),
    }
    for name, args in runs.items():
        result = cli(*args)
        assert result.exit_code == 0, (name, result.output)
    for i in range(3):
        want = np.asarray(Image.open(tmp_path / "torch" / f"p{i}.png")).astype(int)
        for name in ("onnx_file", "cached"):
            got = np.asarray(Image.open(tmp_path / name / f"p{i}.png")).astype(int)
            assert got.shape == want.shape and np.abs(got - want).max() <= 2, name


def test_onnx_model_refuses_another_size(exported):
    with pytest.raises(ColorkitError, match="exported at 32"):
        Colorizer.load(exported[0], size=64)


def test_auto_picks_onnxruntime_on_cpu_when_installed(monkeypatch):
    assert backends.choose("auto", torch.device("cpu")) == "onnxruntime"
    monkeypatch.setattr(backends, "onnxruntime_available", lambda: False)
    assert backends.choose("auto", torch.device("cpu")) == "torch"
    with pytest.raises(ColorkitError, match="expected one of"):
        backends.choose("tensorrt", torch.device("cpu"))


def test_missing_extra_names_the_install_command(ce_checkpoint, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.split(".")[0] in ("onnx", "onnxruntime"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    for module in [m for m in list(__import__("sys").modules) if m.split(".")[0] in ("onnx", "onnxruntime")]:
        monkeypatch.delitem(__import__("sys").modules, module)
    result = cli("export", ce_checkpoint, "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2 and 'pip install "colorkit[onnx]"' in result.output, result.output
    result = cli("colorize", ce_checkpoint, tmp_path, "-o", tmp_path / "out", "--backend", "onnxruntime")
    assert result.exit_code == 2 and 'pip install "colorkit[onnx]"' in result.output, result.output
    assert not (tmp_path / "m.onnx").exists()

"""Weights are what was saved: a digest of the tensors travels in every checkpoint and is checked by
every loader (colorize, evaluate, export, resume); NaN or infinite weights and metadata of the wrong
type are refused with one line; a checkpoint from before digests loads with a note, once."""

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from colorkit.checkpoint import read_checkpoint, weights_digest
from colorkit.testing import cli, make_images, write_recipe

pytestmark = pytest.mark.usefixtures("one_thread")


def refused(result, *phrases: str) -> str:
    """The command failed with exit 2 and printed exactly one line (no note, no traceback)."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A real tiny run (one epoch), so every loader, --resume included, can be tried."""
    root = tmp_path_factory.mktemp("weights")
    make_images(root / "photos", count=9, size=32)
    recipe = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    recipe.write_text(recipe.read_text().replace("epochs = 2", "epochs = 1"))
    result = cli("run", recipe)
    assert result.exit_code == 0, result.output
    (run,) = (root / "runs").iterdir()
    return run


@pytest.fixture
def copy(run, tmp_path) -> Path:
    """A copy of the run to damage, beside a link to its photos."""
    target = tmp_path / "runs" / run.name
    shutil.copytree(run, target)
    (tmp_path / "photos").symlink_to(photos(run))
    return target


def photos(run: Path) -> Path:
    return run.parent.parent / "photos"


def tensor_span(path: Path, name: str) -> tuple[int, int]:
    """Where tensor ``name``'s bytes lie in a safetensors file (absolute offsets)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    start, stop = json.loads(data[8 : 8 + n])[name]["data_offsets"]
    return 8 + n + start, 8 + n + stop


def flip(path: Path, offset: int, mask: int = 0x01) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def every_loader(run: Path, checkpoint: Path, tmp_path: Path) -> dict[str, list]:
    """The commands that load ``checkpoint`` (a best or last file of ``run``)."""
    photo = next(photos(run).rglob("*.png"))
    return {
        "colorize": ["colorize", checkpoint, photo, "-o", tmp_path / "out.png"],
        "evaluate": ["evaluate", checkpoint, "--data", photos(run), "--json", tmp_path / "eval.json", "--size", "32"],
        "export": ["export", checkpoint, "-o", tmp_path / "model.onnx", "--size", "32"],
    }


def test_a_checkpoint_carries_the_digest_of_its_tensors(run):
    for name in ("best", "last"):
        tensors, meta = read_checkpoint(run / "checkpoints" / f"{name}.safetensors")
        assert meta["digest"] == weights_digest(tensors) and meta["digest"].startswith("sha256:")
    changed = dict(tensors)
    key = next(k for k in sorted(tensors) if tensors[k].is_floating_point())
    changed[key] = tensors[key].clone()
    changed[key].view(-1)[0] += 1e-6  # the digest sees any change of a value ...
    assert weights_digest(changed) != meta["digest"]
    assert weights_digest({"a": torch.zeros(2, 3)}) != weights_digest({"a": torch.zeros(3, 2)})  # ... of shape
    assert weights_digest({"a": torch.zeros(2)}) != weights_digest({"a": torch.zeros(2, dtype=torch.int32)})  # of dtype (same bytes)
    assert weights_digest({"a": torch.zeros(2)}) != weights_digest({"b": torch.zeros(2)})  # or name


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_flipped_bit_in_the_tensor_data_is_refused_by_every_loader(copy, tmp_path, where):
    best = copy / "checkpoints" / "best.safetensors"
    tensors, _ = read_checkpoint(best)
    name = sorted(k for k in tensors if k.startswith("model."))[len(tensors) // 4]
    start, stop = tensor_span(best, name)
    flip(best, {"first": start, "middle": (start + stop) // 2, "last": stop - 1}[where])
    for command, args in every_loader(copy, best, tmp_path).items():
        refused(cli(*args), str(best), "do not match the digest saved with them")
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "model.onnx").exists() and not (tmp_path / "eval.json").exists()


def test_a_flipped_bit_in_the_training_state_is_refused_by_resume(copy):
    last = copy / "checkpoints" / "last.safetensors"
    tensors, _ = read_checkpoint(last)
    name = next(k for k in sorted(tensors) if k.startswith("optim."))
    start, stop = tensor_span(last, name)
    flip(last, (start + stop) // 2, 0x80)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    refused(cli("run", "--resume", copy, "--set", "train.epochs=2"), str(last), "do not match the digest")
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_a_changed_digest_in_the_header_is_refused(copy, tmp_path):
    best = copy / "checkpoints" / "best.safetensors"
    data = best.read_bytes()
    i = data.index(b"sha256:") + len(b"sha256:")
    best.write_bytes(data[:i] + (b"0" if data[i : i + 1] != b"0" else b"1") + data[i + 1 :])
    refused(cli(*every_loader(copy, best, tmp_path)["colorize"]), "do not match the digest")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("digest", ["matching", "none"])
def test_non_finite_weights_are_refused_naming_the_file_and_the_tensor(copy, tmp_path, value, digest):
    best = copy / "checkpoints" / "best.safetensors"
    tensors, meta = read_checkpoint(best)
    names = sorted(k for k in tensors if k.startswith("model.") and tensors[k].is_floating_point())
    bad = names[len(names) // 2]
    tensors[bad] = tensors[bad].clone()
    tensors[bad].view(-1)[-1] = value
    meta.pop("digest")
    if digest == "matching":
        meta["digest"] = weights_digest(tensors)
    save_file(tensors, best, metadata={"colorkit": json.dumps(meta)})
    for command, args in every_loader(copy, best, tmp_path).items():
        refused(cli(*args), str(best), f"tensor '{bad}' holds NaN or infinite values")
    assert not (tmp_path / "out.png").exists()


def test_an_older_checkpoint_without_a_digest_loads_with_one_note(copy, tmp_path):
    best = copy / "checkpoints" / "best.safetensors"
    tensors, meta = read_checkpoint(best)
    meta.pop("digest")
    save_file(tensors, best, metadata={"colorkit": json.dumps(meta)})
    two = sorted(photos(copy).rglob("*.png"))[:2]
    result = cli("colorize", best, *two, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:") and "weight digest" in line]
    assert notes == [f"note: {best} has no weight digest (written by an older colorkit); it cannot be checked"]
    assert len(list((tmp_path / "out").iterdir())) == 2
    again = cli("export", best, "-o", tmp_path / "model.onnx", "--size", "32")  # reads it twice: no new note
    assert again.exit_code == 0, again.output
    assert "weight digest" not in again.output


BAD_META = {
    "size": "big",
    "size ": -32,
    "size  ": True,
    "model": ["cunet"],
    "model ": {"name": 3, "args": {}},
    "model  ": {"name": "cunet", "args": [], "in_channels": 1, "out_channels": 2},
    "model   ": {"name": "cunet", "args": {}, "in_channels": "1", "out_channels": 2},
    "decoder": "mse",
    "preprocess": {"name": "face_ellipse"},
    "format": "1",
    "digest": 5,
    "state": [],
    "state ": {"epoch": "one"},
    "optimizers": [1],
    "recipe": {"name": "tiny"},
}
"""Wrong types for every key of the metadata (trailing spaces only keep the dictionary's keys apart)."""


@pytest.mark.parametrize("key", BAD_META)
def test_metadata_of_the_wrong_type_is_one_line(copy, tmp_path, key):
    best = copy / "checkpoints" / "best.safetensors"
    tensors, meta = read_checkpoint(best)
    meta[key.strip()] = BAD_META[key]
    save_file(tensors, best, metadata={"colorkit": json.dumps(meta)})
    refused(cli(*every_loader(copy, best, tmp_path)["colorize"]), str(best), f"corrupt colorkit metadata: '{key.strip()}' should be")


def test_a_resume_with_metadata_of_the_wrong_type_is_one_line(copy):
    last = copy / "checkpoints" / "last.safetensors"
    tensors, meta = read_checkpoint(last)
    meta["optimizers"] = {"model": {"param_groups": "none", "scalars": []}}
    save_file(tensors, last, metadata={"colorkit": json.dumps(meta)})
    refused(cli("run", "--resume", copy, "--set", "train.epochs=2"), str(last), "optimiser or RNG state does not fit this run")

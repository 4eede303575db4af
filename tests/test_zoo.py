"""Pretrained models: cards, weights sources (offline), the registration hook and `colorkit models`."""

import hashlib
import json
import types

import pytest
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.errors import ColorkitError, WeightsUnavailableError
from colorkit.hookspecs import hookimpl
from colorkit.plugins import create_host
from colorkit.zoo import ModelCard, read_card
from colorkit.zoo.sources import fetch, parse_source

WEIGHTS = b"not really a checkpoint, but bytes with a digest"
DIGEST = hashlib.sha256(WEIGHTS).hexdigest()
REVISION = "0123456789abcdef0123456789abcdef01234567"


def card_dict(source: str, sha256: str = DIGEST, name: str = "tiny-faces") -> dict:
    return {
        "name": name,
        "summary": "a tiny test model",
        "architecture": "cunet",
        "parameters": 1234,
        "network_size": 32,
        "recipe": "recipes/cunet_mse.toml",
        "licence": "non-commercial research only",
        "data": [{"name": "UTKFace", "splits": "train", "images": 10, "licence": "non-commercial research only"}],
        "training": {"hardware": "2 CPU cores", "wall_time": "1 s", "images_seen": 10, "command": "colorkit run x.toml"},
        "metrics": {"utkface_test": {"model": {"psnr": 27.5, "colorfulness": 40.1}, "gray": {"psnr": 19.61, "colorfulness": 0.0}}},
        "measured_with": ["colorkit evaluate tiny-faces --data D --split S"],
        "weights": {"source": source, "sha256": sha256, "bytes": len(WEIGHTS)},
    }


@pytest.fixture
def weights_file(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(WEIGHTS)
    return path


@pytest.mark.parametrize(
    "text,kind,location,revision",
    [
        ("package:colorkit.zoo/weights/a.safetensors", "package", "colorkit.zoo/weights/a.safetensors", None),
        ("hf://me/repo/sub/w.safetensors@v1.0", "hf", "me/repo/sub/w.safetensors", "v1.0"),
        ("file:///tmp/w.safetensors", "file", "/tmp/w.safetensors", None),
    ],
)
def test_sources_parse(text, kind, location, revision):
    s = parse_source(text)
    assert (s.kind, s.location, s.revision) == (kind, location, revision)


@pytest.mark.parametrize("text", ["hf://me/repo/w.safetensors", "hf://me/w@main", "file://relative/x", "https://x/y", "package:mod"])
def test_bad_sources_say_what_is_expected(text):
    with pytest.raises(ValueError, match=r"source .*expected"):
        parse_source(text)


def test_a_file_source_is_checked_against_the_card(weights_file):
    assert fetch("m", weights_file.as_uri(), DIGEST) == weights_file
    with pytest.raises(WeightsUnavailableError, match=r"model 'm': .* has sha256 .*the card says"):
        fetch("m", weights_file.as_uri(), "0" * 64)
    assert weights_file.exists()  # a local file is never deleted


def _hf_cache(tmp_path, monkeypatch, content: bytes):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--me--faces" / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    (snapshot / "w.safetensors").write_bytes(content)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return snapshot / "w.safetensors"


def test_a_hub_file_in_the_local_cache_works_offline(tmp_path, monkeypatch):
    cached = _hf_cache(tmp_path, monkeypatch, WEIGHTS)
    assert fetch("m", f"hf://me/faces/w.safetensors@{REVISION}", DIGEST) == cached


def test_a_corrupt_cached_download_is_deleted_and_reported(tmp_path, monkeypatch):
    cached = _hf_cache(tmp_path, monkeypatch, WEIGHTS + b"!")
    with pytest.raises(WeightsUnavailableError, match=r"the file was deleted; try again with `colorkit models fetch m`"):
        fetch("m", f"hf://me/faces/w.safetensors@{REVISION}", DIGEST)
    assert not cached.exists()


def test_offline_without_the_file_is_one_line_naming_model_source_and_fix(tmp_path, monkeypatch):
    _hf_cache(tmp_path, monkeypatch, WEIGHTS)
    with pytest.raises(WeightsUnavailableError) as info:
        fetch("m", f"hf://me/other/w.safetensors@{REVISION}", DIGEST)
    message = str(info.value)
    assert "\n" not in message and "model 'm'" in message and "hf://me/other/w.safetensors" in message
    assert "HF_HUB_OFFLINE is set" in message and "colorkit models fetch m" in message


def test_a_card_file_with_a_bad_key_names_it(tmp_path):
    bad = card_dict("file:///x")
    bad["weights"]["sha256"] = "abc"
    path = tmp_path / "card.toml"
    import tomli_w

    path.write_text(tomli_w.dumps(bad))
    with pytest.raises(ColorkitError, match=r"card.toml: model card key 'weights.sha256'"):
        read_card(path)


def _plugin(card: ModelCard):
    return types.SimpleNamespace(colorkit_register_pretrained=hookimpl(lambda register: register(card.name, card)))


@pytest.fixture
def zoo_host(weights_file, monkeypatch):
    card = ModelCard.model_validate(card_dict(weights_file.as_uri()))
    host = create_host(entry_points=False, extra=[("zoo-plugin", _plugin(card))])
    monkeypatch.setattr("colorkit.cli.models.get_host", lambda: host)
    return host


def test_a_plugin_registers_a_pretrained_model(zoo_host, weights_file):
    entry = zoo_host.registries["pretrained"].get("tiny-faces")
    assert entry.plugin == "zoo-plugin" and entry.factory() == weights_file


def test_models_lists_and_shows_cards(zoo_host, monkeypatch):
    from colorkit.cli import common

    monkeypatch.setattr(common.out, "width", 250)  # the tables fold at the terminal's width
    runner = CliRunner()
    listed = runner.invoke(create_app(), ["models"])
    assert listed.exit_code == 0 and "tiny-faces" in listed.output and "27.50 dB / 40.1" in listed.output
    shown = runner.invoke(create_app(), ["models", "tiny-faces"])
    assert shown.exit_code == 0 and "non-commercial research only" in shown.output and DIGEST in shown.output
    data = json.loads(runner.invoke(create_app(), ["models", "tiny-faces", "--json"]).output)
    assert data["metrics"]["utkface_test"]["gray"]["psnr"] == 19.61 and data["location"] == "local file"


def test_an_unknown_model_lists_the_registered_ones_with_a_suggestion(zoo_host):
    result = CliRunner().invoke(create_app(), ["models", "tiny-face"])
    assert result.exit_code == 2 and "tiny-faces" in result.output.split("valid:")[1] and "Did you mean 'tiny-faces'?" in result.output


def test_models_fetch_checks_the_weights(zoo_host, weights_file):
    result = CliRunner().invoke(create_app(), ["models", "fetch", "tiny-faces"])
    assert result.exit_code == 0 and "ok tiny-faces" in result.output
    weights_file.write_bytes(b"tampered")
    result = CliRunner().invoke(create_app(), ["models", "fetch", "tiny-faces"])
    assert result.exit_code == 2 and "the card says" in result.output


def test_a_card_whose_architecture_is_missing_names_the_plugin(weights_file):
    from colorkit.inference.colorizer import find_checkpoint
    from colorkit.errors import CheckpointError

    card = ModelCard.model_validate(dict(card_dict(weights_file.as_uri()), architecture="fancynet", plugin="colorkit-fancy"))
    host = create_host(entry_points=False, extra=[("zoo-plugin", _plugin(card))])
    with pytest.raises(CheckpointError, match=r"'fancynet' network, which needs the plugin colorkit-fancy \(pip install colorkit-fancy\)"):
        find_checkpoint("tiny-faces", host)

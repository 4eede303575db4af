"""Measuring what hints buy: hints from the truth at fixed places, ``evaluate --hints`` (table and JSON),
and the compare report's PSNR-vs-hints plot (tiny untrained models: plumbing, not quality)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from colorkit.data.lab import rgb_to_lab_np
from colorkit.errors import ColorkitError
from colorkit.hints.truth import PATCH, truth_hints, truth_places
from colorkit.inference.colorizer import Colorizer
from colorkit.inference.evaluate import GRAY, evaluate, hints_row
from colorkit.plugins import get_host
from colorkit.testing import cli, make_images, save_tiny_checkpoint


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("hints_eval")
    photos = make_images(root / "data", 4, size=40)
    hint = save_tiny_checkpoint(root / "hint.safetensors", hints={"sampler": "points"})
    plain = save_tiny_checkpoint(root / "plain.safetensors")
    return root, sorted(photos), hint, plain


def metrics():
    host = get_host()
    return {name: host.metrics.get(name).factory for name in host.metrics.names()}


def test_places_are_fixed_by_the_name_and_nested():
    ten = truth_places("nested/img_001.jpg", 10)
    assert ten.shape == (10, 2) and ((ten >= 0) & (ten < 1)).all()
    assert np.array_equal(truth_places("nested/img_001.jpg", 5), ten[:5])  # the 5 places are the first 5 of the 10
    assert np.array_equal(truth_places("nested/img_001.jpg", 10), ten)  # every run
    assert not np.allclose(truth_places("img_002.jpg", 10), ten)


def test_a_truth_hint_is_the_mean_true_ab_over_its_patch_at_its_place():
    rng = np.random.default_rng(1)
    ab = rng.uniform(-60, 60, (256, 256, 2))
    for h, (x, y) in zip(truth_hints(ab, "a.png", 6), truth_places("a.png", 6)):
        col, row, r = int(x * 256), int(y * 256), round(PATCH * 256)
        assert (h.x, h.y, h.radius, h.frame) == (x, y, 0.0, None)
        assert h.ab == pytest.approx(ab[max(row - r, 0) : row + r + 1, max(col - r, 0) : col + r + 1].reshape(-1, 2).mean(0))
    small = truth_hints(np.zeros((64, 32, 2)) + [5.0, -7.0], "a.png", 6)  # the places do not depend on the size
    assert [(h.x, h.y) for h in small] == [(h.x, h.y) for h in truth_hints(ab, "a.png", 6)] and small[0].ab == (5.0, -7.0)


def test_evaluate_measures_each_count_with_the_same_hints_for_every_model(setup, monkeypatch):
    root, photos, hint_model, _ = setup
    seen: dict[int, list] = {}
    colorizers = [Colorizer.load(hint_model, device="cpu"), Colorizer.load(hint_model, device="cpu", size=64)]
    results = []
    for colorizer in colorizers:
        real = colorizer.predict_many

        def spy(rgbs, hints=None, real=real, seen=seen.setdefault(id(colorizer), [])):
            seen.append(hints)
            return real(rgbs, hints)

        monkeypatch.setattr(colorizer, "predict_many", spy)
        results.append(evaluate(colorizer, photos, size=32, metrics=metrics(), hint_counts=[5, 0, 2], batch_size=8))
    a, b = (seen[id(c)] for c in colorizers)
    assert a == b and [None if h is None else len(h[0]) for h in a] == [None, 2, 5]  # the same hints at 32 and 64 px
    truth_ab = rgb_to_lab_np(np.asarray(Image.open(photos[0]).convert("RGB").resize((32, 32), Image.Resampling.BICUBIC)) / 255.0)[..., 1:]
    assert a[2][0] == truth_hints(truth_ab, photos[0].name, 5)
    result = results[0]
    assert result.hint_counts == [0, 2, 5]
    assert list(result.overall) == ["model", "model + 2 hints", "model + 5 hints", "truth", GRAY]
    plain = evaluate(colorizers[0], photos, size=32, metrics=metrics())
    assert result.overall["model"] == plain.overall["model"] and result.overall[GRAY] == plain.overall[GRAY]
    assert result.overall["model + 5 hints"] != result.overall["model"]  # the hints reach the network
    assert result.by_hints() == {n: result.overall[hints_row(n)] for n in (0, 2, 5)}
    assert "hint_counts" not in plain.to_json() and result.to_json()["hint_counts"] == [0, 2, 5]


def test_a_model_without_hint_channels_is_measured_with_zero_hints_only(setup):
    _, photos, _, plain_model = setup
    colorizer = Colorizer.load(plain_model, device="cpu")
    assert "model" in evaluate(colorizer, photos, size=32, metrics=metrics(), hint_counts=[0]).overall
    with pytest.raises(ColorkitError, match="no hint channels"):
        evaluate(colorizer, photos, size=32, metrics=metrics(), hint_counts=[0, 1])


def test_evaluate_hints_on_the_command_line(setup):
    root, _, hint_model, plain_model = setup
    data = root / "data"
    result = cli("evaluate", hint_model, "--data", data, "--size", "32", "--hints", "0,1,10", "--json", "-")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["hint_counts"] == [0, 1, 10] and {"model", "model + 1 hint", "model + 10 hints", GRAY} <= set(record["overall"])
    assert set(record["overall"]["model + 10 hints"]) == set(record["overall"]["model"])  # every metric per count
    table = cli("evaluate", hint_model, "--data", data, "--size", "32", "--hints", "2", "--json", root / "r.json")
    assert table.exit_code == 0 and "model + 2 hints" in table.output and "gray (ab = 0)" in table.output, table.output
    refused = cli("evaluate", plain_model, "--data", data, "--size", "32", "--hints", "0,5", "--json", root / "p.json")
    assert refused.exit_code == 2 and "has no hint channels" in refused.output and len(refused.output.strip().splitlines()) == 1
    assert not (root / "p.json").exists()
    for bad, why in (("0,x", "expected whole numbers"), ("-1", "between 0 and 256")):
        out = cli("evaluate", hint_model, "--data", data, "--hints", bad)
        assert out.exit_code == 2 and why in out.output, out.output


def test_the_report_plots_psnr_against_hints_only_when_a_variant_is_a_hint_model(tmp_path):
    from tests.test_report import fake_results

    from colorkit.report.compare import HINTS_PLOT, write_report
    from colorkit.report.results import CompareResults

    plain = fake_results(tmp_path)
    paths = write_report(tmp_path / "plain", plain)
    assert "hints" not in paths and not (tmp_path / "plain" / HINTS_PLOT).exists()
    assert "hints" not in paths["html"].read_text() and "## Hints" not in paths["markdown"].read_text()
    assert all("hints" not in v for v in json.loads(paths["json"].read_text())["variants"])

    hinted = fake_results(tmp_path)
    hinted.variants[1].hints = {n: {"psnr": 24.0 + 0.5 * n, "ssim": 0.9} for n in (0, 1, 2, 5, 10, 20)}
    paths = write_report(tmp_path / "hinted", hinted)
    with Image.open(paths["hints"]) as im:
        assert paths["hints"] == tmp_path / "hinted" / HINTS_PLOT and im.format == "PNG" and im.width > 300
    assert f'src="{HINTS_PLOT}"' in paths["html"].read_text()
    md = paths["markdown"].read_text()
    assert "## Hints" in md and "| `chroma_weighted` | 24.00 | 24.50 | 25.00 | 26.50 | 29.00 | 34.00 |" in md, md
    back = CompareResults.from_json(json.loads(paths["json"].read_text()))
    assert back.variants[1].hints == hinted.variants[1].hints and back.variants[0].hints == {}


def test_compare_measures_a_hint_variant_with_hints(tmp_path):
    make_images(tmp_path / "photos", count=8)
    from colorkit.testing import write_recipe

    write_recipe(tmp_path / "base.toml", tmp_path / "photos", tmp_path / "runs")
    (tmp_path / "cmp.toml").write_text(
        f'name = "cmp"\nbase = "base.toml"\n[output]\ndir = "{tmp_path / "compare"}"\n[evaluate]\nsize = 32\ngrid = 1\n'
        '[[variant]]\nname = "plain"\n[[variant]]\nname = "hinted"\n[variant.hints]\nsampler = "points"\n'
    )
    result = cli("compare", tmp_path / "cmp.toml", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    hints = {v["name"]: v.get("hints") for v in data["variants"]}
    assert hints["plain"] is None and sorted(map(int, hints["hinted"])) == [0, 1, 2, 5, 10, 20]
    assert hints["hinted"]["0"] == next(v["metrics"] for v in data["variants"] if v["name"] == "hinted")
    (directory,) = (tmp_path / "compare").iterdir()
    assert (directory / "hints.png").is_file()

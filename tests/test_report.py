"""The ``colorkit compare`` report: table, CSV, JSON, Markdown, PNGs and HTML from a small fake comparison."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from colorkit.errors import ColorkitError
from colorkit.hookspecs import hookimpl
from colorkit.metric_info import MetricInfo, describe, metric
from colorkit.metrics import BUILTIN_METRICS
from colorkit.plugins import create_host
from colorkit.report import compare, plots
from colorkit.report.compare import BASELINE_LABEL, FILES, grid_png, results_table, write_report
from colorkit.report.results import CompareResults, VariantResult

GROUPS = ("race=black", "race=white")
NAMES = ("mse", "chroma_weighted", "a<b")


def _curve(scale: float, val: bool = True) -> list[dict]:
    out = []
    for e in range(1, 5):
        rec = {"epoch": e, "images": 32 * e, "train_loss": scale / e, "terms": {"total": scale / e}}
        if val and e % 2 == 0:
            rec.update(val_ab_mse=200.0 / e, val_psnr=20.0 + e)
        out.append(rec)
    return out


def fake_results(tmp_path: Path, *, reference: str | None = "mse", size: int = 16, rows: int = 2) -> CompareResults:
    rng = np.random.default_rng(0)
    variants = []
    for i, name in enumerate(NAMES):
        metrics = {"psnr": 24.0 + i, "ssim": 0.91 + 0.01 * i, "ab_mse": 130.0 - 10 * i, "colorfulness": 20.0 + 8 * i, "colorfulness_gap": 20.0 + 8 * i - 36.0}
        groups = {g: {"psnr": metrics["psnr"] + (0.5 if g == GROUPS[0] else -0.5), "colorfulness": metrics["colorfulness"] + j} for j, g in enumerate(GROUPS)}
        variants.append(
            VariantResult(
                name=name,
                description=["1*mse", "1*l1 + 0.5*colorfulness", "1*l1 | 2*<huber>"][i],
                run_dir=tmp_path / "runs" / f"{name}-20250101",
                metrics=metrics,
                groups=groups,
                curve=_curve([0.02, 3.0, -1.0][i], val=i != 2),
                train_seconds=12.5 + i,
                images_seen=128,
            )
        )
    titles = ["gray", *NAMES, "truth"]
    grid = {t: [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(rows)] for t in titles}
    return CompareResults(
        name="cmp",
        command="colorkit compare recipes/tiny.toml --variants mse,chroma_weighted",
        variants=variants,
        baseline={"psnr": 22.0, "ssim": 0.9, "ab_mse": 260.0, "colorfulness": 3.0, "colorfulness_gap": -33.0},
        baseline_groups={g: {"psnr": 22.0, "colorfulness": 3.0} for g in GROUPS},
        group_counts={GROUPS[0]: 3, GROUPS[1]: 5},
        truth_colorfulness=36.0,
        truth_group_colorfulness={GROUPS[0]: 35.0, GROUPS[1]: 37.0},
        n_images=8,
        grid_names=[f"photo{r}.jpg" for r in range(rows)],
        grid=grid,
        reference=reference,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[CompareResults, dict[str, Path], Path]:
    tmp = tmp_path_factory.mktemp("report")
    results = fake_results(tmp)
    out = tmp / "compare-out"
    return results, write_report(out, results), out


def test_every_file_is_written(report):
    _, paths, out = report
    assert set(paths) == set(FILES)
    for key, name in FILES.items():
        assert paths[key] == out / name
        assert paths[key].is_file() and paths[key].stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temp files left behind"
    for key in ("loss_curves", "metrics", "grid"):
        with Image.open(paths[key]) as im:
            assert im.format == "PNG" and im.width > 100 and im.height > 100


def test_csv_rows_columns_and_numbers(report):
    results, paths, _ = report
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    assert [r["name"] for r in rows] == [BASELINE_LABEL, *NAMES]
    assert [r["kind"] for r in rows] == ["baseline", "variant", "variant", "variant"]
    for col in ("psnr", "ssim", "ab_mse", "colorfulness", "colorfulness_pct", "colorfulness_gap", "delta_psnr", "train_seconds", "images_seen", "run_dir"):
        assert col in rows[0], col
    base, mse, chroma, odd = rows
    assert float(base["psnr"]) == 22.0 and base["train_seconds"] == "" and base["run_dir"] == ""
    assert float(chroma["psnr"]) == 25.0 and float(chroma["ab_mse"]) == 120.0
    assert float(chroma["colorfulness_pct"]) == pytest.approx(100 * 28 / 36)
    assert float(mse["delta_psnr"]) == 0.0 and float(odd["delta_psnr"]) == pytest.approx(2.0) and float(base["delta_psnr"]) == pytest.approx(-2.0)
    assert int(odd["images_seen"]) == 128 and float(odd["train_seconds"]) == 14.5
    assert odd["description"] == "1*l1 | 2*<huber>" and Path(odd["run_dir"]) == results.variants[2].run_dir


def test_json_round_trips(report):
    results, paths, _ = report
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data == results.to_json()
    assert data["variants"][1]["groups"][GROUPS[1]]["psnr"] == 24.5
    assert data["variants"][0]["run_dir"] == str(results.variants[0].run_dir)
    assert data["grid_columns"] == ["gray", *NAMES, "truth"] and "grid" not in data
    back = CompareResults.from_json(data)
    assert dict(back.to_json(), grid_columns=data["grid_columns"]) == data  # all but the images come back
    assert back.variants[2].run_dir == results.variants[2].run_dir and back.grid == {}
    assert list(back.group_counts) == list(results.group_counts)  # order kept


def test_to_json_is_strict_json():
    v = VariantResult("x", "1*mse", Path("r"), {"psnr": float("nan"), "ssim": np.float32(0.5)}, {}, [{"epoch": np.int64(1), "train_loss": float("inf")}], 1.0, 2)
    d = v.to_json()
    json.dumps(d, allow_nan=False)
    assert d["metrics"] == {"psnr": None, "ssim": 0.5} and d["curve"] == [{"epoch": 1, "train_loss": None}]
    assert math.isnan(VariantResult.from_json(d).metrics["psnr"])


def test_markdown_names_variants_and_command(report):
    results, paths, _ = report
    md = paths["markdown"].read_text(encoding="utf-8")
    for v in results.variants:
        assert f"`{v.name}`" in md
    assert results.command in md and "8 held-out photos" in md
    assert "`1*l1 \\| 2*<huber>`" in md  # pipes escaped inside a code span: the table keeps its columns
    assert "## Per group" in md and GROUPS[0] in md and "**26.00**" in md  # best overall PSNR bold
    header = next(line for line in md.splitlines() if line.startswith("| variant"))
    table = [line for line in md.splitlines() if line.startswith("| ") and line.count(" | ") == header.count(" | ")]
    assert len(table) >= 2 + 1 + len(NAMES) + 1  # header, rule, baseline, variants, truth


def test_html_links_pngs_and_escapes(report):
    results, paths, out = report
    page = paths["html"].read_text(encoding="utf-8")
    for key in ("grid", "metrics", "loss_curves"):
        assert f'src="{FILES[key]}"' in page
    assert "a&lt;b" in page and "a<b" not in page
    assert "&lt;huber&gt;" in page
    assert "<script" not in page and "<style>" in page
    assert "colorkit compare recipes/tiny.toml" in page
    assert 'href="../runs/mse-20250101/"' in page  # relative to the report folder
    assert "<strong>26.00</strong>" in page


def test_grid_size_matches_rows_and_columns(report):
    results, paths, _ = report
    with Image.open(paths["grid"]) as im:
        width, height = im.size
    cell = 16 * math.ceil(compare.GRID_MIN_H / 16)  # small photos are scaled up by a whole number
    ncols, nrows = len(results.grid), len(results.grid_names)
    assert width == compare.GRID_PAD + ncols * (cell + compare.GRID_PAD)
    assert height == compare.GRID_TITLE_H + nrows * (compare.GRID_LABEL_H + cell + compare.GRID_PAD)


def test_grid_rows_may_differ_in_size(tmp_path):
    results = fake_results(tmp_path, size=300, rows=1)
    results.grid_names.append("small.jpg")
    for t in results.grid:
        results.grid[t].append(np.zeros((150, 100, 3), np.uint8))
    with Image.open(io.BytesIO(grid_png(results))) as im:
        # row 1: 300 -> 256 (scaled down); row 2: 150 x 100 as is; columns as wide as their widest image
        assert im.size == (compare.GRID_PAD + 5 * (256 + compare.GRID_PAD), compare.GRID_TITLE_H + compare.GRID_LABEL_H * 2 + 256 + 150 + 2 * compare.GRID_PAD)
    results.grid["truth"].pop()
    with pytest.raises(ValueError, match="truth"):
        grid_png(results)


def _render(results) -> Console:
    console = Console(record=True, width=220, force_terminal=True, color_system="truecolor", file=io.StringIO())
    console.print(results_table(results))
    return console


def test_rich_table_names_variants_and_bolds_best_psnr(report):
    results, _, _ = report
    console = _render(results)
    text = console.export_text(styles=False, clear=False)
    for name in (*NAMES, BASELINE_LABEL, "truth", "ΔPSNR"):
        assert name in text
    assert any(" ".join(str(c.header).split()) == "ΔPSNR vs mse ↑" for c in results_table(results).columns)
    assert "26.00" in text and "ref" in text
    styled = console.export_text(styles=True)
    # the best PSNR (26.00, variant "a<b") is bold, the others are not
    table = results_table(results)
    psnr = next(c for c in table.columns if c.header.startswith("PSNR"))
    cells = list(psnr.cells)
    assert [c.plain for c in cells] == ["22.00", "24.00", "25.00", "26.00", "inf"]
    assert [("bold" in str(c.style)) for c in cells] == [False, False, False, True, False]
    line = next(line for line in styled.splitlines() if "a<b" in line)
    assert re.search(r"\x1b\[1m *26\.00", line) and not re.search(r"\x1b\[1m *25\.00", styled)  # bold reaches the terminal


def test_best_is_judged_per_direction(tmp_path):
    table = results_table(fake_results(tmp_path))
    by_header = {" ".join(str(c.header).split()): [(c2.plain, "bold" in str(c2.style)) for c2 in c.cells] for c in table.columns}
    assert [b for _, b in by_header["ab-MSE ↓"]] == [False, False, False, True, False]  # lowest
    # colourfulness 20, 28, 36 of truth 36: 100% is best; |gap| likewise
    assert [b for _, b in by_header["% of truth"]] == [False, False, False, True, False]
    assert [b for _, b in by_header["gap"]] == [False, False, False, True, False]
    assert [b for _, b in by_header["train time"]] == [False] * 5  # not judged


def test_no_reference_no_delta_column_and_unknown_reference_is_an_error(tmp_path):
    table = results_table(fake_results(tmp_path, reference=None))
    assert not any("ΔPSNR" in str(c.header) for c in table.columns)
    with pytest.raises(ColorkitError, match="nope"):
        results_table(fake_results(tmp_path, reference="nope"))


def test_sparse_results_still_render(tmp_path):
    """One variant, no curves, no groups, no grid, an extra metric: nothing crashes, nothing is bold."""
    r = fake_results(tmp_path, reference=None)
    r.variants = r.variants[:1]
    r.variants[0].curve = []
    r.variants[0].metrics["lpips"] = 0.2
    r.variants[0].groups = {}
    r.baseline_groups, r.group_counts, r.truth_group_colorfulness = {}, {}, {}
    r.grid, r.grid_names = {}, []
    paths = write_report(tmp_path / "out", r)
    assert all(p.is_file() for p in paths.values())
    assert "## Per group" not in paths["markdown"].read_text(encoding="utf-8")
    assert "LPIPS" in paths["csv"].read_text(encoding="utf-8").upper()
    text = _render(r).export_text(styles=False)
    assert "mse" in text and "LPIPS" in text


@metric(better="low", unit="LAB ab units", fmt=".2f", label="lips ab error", plot=True, perfect=0.0)
def lips_error(pred_rgb, true_rgb):
    """Fake face-part metric that describes itself (test plugin)."""
    return 0.0


def plain_score(pred_rgb, true_rgb):
    """A metric registered as a plain function, as older plugins do (test plugin)."""
    return 0.0


def _register_fakes(register):
    register("lips_ab_error", lips_error)
    register("plain_score", plain_score)


def _with_plugin_metrics(tmp_path) -> CompareResults:
    """fake_results plus two plugin metrics, described the way ``colorkit compare`` describes them."""
    host = create_host(entry_points=False, extra=[("fakes", types.SimpleNamespace(colorkit_register_metrics=hookimpl(_register_fakes)))])
    r = fake_results(tmp_path)
    r.metric_info = {n: describe(n, host.metrics.get(n).factory) for n in host.metrics.names()}
    r.baseline.update(lips_ab_error=30.0, plain_score=0.5)
    for i, v in enumerate(r.variants):
        v.metrics.update(lips_ab_error=[12.0, 8.25, 9.0][i], plain_score=[0.1, 0.9, 0.3][i])
    return r


def _cells(results, header: str) -> list[tuple[str, bool]]:
    col = next(c for c in results_table(results).columns if " ".join(str(c.header).split()) == header)
    return [(c.plain, "bold" in str(c.style)) for c in col.cells]


def _panel_titles(results, monkeypatch) -> list[str]:
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"")
    compare.metrics_png(results)
    return [ax.get_title() for ax in figures[0].axes if ax.get_visible()]


def test_a_plugin_metric_with_info_is_judged_formatted_and_plotted(tmp_path, monkeypatch):
    r = _with_plugin_metrics(tmp_path)
    # its own header, direction arrow, format and perfect score; the lowest variant is bold
    assert _cells(r, "lips ab error ↓") == [("30.00", False), ("12.00", False), ("8.25", True), ("9.00", False), ("0.00", False)]
    titles = _panel_titles(r, monkeypatch)
    assert "lips ab error (LAB ab units), lower is better" in titles and len(titles) == 5
    md = write_report(tmp_path / "out", r)["markdown"].read_text(encoding="utf-8")
    assert "| **8.25** |" in md and "lips ab error ↓" in md
    # the built-ins keep their columns and judgement beside it
    assert [b for _, b in _cells(r, "ab-MSE ↓")] == [False, False, False, True, False]


def test_a_plain_function_metric_is_shown_but_never_judged_or_plotted(tmp_path, monkeypatch):
    r = _with_plugin_metrics(tmp_path)
    assert r.metric_info["plain_score"] == MetricInfo(label="plain_score", header="plain_score", plot_fmt=".4f")
    assert _cells(r, "plain_score") == [("0.5000", False), ("0.1000", False), ("0.9000", False), ("0.3000", False), ("—", False)]
    assert not any("plain_score" in t for t in _panel_titles(r, monkeypatch))
    rows = list(csv.DictReader(io.StringIO(compare.results_csv(r))))
    assert [float(row["plain_score"]) for row in rows] == [0.5, 0.1, 0.9, 0.3]


def test_without_descriptions_the_builtins_describe_themselves(tmp_path):
    """Results read back from JSON carry no metric descriptions: the built-ins are still judged the same."""
    bare = fake_results(tmp_path)
    described = fake_results(tmp_path)
    described.metric_info = {n: describe(n, fn) for n, fn in BUILTIN_METRICS.items()}
    assert bare.metric_info == {} and described.metric_info["psnr"].better == "high"
    for render in (compare.results_markdown, compare.results_html, compare.results_csv):
        assert render(described) == render(bare)
    assert "**26.00**" in compare.results_markdown(bare)


def test_bad_metric_info_is_one_clear_error():
    with pytest.raises(ColorkitError, match=r"better='up' is not one of high, low, abs_low, near100"):
        metric(better="up")
    with pytest.raises(ColorkitError, match=r"fmt='%d'"):
        metric(fmt="%d")

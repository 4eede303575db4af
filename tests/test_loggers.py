"""Experiment tracking: TensorBoard event files read back with TensorBoard's own reader, MLflow
behind its optional extra, third-party loggers through ``colorkit_register_loggers``."""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from colorkit.cli import create_app
from colorkit.errors import ColorkitError, RecipeError
from colorkit.hookspecs import hookimpl
from colorkit.loggers import Logger, Loggers, open_loggers
from colorkit.plugins import create_host
from colorkit.recipe import load_recipe, validate_file
from colorkit.testing import make_images, write_recipe
from colorkit.training.trainer import start_run

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer  # noqa: E402

runner = CliRunner()


def cli(*args):
    return runner.invoke(create_app(), [str(a) for a in args])


def events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    make_images(folder, count=10)
    return folder


def test_a_run_logs_terms_lr_throughput_validation_and_sample_grids(tmp_path, photos):
    recipe = write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra="[log]\nevery_steps = 1\n")
    result = cli("--quiet", "run", recipe, "--set", "train.epochs=1", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    run = Path(summary["run_dir"])
    assert result.stderr == "" and summary["tensorboard"] == str(run / "tensorboard") and summary["epochs"] == 1
    acc = events(run / "tensorboard")
    scalars = set(acc.Tags()["scalars"])
    assert {"train/total", "train/mse", "train/lr", "train/images_per_s"} <= scalars
    assert {"val/total", "val/mse", "val/psnr", "val/ab_mse", "epoch/lr", "epoch/train_mse"} <= scalars
    steps = summary["steps"]
    assert [e.step for e in acc.Scalars("train/mse")] == list(range(1, steps + 1))  # every_steps = 1
    assert acc.Scalars("train/lr")[0].value == pytest.approx(1e-3)
    assert all(e.value > 0 for e in acc.Scalars("train/images_per_s"))
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    (psnr,) = acc.Scalars("val/psnr")
    assert psnr.step == steps and psnr.value == pytest.approx(record["val_psnr"], rel=1e-5)
    (image,) = acc.Images("samples")
    assert image.step == steps and image.width > 3 * 32 and image.height > 32  # gray | predicted | truth
    from io import BytesIO

    from PIL import Image

    logged = np.asarray(Image.open(BytesIO(image.encoded_image_string)).convert("RGB"))
    assert np.array_equal(logged, np.asarray(Image.open(run / "samples" / "epoch-0001.png").convert("RGB")))

    # --resume appends to the same event files, continuing the step axis
    again = cli("-q", "run", "--resume", run, "--set", "train.epochs=2")
    assert again.exit_code == 0, again.output
    acc = events(run / "tensorboard")
    psnr = acc.Scalars("val/psnr")
    assert [e.step for e in psnr] == [steps, 2 * steps] and len(acc.Images("samples")) == 2


def test_tensorboard_can_be_switched_off(tmp_path, photos):
    recipe = write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra="[log]\ntensorboard = false\n")
    result = cli("-q", "run", recipe, "--set", "train.max_steps=1")
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert not (run / "tensorboard").exists() and "tensorboard --logdir" not in result.stdout


class MemoryLogger(Logger):
    """Keeps everything in memory (test logger)."""

    opened: list = []

    def __init__(self, run_dir, recipe=None, start_step=0, tag: str = "x"):
        super().__init__(run_dir, recipe, start_step)
        self.tag, self.metrics, self.images, self.closed = tag, [], [], False
        MemoryLogger.opened.append(self)

    def log_metrics(self, step, values):
        self.metrics.append((step, dict(values)))

    def log_image(self, step, name, image):
        self.images.append((step, name, image.shape, image.dtype))

    def close(self):
        self.closed = True


class BrokenLogger(Logger):
    """Fails on first use (test logger)."""

    def log_metrics(self, step, values):
        raise OSError("tracking server unreachable")


def test_a_plugin_logger_gets_everything_and_a_broken_one_cannot_stop_training(tmp_path, photos):
    plugin = types.SimpleNamespace(colorkit_register_loggers=hookimpl(lambda register: (register("memory", MemoryLogger), register("broken", BrokenLogger))))
    host = create_host(entry_points=False, extra=[("trackers", plugin)])
    assert {p.name: p.registered for p in host.plugins}["trackers"] == {"loggers": ["memory", "broken"]}
    extra = '[log]\ntensorboard = false\nloggers = ["broken", "memory"]\nevery_steps = 2\n[log.args.memory]\ntag = "t"\n'
    recipe = load_recipe(write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra=extra), ["train.epochs=1"])
    console = Console(stderr=True, record=True, width=200)
    MemoryLogger.opened.clear()
    result = start_run(recipe, host=host, console=console).run()
    (memory,) = MemoryLogger.opened
    assert memory.tag == "t" and memory.closed and memory.start_step == 0
    steps = [s for s, v in memory.metrics if "train/total" in v]
    assert steps == list(range(2, result.steps + 1, 2))
    (last_step, epoch), = [(s, v) for s, v in memory.metrics if "val/psnr" in v]
    assert last_step == result.steps and np.isfinite(epoch["val/psnr"]) and "epoch/images_per_s" in epoch
    assert memory.images == [(result.steps, "samples", memory.images[0][2], np.uint8)] and memory.images[0][2][-1] == 3
    text = console.export_text()
    assert text.count("logger 'broken' failed and is switched off") == 1 and "tracking server unreachable" in text


def test_logger_names_and_options_are_checked_like_the_rest_of_a_recipe(tmp_path, photos, builtin_host):
    def check(extra):
        return validate_file(write_recipe(tmp_path / "r.toml", photos, tmp_path / "runs", extra=extra), builtin_host)

    with pytest.raises(RecipeError, match=r"key 'log.loggers.0': unknown logger 'mlfow'; valid: mlflow, tensorboard. Did you mean 'mlflow'"):
        check('[log]\nloggers = ["mlfow"]\n')
    with pytest.raises(RecipeError, match=r"key 'log.args.mlflow': logger 'mlflow' is not used"):
        check("[log.args.mlflow]\nexperiment = 'x'\n")
    with pytest.raises(RecipeError, match=r"key 'log.args.tensorboard.flush': unknown option; valid: flush_secs"):
        check("[log.args.tensorboard]\nflush = 3\n")
    with pytest.raises(RecipeError, match=r"key 'log.every_steps'"):
        check("[log]\nevery_steps = 0\n")
    assert check("[log.args.tensorboard]\nflush_secs = 5\n").log.args == {"tensorboard": {"flush_secs": 5}}


def test_mlflow_without_the_extra_is_one_line_everywhere(tmp_path, photos, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    recipe = write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra='[log]\nloggers = ["mlflow"]\n')
    for args in (("validate", recipe), ("run", recipe)):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        assert "pip install 'colorkit[mlflow]'" in result.stderr and "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()  # refused before a run directory was made
    with pytest.raises(ColorkitError, match=r"colorkit\[mlflow\]"):
        open_loggers(load_recipe(recipe), tmp_path, create_host(entry_points=False))


class FakeClient:
    """Stands in for ``mlflow.tracking.MlflowClient`` and records every call."""

    calls: list = []

    def __init__(self, tracking_uri=None):
        self.calls.append(("client", tracking_uri))

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if name == "get_experiment_by_name":
                return None
            if name == "create_experiment":
                return "exp-1"
            if name == "create_run":
                return types.SimpleNamespace(info=types.SimpleNamespace(run_id="run-1"))

        return call


def test_mlflow_logger_records_params_metrics_images_and_resumes_the_same_run(tmp_path, photos, monkeypatch):
    tracking = types.ModuleType("mlflow.tracking")
    tracking.MlflowClient = FakeClient
    mlflow = types.ModuleType("mlflow")
    mlflow.tracking = tracking
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", tracking)
    FakeClient.calls = []
    extra = '[log]\ntensorboard = false\nloggers = ["mlflow"]\n[log.args.mlflow]\ntracking_uri = "file:///tmp/x"\n'
    recipe = validate_file(write_recipe(tmp_path / "tiny.toml", photos, tmp_path / "runs", extra=extra), create_host(entry_points=False))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with open_loggers(recipe, run_dir, create_host(entry_points=False)) as loggers:
        loggers.log_metrics(3, {"val/psnr": 20.5})
        loggers.log_image(3, "samples", np.zeros((4, 6, 3), np.uint8))
    names = [c[0] for c in FakeClient.calls]
    assert FakeClient.calls[0] == ("client", "file:///tmp/x")
    assert names[1:4] == ["get_experiment_by_name", "create_experiment", "create_run"] and names[-1] == "set_terminated"
    params = {c[1][1]: c[1][2] for c in FakeClient.calls if c[0] == "log_param"}
    assert params["model.name"] == "cunet" and params["loss.0.name"] == "mse" and params["seed"] == "1"
    assert ("log_metric", ("run-1", "val/psnr", 20.5), {"timestamp": pytest.approx(0, abs=1e13), "step": 3}) in FakeClient.calls
    (image,) = [c for c in FakeClient.calls if c[0] == "log_image"]
    assert image[1][2] == "samples/step-0000003.png" and image[1][1].shape == (4, 6, 3)
    assert json.loads((run_dir / "mlflow.json").read_text())["run_id"] == "run-1"
    FakeClient.calls = []
    open_loggers(recipe, run_dir, create_host(entry_points=False), start_step=3).close()  # a resume
    assert [c[0] for c in FakeClient.calls] == ["client", "update_run", "set_terminated"]


def test_loggers_fan_out_accepts_pngs_tensors_and_arrays(tmp_path):
    import torch
    from PIL import Image

    Image.fromarray(np.full((5, 7, 3), 9, np.uint8)).save(tmp_path / "g.png")
    memory = MemoryLogger(tmp_path)
    loggers = Loggers([("m", memory)], images=True)
    loggers.log_image(1, "a", tmp_path / "g.png")
    loggers.log_image(2, "b", torch.zeros(3, 5, 7))
    loggers.log_image(3, "c", np.zeros((5, 7, 3), np.uint8))
    loggers.log_metrics(4, {"ok": 1, "skip": "text", "flag": True})
    assert [i[:3] for i in memory.images] == [(1, "a", (5, 7, 3)), (2, "b", (5, 7, 3)), (3, "c", (5, 7, 3))]
    assert memory.metrics == [(4, {"ok": 1.0})]
    Loggers([("m", memory)], images=False).log_image(5, "d", tmp_path / "g.png")
    assert len(memory.images) == 3


def test_compare_puts_every_variant_side_by_side_for_one_tensorboard(tmp_path, photos, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --vary writes to ./compare
    base = write_recipe(tmp_path / "base.toml", photos, tmp_path / "runs")
    result = cli("compare", base, "--vary", "loss=mse,l1", "--set", "train.max_steps=2", "--eval-limit", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    directory = Path(data["report"]).parent
    assert data["tensorboard"] == f"tensorboard --logdir {directory / 'runs'}" and data["tensorboard"] in result.stderr
    assert json.loads((directory / "compare.json").read_text())["tensorboard"] == data["tensorboard"]
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(directory / "runs"))
    multiplexer.Reload()
    runs = multiplexer.Runs()
    assert sorted(name.split("-")[0] for name in runs) == ["l1", "mse"]
    assert all("val/psnr" in tags["scalars"] and "samples" in tags["images"] for tags in runs.values())

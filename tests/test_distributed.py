"""Training under torchrun: two gloo processes on this CPU must train exactly what one process trains.

The tiny CU-net uses instance norm, so a rank's half batch gives the same activations as the whole
batch in one process; what differs is only the order of float32 sums (the gradient all-reduce, the
weighted loss), about 1e-7 relative per step. After a dozen Adam steps the losses agree to ~1e-8;
the tolerance (1e-5 relative) leaves room for other thread counts and BLAS builds, and is still far
below what any real difference (a lost image, a wrong shard, a doubled gradient: 1e-2 and up) makes.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from colorkit.data.dataset import EpochSampler
from colorkit.errors import ColorkitError
from colorkit.testing import make_images, write_recipe
from colorkit.training.distributed import ShardBatches, World, check_batch

TOLERANCE = 1e-5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _colorkit(*args, nproc: int = 1, cwd: Path) -> subprocess.CompletedProcess:
    launch = [sys.executable, "-m", "colorkit"]
    if nproc > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
                  "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "colorkit"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(launch + [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _curve(run: Path) -> list[tuple]:
    return [(r["epoch"], r["step"], r["images"], r["train_loss"], r["val_total"]) for r in map(json.loads, (run / "metrics.jsonl").open())]


def _close(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x[:3] == y[:3]
        assert x[3:] == pytest.approx(y[3:], rel=TOLERANCE)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """14 photos, 1 held out, global batch 4: steps of 4, 4, 4 and 1 image, so one rank's last slice is empty."""
    root = tmp_path_factory.mktemp("ddp")
    make_images(root / "photos", count=14, size=32)
    path = write_recipe(root / "tiny.toml", root / "photos", root / "runs")
    text = path.read_text().replace("dilations = [1, 2]", 'dilations = [1, 2], norm = "instance"')
    path.write_text(text.replace("epochs = 2", "epochs = 3"))
    return path


@pytest.mark.slow
def test_two_processes_train_what_one_trains_and_resume_under_torchrun(recipe):
    root = recipe.parent
    _colorkit("run", recipe, "--out", root / "single", cwd=root)
    (single,) = (root / "single").iterdir()

    done = _colorkit("run", recipe, "--out", root / "ddp", "--set", "train.epochs=2", nproc=2, cwd=root)
    (run,) = (root / "ddp").iterdir()  # exactly one run directory, written by rank 0
    assert done.stdout.count("run directory") == 1  # one summary table
    assert json.loads((run / "env.json").read_text())["world_size"] == 2
    _close(_curve(run), _curve(single)[:2])

    _colorkit("run", "--resume", run, "--set", "train.epochs=3", nproc=2, cwd=root)
    assert [p.name for p in (root / "ddp").iterdir()] == [run.name]
    _close(_curve(run), _curve(single))


def test_ranks_split_each_global_batch_and_keep_the_resume_offset():
    sampler = EpochSampler(9, seed=3)
    sampler.set_epoch(2, start=4)  # a resumed run: the first global batch of 4 was trained already
    single = list(ShardBatches(sampler, 4, World()))
    ranks = [list(ShardBatches(sampler, 4, World(rank=r, size=2))) for r in range(2)]
    assert [len(x) for x in ranks] == [len(single)] * 2 == [2, 2]
    assert [a + b for a, b in zip(*ranks)] == single  # rank 0's half, then rank 1's, of every batch
    assert ranks[1][-1] == [] and len(single[-1]) == 1  # the short last batch: rank 1's slice is empty


def test_a_global_batch_that_does_not_split_evenly_is_refused():
    check_batch(6, World(rank=0, size=3))
    with pytest.raises(ColorkitError, match=r"batch_size = 6 .* divisible by the 4 processes"):
        check_batch(6, World(rank=0, size=4))


@pytest.mark.slow
def test_two_processes_distill_what_one_distills(recipe):
    """Rank 0 colours the training images once; the other rank reads its file and trains on the same targets."""
    root = recipe.parent
    _colorkit("run", recipe, "--out", root / "teacher", "--set", "seed=7", cwd=root)
    (teacher,) = (root / "teacher").iterdir()
    taught = root / "taught.toml"
    taught.write_text(recipe.read_text() + f'\n[distill]\nteachers = ["{teacher}"]\nweight = 0.5\n')
    _colorkit("run", taught, "--out", root / "distill_single", cwd=root)
    done = _colorkit("run", taught, "--out", root / "distill_ddp", nproc=2, cwd=root)
    assert done.stdout.count("coloured") + done.stderr.count("coloured") == 1  # rank 0 only
    (single,) = (root / "distill_single").iterdir()
    (ddp,) = (root / "distill_ddp").iterdir()
    _close(_curve(ddp), _curve(single))

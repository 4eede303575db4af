"""``colorkit --help`` stays fast: building the app and printing any command's help imports no torch.

The command modules import torch, the models, training and inference only inside the commands, so
``colorkit --help`` does not wait seconds for them (docs/performance.md). Checked in a fresh
interpreter, since the test process itself has long imported torch.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "torchvision", "onnx", "onnxruntime", "cv2", "fastapi", "uvicorn")
"""Libraries that no help text needs."""

SCRIPT = """
import json, sys
import typer
from typer.testing import CliRunner
from colorkit.cli import create_app

app = create_app()

def paths(command, prefix=()):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, prefix + (name,))

runner = CliRunner()
shown = {}
for path in paths(typer.main.get_command(app)):
    result = runner.invoke(app, [*path, "--help"])
    shown[" ".join(path)] = [result.exit_code, result.output[:200]]
heavy = json.loads(sys.argv[1])
print(json.dumps({"shown": shown, "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(heavy))}))
"""


def test_help_of_every_command_imports_no_torch():
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(HEAVY)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    shown = report["shown"]
    assert {"", "run", "colorize", "bench", "models show", "plugin new", "serve"} <= set(shown), sorted(shown)
    assert all(code == 0 and "Usage:" in text for code, text in shown.values()), shown
    assert not report["loaded"], f"building the app and its help imported {report['loaded']}"

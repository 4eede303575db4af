"""MLflow: the same scalars and sample grids in an MLflow run (optional extra ``colorkit[mlflow]``).

Turn it on with ``[log] loggers = ["mlflow"]``; options go in ``[log.args.mlflow]``:
``tracking_uri`` (default: MLflow's own: ``MLFLOW_TRACKING_URI``, else its local store) and ``experiment``
(default: the recipe's name). The MLflow run is named after the run directory, gets the resolved
recipe as parameters and ``recipe.json``, and a resumed run continues the same MLflow run (its id is
kept in ``RUN_DIR/mlflow.json``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from colorkit.errors import ColorkitError
from colorkit.loggers.base import Logger

STATE_FILE = "mlflow.json"


def _import_mlflow():
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ColorkitError("logger 'mlflow' needs MLflow, an optional extra: pip install 'colorkit[mlflow]'") from None
    return MlflowClient


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): str(value)[:500]}


class MLflowLogger(Logger):
    """MLflow tracking (pip install 'colorkit[mlflow]'): the recipe as parameters, the same metrics and sample grids."""

    def __init__(self, run_dir: Path, recipe: Any = None, start_step: int = 0, tracking_uri: Optional[str] = None, experiment: Optional[str] = None):
        super().__init__(run_dir, recipe, start_step)
        MlflowClient = _import_mlflow()
        self.client = MlflowClient(tracking_uri=tracking_uri)
        state_path = Path(run_dir) / STATE_FILE
        if state_path.is_file():
            self.run_id = json.loads(state_path.read_text())["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return
        name = experiment or (recipe.name if recipe is not None else "colorkit")
        found = self.client.get_experiment_by_name(name)
        experiment_id = found.experiment_id if found is not None else self.client.create_experiment(name)
        run = self.client.create_run(experiment_id, run_name=Path(run_dir).name, tags={"colorkit.run_dir": str(Path(run_dir).resolve())})
        self.run_id = run.info.run_id
        state_path.write_text(json.dumps({"run_id": self.run_id, "experiment_id": experiment_id, "tracking_uri": tracking_uri}) + "\n")
        if recipe is not None:
            data = recipe.model_dump(mode="json")
            for key, value in sorted(_flatten(data).items()):
                self.client.log_param(self.run_id, key, value)
            self.client.log_dict(self.run_id, data, "recipe.json")

    @staticmethod
    def check_available() -> None:
        _import_mlflow()

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        for key, value in values.items():
            self.client.log_metric(self.run_id, key, value, timestamp=now, step=step)

    def log_image(self, step: int, name: str, image: np.ndarray) -> None:
        self.client.log_image(self.run_id, image, f"{name}/step-{step:07d}.png")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)

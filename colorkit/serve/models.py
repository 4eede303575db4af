"""The models a page may use, by name: the one ``colorkit serve`` was started with, the pretrained
models (``colorkit models``) and the runs with a checkpoint in the runs folder.

The browser only ever sends a name from :meth:`ModelChoices.names`; the name is looked up here, so no
path from the browser is opened. Each model is loaded once (the last few are kept) and the models
run one batch at a time (:attr:`ModelChoices.lock`): several tabs share one CPU or GPU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from colorkit.errors import ColorkitError
from colorkit.inference.colorizer import Colorizer
from colorkit.plugins import get_host

KEEP_LOADED = 3
"""How many loaded models are kept; the one used longest ago is dropped beyond that."""


@dataclass(frozen=True)
class Choice:
    """A model the page can pick: ``name`` (what the browser sees and sends), ``kind`` ("started
    with", "pretrained" or "run") and ``source`` (what :meth:`Colorizer.load` is given)."""

    name: str
    kind: str
    source: str


def run_dirs(runs: Path) -> list[Path]:
    """The run directories directly under ``runs`` that have a best or last checkpoint."""
    if not runs.is_dir():
        return []
    return [
        d for d in sorted(runs.iterdir())
        if d.is_dir() and any((d / "checkpoints" / f"{n}.safetensors").is_file() for n in ("best", "last"))
    ]


class ModelChoices:
    """The models by name, loaded on first use and cached; ``lock`` serialises every network run."""

    def __init__(self, model: str, runs: Path | None, *, device: str = "auto", host=None):
        self.model, self.runs, self.device = str(model), runs, device
        self.host = host or get_host()
        self.lock = threading.Lock()
        self._loaded: OrderedDict[str, Colorizer] = OrderedDict()

    @property
    def default(self) -> str:
        """The name of the model ``colorkit serve`` was started with."""
        return self.choices()[0].name

    def choices(self) -> list[Choice]:
        """Every model the page can pick, the starting one first; runs are listed afresh each call."""
        pretrained = self.host.registries["pretrained"].names()
        first = self.model if self.model in pretrained else Path(self.model).name
        found = [Choice(first, "started with", self.model)]
        found += [Choice(n, "pretrained", n) for n in pretrained]
        if self.runs is not None:
            found += [Choice(f"{self.runs.name}/{d.name}", "run", str(d)) for d in run_dirs(self.runs)]
        seen: set[str] = set()
        return [c for c in found if not (c.name in seen or seen.add(c.name))]

    def get(self, name: str) -> Colorizer:
        """The loaded model called ``name``; call it with :attr:`lock` held (loading runs the network)."""
        if name in self._loaded:
            self._loaded.move_to_end(name)
            return self._loaded[name]
        by_name = {c.name: c for c in self.choices()}
        if name not in by_name:
            raise ColorkitError(f"model {name!r}: not one of this server's models ({', '.join(by_name)})")
        colorizer = Colorizer.load(by_name[name].source, device=self.device, host=self.host)
        self._loaded[name] = colorizer
        while len(self._loaded) > KEEP_LOADED:
            self._loaded.popitem(last=False)
        return colorizer

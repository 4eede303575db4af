"""Model cards: what a pretrained model is, how it was made and measured, and where its weights are."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from colorkit.errors import ColorkitError
from colorkit.zoo import sources


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weights(_Part):
    """The checkpoint file and how to get it."""

    source: str = Field(description="package:MODULE/PATH, hf://OWNER/REPO/FILE@REVISION or file:///PATH")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=1)
    precision: str = Field("float32", description="storage dtype of the tensors (they are computed in float32)")

    @field_validator("source")
    @classmethod
    def _parses(cls, value: str) -> str:
        sources.parse_source(value)
        return value


class DataUse(_Part):
    """One data set the model was trained on."""

    name: str
    splits: str = Field(description='what was used, e.g. "train (training), val (model selection)"')
    images: int = Field(ge=0)
    licence: str


class Training(_Part):
    hardware: str
    wall_time: str
    images_seen: int = Field(ge=0)
    command: str


class ModelCard(_Part):
    """A pretrained model, registered through ``colorkit_register_pretrained``.

    Calling the card returns the path of its checked weights on this machine (downloading them on
    first use when the source is a hub).
    """

    name: str
    summary: str = Field(description="one line")
    architecture: str = Field(description="the registered model that the checkpoint builds")
    plugin: Optional[str] = Field(None, description="the package that registers `architecture`, when it is not built in")
    parameters: int = Field(ge=1)
    network_size: int = Field(ge=8, description="the side of the square the network sees (photos are coloured at any size)")
    hints: bool = Field(False, description="whether the network takes colour hints")
    recipe: str = Field(description="the recipe that trained it, relative to the repository root")
    licence: str = Field(description="terms for using the weights, from the training data")
    data: list[DataUse]
    training: Training
    metrics: dict[str, dict[str, dict[str, float]]] = Field(
        default_factory=dict, description="test set -> row (this model and baselines) -> metric -> value"
    )
    measured_with: list[str] = Field(default_factory=list, description="the commands that reproduce `metrics`")
    weights: Weights

    def __call__(self):
        """The weights file on this machine (downloaded and cached on first use), checked against sha256."""
        return sources.fetch(self.name, self.weights.source, self.weights.sha256)

    def location(self) -> str:
        """"bundled" (inside a package), "cached" (downloaded before), "local file" or "not downloaded"."""
        source = sources.parse_source(self.weights.source)
        if source.kind == "package":
            return "bundled"
        if source.kind == "file":
            return "local file"
        return "cached" if sources.local_path(source) is not None else "not downloaded"


def read_card(path: str | Path) -> ModelCard:
    """A card from its TOML file; a bad file is one line naming it and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return ModelCard.model_validate(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ColorkitError(f"{path}: cannot read model card: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ColorkitError(f"{path}: model card key '{key}': {first['msg']}") from None

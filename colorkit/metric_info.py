"""What a metric says about itself: which way is better, its unit, and how to show it.

A metric is a function ``fn(pred_rgb, true_rgb) -> float`` registered through
``colorkit_register_metrics``. The :func:`metric` decorator attaches a :class:`MetricInfo` to it;
:func:`describe` reads it back, and the ``colorkit compare`` report uses nothing else to head, format,
bold and plot a metric's column. A plain function still registers: it is shown with a generic format
(``.4f``, headed by its name), never bolded and never plotted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Literal, TypeVar

from colorkit.errors import ColorkitError

__all__ = ["BETTER", "Better", "MetricInfo", "describe", "metric"]

Better = Literal["high", "low", "abs_low", "near100"]
BETTER: tuple[str, ...] = ("high", "low", "abs_low", "near100")
"""``high``/``low``: the highest/lowest value is best; ``abs_low``: the smallest ``|value|``;
``near100``: the value closest to 100."""

_F = TypeVar("_F", bound=Callable)


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is judged and shown; ``""`` fields take their default from :func:`describe`."""

    better: Better | None = None  # which value is best (see BETTER); None: not judged, never bold
    unit: str = ""  # e.g. "dB"; in plot titles
    fmt: str = ".4f"  # format spec of the value in tables: f"{value:{fmt}}"
    label: str = ""  # name in plot titles (default: the registered name)
    header: str = ""  # table column header, without the direction arrow (default: label)
    plot: bool = False  # a bar chart in the comparison's metrics.png
    plot_fmt: str = ""  # format spec of the bar labels (default: fmt)
    perfect: float | None = None  # the score of the truth against itself (its table row); None: not shown

    def __post_init__(self) -> None:
        if self.better is not None and self.better not in BETTER:
            raise ColorkitError(f"metric info: better={self.better!r} is not one of {', '.join(BETTER)} (or None: not judged)")
        for key in ("fmt", "plot_fmt"):
            spec = getattr(self, key)
            try:
                format(1.0, spec)
            except (ValueError, TypeError):
                raise ColorkitError(f"metric info: {key}={spec!r} is not a format spec for a float (e.g. '.2f')") from None
        if self.perfect is not None and (isinstance(self.perfect, bool) or not isinstance(self.perfect, (int, float)) or math.isnan(self.perfect)):
            raise ColorkitError(f"metric info: perfect={self.perfect!r} must be a number (inf allowed) or None")

    def resolved(self, name: str) -> MetricInfo:
        """This info with its defaults filled in for the metric registered as ``name``."""
        label = self.label or name
        return replace(self, label=label, header=self.header or label, plot_fmt=self.plot_fmt or self.fmt)


def metric(**info) -> Callable[[_F], _F]:
    """Decorator attaching a :class:`MetricInfo` to a metric function, which is returned unchanged:

    ``@metric(better="high", unit="dB", fmt=".2f", label="PSNR", plot=True)``.
    """
    described = MetricInfo(**info)

    def attach(fn: _F) -> _F:
        fn.metric_info = described
        return fn

    return attach


def describe(name: str, fn: Callable | None) -> MetricInfo:
    """The :class:`MetricInfo` of metric ``name`` registered as ``fn``, every default filled in.

    A function without one (or ``fn=None``) is described generically: not judged, ``.4f``, headed ``name``.
    """
    info = getattr(fn, "metric_info", None)
    return (info if isinstance(info, MetricInfo) else MetricInfo()).resolved(name)

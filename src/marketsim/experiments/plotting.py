"""Figures for reports, drawn without pyplot so no backend or global state is touched."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Figure, Any]:
    """Like pyplot.subplots, for a figure that is only ever saved to a file."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)

"""Figures for reports, drawn without pyplot so no backend or global state is touched."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Figure, Any]:
    """Like pyplot.subplots, for a figure that is only ever saved to a file."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def label_quadrants(ax: Any, texts: tuple[str, str, str, str]) -> None:
    """Grey labels in the corners: top right, top left, bottom right, bottom left."""
    corners = ((0.98, 0.97), (0.02, 0.97), (0.98, 0.03), (0.02, 0.03))
    for (hx, hy), text in zip(corners, texts, strict=True):
        ax.text(
            hx,
            hy,
            text,
            transform=ax.transAxes,
            fontsize=8,
            color="0.4",
            ha="right" if hx > 0.5 else "left",
            va="top" if hy > 0.5 else "bottom",
        )

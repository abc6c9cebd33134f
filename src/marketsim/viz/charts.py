"""The live charts, as ECharts option dictionaries.

Building a dictionary costs microseconds; the browser draws it (ECharts ships
offline with `solara-assets`), with a hover tooltip and a clickable legend on
every chart. Each function takes the `Workshop` and returns one option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from marketsim.viz.workshop import HARM_GROUPS, Side, Workshop

SCENARIO_COLOUR = "#1f5fa8"
BASELINE_COLOUR = "#7a7a7a"
RIVAL_COLOUR = "#e07b00"
REGION_COLOURS = {"target": "#c2185b", "buffer": "#e67e22", "control": "#4e7d8c"}
GROUP_COLOURS = ("#b2182b", "#ef8a62", "#7b3294", "#e0b000", "#2166ac", "#4daf4a")
MAX_POINTS = 400  # per series: longer runs are thinned before sending


def smooth(values: np.ndarray, window: int = 7) -> np.ndarray:
    """Trailing mean over `window` days (over fewer at the start)."""
    if values.size == 0:
        return values
    c = np.concatenate([[0.0], np.cumsum(values)])
    i = np.arange(1, values.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def _points(values: np.ndarray, digits: int = 3) -> list[list[float]]:
    """[[day, value], ...], thinned to MAX_POINTS, rounded to keep messages small."""
    n = values.size
    if n == 0:
        return []
    stride = max(1, int(np.ceil(n / MAX_POINTS)))
    days = np.arange(0, n, stride)
    if days[-1] != n - 1:
        days = np.append(days, n - 1)
    vals = np.round(values[days].astype(float), digits)
    vals = np.where(np.isfinite(vals), vals, 0.0)
    return [[int(d), float(v)] for d, v in zip(days, vals, strict=True)]


def _line(name: str, values: np.ndarray, colour: str, **style: Any) -> dict[str, Any]:
    dashed = style.pop("dashed", False)
    width = style.pop("width", 2)
    return {
        "name": name,
        "type": "line",
        "data": _points(values),
        "showSymbol": False,
        "color": colour,
        "lineStyle": {"width": width, "type": "dashed" if dashed else "solid"},
        **style,
    }


def _base(ws: Workshop, title: str, ylabel: str, series: list[dict[str, Any]]) -> dict[str, Any]:
    start = ws.tactic_start()
    if series and start is not None and start <= ws.day:
        series[0]["markLine"] = {
            "symbol": "none",
            "silent": True,
            "lineStyle": {"color": "#999", "type": "dotted"},
            "label": {"formatter": "tactic starts", "color": "#777", "fontSize": 10},
            "data": [{"xAxis": start}],
        }
    return {
        "animation": False,
        "title": {"text": title, "left": 6, "top": 2, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 26, "left": 6, "itemWidth": 16, "textStyle": {"fontSize": 11}},
        "grid": {"left": 64, "right": 18, "top": 78, "bottom": 40},
        "xAxis": {
            "type": "value",
            "name": "day",
            "nameLocation": "middle",
            "nameGap": 24,
            "min": 0,
            "max": max(ws.day, 30),
        },
        "yAxis": {
            "type": "value",
            "name": ylabel,
            "nameLocation": "middle",
            "nameGap": 48,
            "scale": False,
        },
        "series": series,
    }


def _compare(ws: Workshop, of: Callable[[Side], np.ndarray]) -> list[dict[str, Any]]:
    """A series for the scenario, its no-tactic run and the rival, where there is one."""
    series = [_line(ws.main.scenario.name, of(ws.main), SCENARIO_COLOUR, width=3)]
    if ws.baseline is not None:
        series.append(_line("no tactic (same seed)", of(ws.baseline), BASELINE_COLOUR, dashed=True))
    if ws.rival is not None:
        series.append(_line(ws.rival.scenario.name, of(ws.rival), RIVAL_COLOUR, width=3))
    return series


def net_harm(ws: Workshop) -> dict[str, Any]:
    series = _compare(ws, lambda s: s.cumulative_net_harm() / 1e6)
    return _base(ws, "Net harm, cumulative", "GBP million", series)


def harm_by_type(ws: Workshop) -> dict[str, Any]:
    """Stacked areas: a category axis, so ECharts stacks the groups day by day."""
    groups = ws.main.harm_by_group()
    days = groups.shape[0]
    stride = max(1, int(np.ceil(days / MAX_POINTS)))
    keep = np.arange(0, days, stride)
    series = [
        {
            "name": name,
            "type": "line",
            "stack": "harm",
            "showSymbol": False,
            "color": GROUP_COLOURS[g],
            "lineStyle": {"width": 0.5},
            "areaStyle": {"opacity": 0.85},
            "data": np.round(smooth(groups[:, g])[keep] / 1e3, 2).tolist(),
        }
        for g, name in enumerate(HARM_GROUPS)
    ]
    option = _base(ws, "Harm by type", "GBP thousand a day", series)
    option["xAxis"] = {
        "type": "category",
        "name": "day",
        "nameLocation": "middle",
        "nameGap": 24,
        "boundaryGap": False,
        "data": list(range(0, max(days, 31), stride)),  # the same 30-day minimum as the others
    }
    for s in series:
        for mark in s.get("markLine", {}).get("data", []):
            mark["xAxis"] = str(mark["xAxis"])
    option["grid"]["top"] = 112  # room for a three-row legend
    return option


def violence(ws: Workshop) -> dict[str, Any]:
    series = _compare(ws, lambda s: smooth(s.series("violent_incidents")))
    return _base(ws, "Violence", "incidents a day", series)


def visible_dealing(ws: Workshop) -> dict[str, Any]:
    town = ws.main.model.town
    residents = town.residents.ravel()
    series = []
    for region, colour in REGION_COLOURS.items():
        people = max(float(residents[town.region_masks[region]].sum()), 1.0)
        share = 100 * smooth(ws.main.series("visible_dealing", region)) / people
        series.append(_line(region, share, colour, width=3))
    if ws.baseline is not None:
        for region, colour in REGION_COLOURS.items():
            people = max(float(residents[town.region_masks[region]].sum()), 1.0)
            share = 100 * smooth(ws.baseline.series("visible_dealing", region)) / people
            series.append(_line(f"{region}, no tactic", share, colour, width=1.5, dashed=True))
    option = _base(ws, "Visible dealing by area", "% of residents exposed", series)
    option["grid"]["top"] = 100  # six names take two legend rows: keep them off the plot
    return option


def arrests_vs_harm(ws: Workshop) -> dict[str, Any]:
    if ws.baseline is None:
        series = []
        for col, colour, label in (
            ("arrests", "#333333", "arrests a day"),
            ("net_harm", SCENARIO_COLOUR, "net harm, GBP thousand a day"),
        ):
            scale = 1e3 if col == "net_harm" else 1.0
            series.append(_line(label, smooth(ws.main.series(col), 30) / scale, colour, width=3))
        return _base(ws, "Arrests and harm", "30-day mean", series)
    series = []
    for col, colour, label in (
        ("arrests", "#333333", "arrests (traditional metric)"),
        ("net_harm", SCENARIO_COLOUR, "net harm (harm metric)"),
    ):
        main = np.cumsum(ws.main.series(col))
        base = np.cumsum(ws.baseline.series(col))
        change = 100 * (main - base) / np.maximum(base, 1e-9)
        series.append(_line(label, change, colour, width=3))
    option = _base(ws, "Arrests against harm", "% change vs no tactic", series)
    series[0].setdefault("markLine", {"symbol": "none", "silent": True, "data": []})
    series[0]["markLine"]["data"].append(
        {"yAxis": 0, "label": {"show": False}, "lineStyle": {"color": "#999", "type": "solid"}}
    )
    return option


def treatment(ws: Workshop) -> dict[str, Any]:
    side = ws.main
    places = np.array(side.places_history, dtype=float)
    series = [
        _line(
            "waiting list",
            side.series("treatment_waiting"),
            "#e08060",
            width=1,
            areaStyle={"opacity": 0.35},
        ),
        _line("in treatment", side.series("users_in_treatment"), "#1b7837", width=3),
        _line("places", places, "#5e3c99", width=1.5, dashed=True, step="end"),
    ]
    return _base(ws, "Treatment places and waiting list", "people", series)


def difference(ws: Workshop) -> dict[str, Any]:
    """Cumulative net harm of the scenario minus the rival's (side-by-side mode).

    The area is split into a green part (below zero: the scenario did less harm) and a
    red part (above: the rival did), as two series. A `visualMap` with `pieces` over
    a series with an area made ECharts throw on every redraw and draw nothing.
    """
    rival = ws.rival
    if rival is None:
        raise ValueError("the difference chart needs a rival (side-by-side mode)")
    diff = (ws.main.cumulative_net_harm() - rival.cumulative_net_harm()) / 1e6
    main_name, rival_name = ws.main.scenario.name, rival.scenario.name
    series = [
        _line(
            f"{main_name} did less harm",
            np.minimum(diff, 0.0),
            "#1b7837",
            width=1,
            areaStyle={"opacity": 0.45},
        ),
        _line(
            f"{rival_name} did less harm",
            np.maximum(diff, 0.0),
            "#b2182b",
            width=1,
            areaStyle={"opacity": 0.45},
        ),
        _line(f"{main_name} minus {rival_name}", diff, "#333333", width=2),
    ]
    option = _base(ws, f"{main_name} minus {rival_name}", "GBP million, cumulative", series)
    option["legend"]["data"] = [series[0]["name"], series[1]["name"]]
    return option


CHARTS = {
    "net_harm": net_harm,
    "harm_by_type": harm_by_type,
    "violence": violence,
    "visible_dealing": visible_dealing,
    "arrests_vs_harm": arrests_vs_harm,
    "treatment": treatment,
}

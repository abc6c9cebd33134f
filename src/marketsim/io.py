"""Running a scenario and writing its outputs (design §8)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from marketsim import MODEL_REVISION, __version__, interrupts
from marketsim.burnin import BurnInCache
from marketsim.citations import readable
from marketsim.harms import harm_matrix_markdown
from marketsim.model import MarketModel
from marketsim.scenario import Scenario
from marketsim.summary import summarize


def simulate(
    scenario: Scenario,
    progress: bool = False,
    cache: BurnInCache | None = None,
    keep_events: bool = False,
) -> tuple[MarketModel, pd.DataFrame, dict[str, Any]]:
    """Run one scenario to the end; returns the model, the timeseries and the summary.

    With a burn-in cache, a run starts from the latest state it shares with runs
    already made (burnin.py). `keep_events` keeps the harm ledger's event table
    (exports.py).
    """
    model = MarketModel(scenario) if cache is None else cache.model_for(scenario)
    model.ledger.keep_events = keep_events
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=scenario.burn_in + scenario.steps,
            initial=model.day + scenario.burn_in,
            desc=scenario.name,
            unit="day",
            leave=False,
        )

    def day_done(n: int) -> None:
        if bar is not None:
            bar.update(n)
        interrupts.check()  # a stop signal whose raise was lost on the way (interrupts)

    try:
        model.run(progress=day_done)
    except SystemError:
        interrupts.check()  # a stop signal that landed in a compiled kernel's call
        raise
    finally:
        if bar is not None:
            bar.close()
    ts = model.recorder.frame()
    return model, ts, summarize(model.world, ts)


def resolved_scenario(scenario: Scenario) -> dict[str, Any]:
    data = scenario.resolved()
    data["marketsim_version"] = __version__
    data["model_revision"] = MODEL_REVISION
    return data


def write_outputs(out: Path, scenario: Scenario, ts: pd.DataFrame, summary: dict[str, Any]) -> None:
    """timeseries.csv, summary.json and the resolved scenario.yaml."""
    out.mkdir(parents=True, exist_ok=True)
    ts.to_csv(out / "timeseries.csv", index=False, float_format="%.10g")
    text = json.dumps(_finite(summary), indent=2, default=_json_default, allow_nan=False)
    (out / "summary.json").write_text(text + "\n")
    (out / "harm_matrix.md").write_text(harm_matrix_report(summary))
    header = (
        "# Resolved scenario: every default filled in. Re-run with `marketsim run` on this file.\n"
    )
    (out / "scenario.yaml").write_text(
        header + yaml.safe_dump(resolved_scenario(scenario), sort_keys=False)
    )


UNIT_MEANINGS = {
    "GBP": "pounds, at Home Office (2018) unit costs of crime",
    "days of imprisonment equivalent": "days of imprisonment that the starting point of "
    "sentencing guidelines gives the offence (Cambridge Crime Harm Index)",
    "harm points": "a relative scale on which one homicide is 100 points; each profile "
    "weighs the other harms against it from its stakeholders' view (docs/harms.md)",
}


def harm_matrix_report(summary: dict[str, Any]) -> str:
    """The weighted harms of a run laid out as UKDPC 2009 Table 4.1, one table per profile."""
    from marketsim.measures import MEASURES  # the evaluation's reporting rates

    recorded = MEASURES["recorded_acquisitive_crime"].reporting
    parts = [
        f"# Harm matrix: {summary['scenario']}",
        "",
        f"One run: random seed {summary['seed']}, {summary['steps']} days after "
        f"{summary['burn_in']} days of burn-in. Columns are the levels and rows the domains of "
        "the harm matrix in UKDPC 2009, Table 4.1. Counts are events in the model, not "
        "police records: acquisitive crime, for one, is offences committed, of which about "
        f"{recorded:.0%} are recorded (the reporting rate `marketsim pilot` uses).",
        "",
        "Units:",
        "",
    ]
    units = dict.fromkeys(v["unit"] for v in summary["net_harm"].values())
    parts += [f"- **{u}**: {UNIT_MEANINGS.get(u, u)}" for u in units]
    parts.append("")
    for name, table in summary["harm_matrix"].items():
        unit = summary["net_harm"][name]["unit"]
        parts += [
            f"## {summary['net_harm'][name]['label']}",
            "",
            harm_matrix_markdown(table, unit),
            "",
        ]
    return readable("\n".join(parts))


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined numbers (a price with no sales) become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

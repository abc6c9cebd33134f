"""Shared fixtures: small, fast scenarios built from the schema defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketsim.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def small(**overrides) -> Scenario:
    """A 20x20 town with 300 users and 40 dealers: seconds, not minutes."""
    data = {
        "name": "small",
        "steps": 60,
        "burn_in": 30,
        "town": {"width": 20, "height": 20},
        "market": {"n_users": 300, "n_dealers": 40},
        "police": {"n_units": 4},
        "treatment": {"places_per_site": 10},
        "regions": {"target": {"centre": [10, 10], "radius": 3}, "buffer_width": 2},
    }
    for key, value in overrides.items():
        node = data
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return scenario_from_dict(data, source="<test>")


@pytest.fixture
def small_scenario() -> Scenario:
    return small()

"""The tactic interface lets a plug-in act on areas, on ranked individuals or
crews, and on behaviours, through the explicit registry."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from marketsim import events
from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError, scenario_from_dict
from marketsim.tactics.base import Order, Tactic, TacticConfig
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.schema import CONFIGS
from tests.conftest import small


class ProbeConfig(TacticConfig):
    type: Literal["probe"] = "probe"
    mode: Literal["area", "ranked", "behaviour", "deter"] = "area"


class Probe(Tactic):
    """A test-only tactic that records its hook calls."""

    Config = ProbeConfig

    def init(self, world):
        self.calls = ["init"]
        self.detected: list[int] = []
        self.spared: list[tuple[int, int]] = []

    def step(self, world):
        self.calls.append("step")
        town = world.town
        target = np.flatnonzero(town.region_masks["target"])
        mode = self.config.mode
        if mode == "ranked":
            act = world.dealers.active()
            top = act[np.argsort(-world.harm_score(act))[:3]]
            self.ranked = top
            world.police.request(
                Order(
                    tactic=self.name,
                    units=0,
                    cells=np.empty(0, np.int64),
                    targets=top,
                    target_prob=1.0,
                )
            )
        elif mode == "behaviour":
            world.police.request(
                Order(
                    tactic=self.name, units=4, cells=target, on_detect=self._note, cells_per_unit=2
                )
            )
        else:
            effect = "deter" if mode == "deter" else "arrest"
            world.police.request(
                Order(tactic=self.name, units=4, cells=target, effect=effect, cells_per_unit=2)
            )

    def _note(self, world, rows):
        keep = rows[~world.dealers.open[rows]]  # behaviour: only closed dealers are arrested
        self.detected.extend(int(r) for r in rows)
        self.spared.extend((world.day, int(r)) for r in rows if r not in keep)
        return keep

    def finalize(self, world):
        self.calls.append("finalize")


@pytest.fixture
def probe(monkeypatch):
    monkeypatch.setitem(TACTICS, "probe", Probe)
    monkeypatch.setitem(CONFIGS, "probe", ProbeConfig)


def run_probe(mode: str, seed: int = 1, **kw) -> MarketModel:
    sc = small(
        seed=seed,
        steps=kw.get("steps", 20),
        burn_in=10,
        police__n_units=6,
        tactics=[{"type": "standard_patrol"}, {"type": "probe", "mode": mode, "start": 5}],
    )
    model = MarketModel(sc)
    model.run()
    return model


def test_registry_rejects_unknown_type():
    with pytest.raises(ScenarioError, match="bad value 'probe': unknown tactic type"):
        scenario_from_dict({"tactics": [{"type": "probe"}]})


def test_hooks_run_in_order_and_only_while_active(probe):
    model = run_probe("area")
    tactic = model.tactics[1]
    assert tactic.calls[0] == "init" and tactic.calls[-1] == "finalize"
    assert tactic.calls.count("step") == 20 - 5  # recorded days 5..19


def test_area_orders_put_police_in_the_target(probe):
    model = run_probe("area")
    ts = model.recorder.frame()
    target = ts[(ts.region == "target") & (ts.step >= 5)]
    # 4 of 6 units are ordered into the target from day 5: at least 4 officer-days a day there
    assert (target.police_officer_days >= 4 - 1e-9).all()


def test_ranked_targets_are_arrested(probe):
    model = run_probe("ranked", steps=6)
    tactic = model.tactics[1]
    assert len(tactic.ranked) == 3
    assert (model.dealers.arrests[tactic.ranked] >= 1).all()


def test_behaviour_handler_decides_who_is_arrested(probe, monkeypatch):
    """Dealers the handler spares (open ones) are not arrested that day by the probe's units."""
    spared_total = 0
    for seed in range(1, 7):
        sc = small(
            seed=seed,
            steps=40,
            burn_in=10,
            police__n_units=6,
            tactics=[
                {"type": "standard_patrol"},
                {"type": "probe", "mode": "behaviour", "start": 5},
            ],
        )
        model = MarketModel(sc)
        arrested: set[tuple[int, int]] = set()
        original = events.arrest_dealer

        def logged(world, r, rng, cell=None, by="standard_patrol", _orig=original, _log=arrested):
            _log.add((world.day, int(r)))
            return _orig(world, r, rng, cell, by=by)

        monkeypatch.setattr(events, "arrest_dealer", logged)
        model.run()
        spared = set(model.tactics[1].spared)
        spared_total += len(spared)
        assert not spared & arrested
    assert spared_total > 0  # the handler really was asked about open dealers


def test_deter_effect_makes_no_arrests(probe):
    """The same deployment with effect='deter' arrests fewer dealers than with 'arrest'."""
    deter = arrest = 0
    for seed in range(1, 9):
        deter += int(run_probe("deter", seed=seed, steps=40).dealers.view("arrests").sum())
        arrest += int(run_probe("area", seed=seed, steps=40).dealers.view("arrests").sum())
    assert deter < arrest


def test_adding_a_tactic_keeps_other_streams(probe):
    """Common random numbers: a new tactic draws from its own stream, so the
    town and the initial population are unchanged."""
    plain = MarketModel(small(seed=4))
    with_probe = MarketModel(
        small(seed=4, tactics=[{"type": "standard_patrol"}, {"type": "probe", "start": 100}])
    )
    assert np.array_equal(plain.town.land_use, with_probe.town.land_use)
    assert np.array_equal(plain.users.view("home"), with_probe.users.view("home"))
    assert np.array_equal(plain.dealers.view("violence"), with_probe.dealers.view("violence"))
    # and, since the probe never starts, the whole run is identical
    plain.run()
    with_probe.run()
    assert plain.recorder.frame().equals(with_probe.recorder.frame())

"""Sharing the start of runs that differ only in tactics not yet begun.

Runs of a sweep or a comparison usually differ only in their tactics, and a
tactic does nothing before its first day (`Tactic.first_day`): it has drawn no
random number, booked nothing and changed nothing. So every run with the same
seed and the same background (the tactics that act from burn-in on, standard
patrol) is in the same state up to the first day of its earliest other tactic:
the end of burn-in, and for most tactics months later (a crackdown starting on
day 120 shares its first 120 recorded days with the baseline). `BurnInCache`
keeps such states (pickled, about 5 MB each) and starts later runs from the
latest one they share. The result is bit-identical to a fresh run;
`tests/test_burnin.py` checks this for every shipped scenario.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections import OrderedDict

import numpy as np
from mesa.discrete_space.cell import Cell

from marketsim.accounts import REACTIVE, SELF_REFERRAL, Accounts
from marketsim.model import MarketModel
from marketsim.scenario import Scenario
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.schema import CONFIGS

# Fields that do not affect the simulation up to the first day of a tactic. The
# evaluation's watched areas shape what is recorded, from day 0 on.
_NOT_SHARED = ("name", "description", "steps", "evaluation")


def shared_until(scenario: Scenario) -> int:
    """The first day on which `scenario` may differ from its background alone.

    That is the first day of its earliest tactic outside the background, the first
    day void fillers take traits of their own (`market.entrants.start`), or the end
    of the run; it is never before the first day of burn-in.
    """
    days = [
        TACTICS[cfg.type].first_day(cfg, scenario)
        for cfg in scenario.tactics
        if not cfg.acts_in_burn_in
    ]
    if scenario.market.entrants.void_fillers_differ:
        days.append(scenario.market.entrants.start)
    return max(-scenario.burn_in, min([scenario.steps, *days]))


def prefix_key(scenario: Scenario, recorded: bool) -> str:
    """A hash of everything that shapes a state that runs share.

    Tactics outside the background do not count at all, nor do void fillers' traits
    (they act from `shared_until` on). Background tactics count with their position
    in the list, which fixes their account index. For a state after day 0
    (`recorded`), the evaluation's watched areas count too: the recorder has used them.
    """
    data = scenario.resolved()
    watch = data["evaluation"]["watch"]
    for field in _NOT_SHARED:
        data.pop(field, None)
    data["market"]["entrants"] = {"rate": scenario.market.entrants.rate}
    if recorded:
        data["evaluation.watch"] = watch
    data["tactics"] = [
        [i, cfg] for i, cfg in enumerate(data["tactics"]) if CONFIGS[cfg["type"]].acts_in_burn_in
    ]
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def burn_in_key(scenario: Scenario) -> str:
    """The key of the state at day 0, the end of burn-in."""
    return prefix_key(scenario, recorded=False)


def adopt(model: MarketModel, scenario: Scenario) -> MarketModel:
    """Turn a model at day d into one for `scenario` (same prefix key at d), as if built from it.

    `scenario`'s tactics outside the background must not have begun before d.
    """
    world = model.world
    background = {i: t for i, t in enumerate(world.tactics) if t.config.acts_in_burn_in}
    world.config = scenario
    world.recorder.config = scenario
    # Background accounts keep what they booked (same names, same indices); the
    # accounts of tactics not yet begun are empty, and start afresh.
    old = world.accounts
    world.accounts = Accounts([cfg.label for cfg in scenario.tactics])
    world.accounts.recording = old.recording
    kept = {REACTIVE, SELF_REFERRAL, *(t.name for t in background.values())}
    for name, account in old.accounts.items():
        if name in kept:
            world.accounts.accounts[name] = account
        elif any(account.counts.values()) or account.spend_gbp:
            raise RuntimeError(f"tactic {name!r} booked to its account before its first day")
    # Streams of tactics not yet begun restart from the root seed.
    keep_streams = {f"tactic:{t.name}" for t in background.values()}
    for name in world.streams.names():
        if name.startswith("tactic:") and name not in keep_streams:
            world.streams.forget(name)
    tactics = []
    for i, cfg in enumerate(scenario.tactics):
        if i in background:
            tactics.append(background[i])
            continue
        tactic = TACTICS[cfg.type](cfg, world.streams[f"tactic:{cfg.label}"], f"tactics[{i}]")
        tactic.init(world)
        _check_not_begun(tactic, model)
        tactics.append(tactic)
    world.tactics = tactics
    return model


def _check_not_begun(tactic, model: MarketModel) -> None:
    """A tactic outside the background must not have been due to act before today."""
    for day in range(-model.config.burn_in, model.day):
        if tactic.is_active(day):
            raise RuntimeError(
                f"tactic {tactic.name!r} is active on day {day}, before its first day "
                f"{type(tactic).first_day(tactic.config, model.config)}: "
                "Tactic.first_day must agree with is_active"
            )


class BurnInCache:
    """Shared states of recent runs by (prefix key, day), least recently used first out."""

    def __init__(self, maxsize: int = 12):
        self.maxsize = maxsize
        self._states: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self.hits = self.misses = 0
        self.last_shared_day: int | None = None  # where the last run started (None: afresh)

    def model_for(self, scenario: Scenario) -> MarketModel:
        """A model for `scenario` at `shared_until(scenario)`, from the latest shared state.

        On the way it keeps the states at day 0 and at `shared_until`, for later runs.
        """
        until = shared_until(scenario)
        keys = (prefix_key(scenario, recorded=False), prefix_key(scenario, recorded=True))
        shared = [(k, d) for k, d in self._states if d <= until and k == keys[d > 0]]
        if shared:
            self.hits += 1
            found = max(shared, key=lambda kd: kd[1])
            self._states.move_to_end(found)
            model = adopt(pickle.loads(self._states[found]), scenario)
            self.last_shared_day = found[1]
        else:
            self.misses += 1
            model = MarketModel(scenario)
            self.last_shared_day = None
        # Keep the end of burn-in, and the last shared day unless it is the end of the run.
        stops = {min(0, until)} | ({until} if until < scenario.steps else set())
        for stop in sorted(stops):
            key = (keys[stop > 0], stop)
            if stop < model.day or key in self._states:
                continue
            while model.day < stop:
                model.step()
            for tactic in model.tactics:
                if not tactic.config.acts_in_burn_in:
                    _check_not_begun(tactic, model)
            self._states[key] = dump_state(model)
            while len(self._states) > self.maxsize:
                self._states.popitem(last=False)
        while model.day < until:
            model.step()
        return model


def dump_state(obj: object) -> bytes:
    """Pickle `obj` so that its numpy arrays come back with numpy's own dtype objects.

    A plainly unpickled array carries a fresh copy of its dtype, and numpy takes a
    slow path for some operations on such arrays: `np.add.at` into one runs about
    30 times slower (numpy 2.x). The state itself is unchanged.
    """
    buffer = io.BytesIO()
    _CanonicalPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


class _CanonicalPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, protocol: int):
        super().__init__(file, protocol)
        self._cell_classes: dict[type, _CellClass] = {}

    def reducer_override(self, obj: object):
        if isinstance(obj, Cell) and "_mesa_properties" in type(obj).__dict__:
            # A Mesa grid cell, of the grid's own dynamically made class. Mesa's reducer
            # makes a new class for every cell when unpickled (slow, ~0.2 s a model)
            # and cannot pickle those again; here the cells of one grid share one.
            token = self._cell_classes.setdefault(type(obj), _CellClass(type(obj).__bases__[0]))
            return _grid_cell, (token, obj.__getstate__())
        return _canonical_reduce(obj)


class _CellClass:
    """Stands for one grid's cell class in a pickle: a new class per load, shared by its cells."""

    def __init__(self, parent: type):
        self.parent = parent
        self.made: type | None = None

    def __getstate__(self) -> dict:
        return {"parent": self.parent}

    def __setstate__(self, state: dict) -> None:
        self.parent, self.made = state["parent"], None


def _grid_cell(token: _CellClass, fields: tuple) -> Cell:
    """Rebuild a grid cell as Mesa's `unpickle_gridcell` does, in its grid's shared class."""
    if token.made is None:
        token.made = type("GridCell", (token.parent,), {"_mesa_properties": set(), "__slots__": ()})
    cell = token.made((0, 0))  # the coordinate is overwritten from the state
    for name, value in fields[1].items():
        setattr(cell, name, value)
    return cell


def _canonical_reduce(obj: object):
    if type(obj) is np.ndarray and not obj.dtype.hasobject and obj.dtype.fields is None:
        order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
        return _array, (obj.dtype.str, obj.shape, order, obj.tobytes(order=order))
    if isinstance(obj, np.generic) and not obj.dtype.hasobject and obj.dtype.fields is None:
        return _scalar, (obj.dtype.str, obj.tobytes())
    return NotImplemented


def _array(code: str, shape: tuple[int, ...], order: str, data: bytes) -> np.ndarray:
    flat = np.frombuffer(data, dtype=np.dtype(code)).copy()
    return flat.reshape(shape, order=order)


def _scalar(code: str, data: bytes) -> np.generic:
    return np.frombuffer(data, dtype=np.dtype(code))[0]

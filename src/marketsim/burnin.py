"""Sharing burn-in between runs that differ only after it.

Runs of a sweep or a comparison usually differ only in their tactics. Tactics
other than standard patrol do not act during burn-in, so every such run with the
same seed reaches day 0 in the same state. `BurnInCache` keeps that state (pickled, about 5 MB)
and starts later runs from it, which saves a third of a default run. The result
is bit-identical to a fresh run; `tests/test_burnin.py` checks this for every
shipped scenario.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections import OrderedDict

import numpy as np

from marketsim.accounts import Accounts
from marketsim.model import MarketModel
from marketsim.scenario import Scenario
from marketsim.tactics import TACTICS

# Fields that do not affect the simulation up to day 0.
_AFTER_BURN_IN = ("name", "description", "steps", "evaluation")


def burn_in_key(scenario: Scenario) -> str:
    """A hash of everything that shapes the state at day 0.

    Tactics that do not act in burn-in do not count at all: they have not run,
    drawn a random number or booked anything to their accounts by day 0. Those
    that do act (standard patrol) count with their position in the list, which
    fixes their account index.
    """
    data = scenario.resolved()
    for field in _AFTER_BURN_IN:
        data.pop(field, None)
    data["tactics"] = [
        [i, cfg] for i, cfg in enumerate(data["tactics"]) if TACTICS[cfg["type"]].acts_in_burn_in
    ]
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def adopt(model: MarketModel, scenario: Scenario) -> MarketModel:
    """Turn a model at day 0 into one for `scenario` (same burn-in key), as if built from it."""
    if model.day != 0:
        raise ValueError(f"adopt needs a model at day 0, not day {model.day}")
    kept = {i: t for i, t in enumerate(model.tactics) if type(t).acts_in_burn_in}
    model.config = scenario
    # Nothing is booked during burn-in, so fresh accounts lose nothing.
    model.accounts = Accounts([cfg.label for cfg in scenario.tactics])
    model.accounts.recording = False
    # Streams of tactics that had not acted restart from the root seed.
    keep_streams = {f"tactic:{t.name}" for t in kept.values()}
    for name in model.streams.names():
        if name.startswith("tactic:") and name not in keep_streams:
            model.streams.forget(name)
    tactics = []
    for i, cfg in enumerate(scenario.tactics):
        if i in kept:
            tactics.append(kept[i])
            continue
        tactic = TACTICS[cfg.type](cfg, model.streams[f"tactic:{cfg.label}"])
        tactic.init(model)
        tactics.append(tactic)
    model.tactics = tactics
    return model


class BurnInCache:
    """The day-0 state of recent (burn-in key, seed) pairs, least recently used first out."""

    def __init__(self, maxsize: int = 6):
        self.maxsize = maxsize
        self._states: OrderedDict[str, bytes] = OrderedDict()
        self.hits = self.misses = 0

    def model_at_day_0(self, scenario: Scenario) -> MarketModel:
        key = burn_in_key(scenario)
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
            self.hits += 1
            return adopt(pickle.loads(state), scenario)
        self.misses += 1
        model = MarketModel(scenario)
        while model.day < 0:
            model.step()
        self._states[key] = dump_state(model)
        while len(self._states) > self.maxsize:
            self._states.popitem(last=False)
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
    def reducer_override(self, obj: object):
        return _canonical_reduce(obj)


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

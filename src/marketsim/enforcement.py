"""Detection and arrest (design §4, police units).

A dealer is seen with hazard detection_rate x officer-hours on the pitch x
visibility x (1 + guardianship bonus); open dealing is also seen from the
neighbouring cells. The unit that saw it arrests, unless the order it works
under says otherwise (`effect="deter"`, or an `on_detect` handler such as
diversion), and while it has time left for custody processing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim.accounts import REACTIVE
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.fields import box_sum

if TYPE_CHECKING:
    from marketsim.model import MarketModel
    from marketsim.tactics.base import Order


def enforce(model: MarketModel, rng: np.random.Generator) -> None:
    _street_arrests(model, rng)
    _targeted_arrests(model, rng)
    _crime_arrests(model, rng)


def _covering_unit(model: MarketModel, cells: np.ndarray) -> np.ndarray:
    """For each given cell, a unit on it, else a unit on a neighbouring cell, else -1."""
    town = model.town
    cell_unit = model.police.cell_unit
    x, y = town.cell_x[cells], town.cell_y[cells]
    found = cell_unit[cells].copy()
    for dx, dy in ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)):
        nx, ny = x + dx, y + dy
        ok = (found < 0) & (nx >= 0) & (nx < town.width) & (ny >= 0) & (ny < town.height)
        found[ok] = cell_unit[nx[ok] * town.height + ny[ok]]
    return found


def _street_arrests(model: MarketModel, rng: np.random.Generator) -> None:
    pc = model.config.police
    d, town, police = model.dealers, model.town, model.police
    hours = model._police_hours
    act = d.active()
    if act.size == 0 or not hours.any():
        return
    cells = d.cell[act]
    around = box_sum(hours.reshape(town.width, town.height), 1).ravel()[cells]
    seen_hours = np.where(d.open[act], hours[cells] + 0.25 * (around - hours[cells]), hours[cells])
    vis = np.where(d.open[act], 1.0, model.config.dealers.closed_visibility)
    guard = 1.0 + pc.guardianship_detection * town.guardianship.ravel()[cells]
    hazard = pc.detection_rate * model.levers.detection * seen_hours * vis * guard
    detected = act[rng.random(act.size) < 1.0 - np.exp(-hazard)]
    if detected.size == 0:
        return
    unit = _covering_unit(model, d.cell[detected])
    detected, unit = detected[unit >= 0], unit[unit >= 0]
    by_order: dict[int, tuple[Order, list[int], list[int]]] = {}
    for r, un in zip(detected, unit, strict=True):
        order = police.unit_order[un]
        if order is None or order.effect == "deter":
            continue
        entry = by_order.setdefault(id(order), (order, [], []))
        entry[1].append(int(r))
        entry[2].append(int(un))
    for order, rows, units in by_order.values():
        rows_a = np.array(rows, dtype=np.int64)
        units_a = np.array(units, dtype=np.int64)
        if order.on_detect is not None:
            keep = order.on_detect(model, rows_a)
            mask = np.isin(rows_a, keep)
            rows_a, units_a = rows_a[mask], units_a[mask]
        rank = _priority(model, rows_a, order.arrest_priority, rng)
        for i in rank:
            un = int(units_a[i])
            if police.can_arrest(un) and d.state[rows_a[i]] == D.ACTIVE:
                police.book_arrest(un)
                model.arrest_dealer(int(rows_a[i]), rng, by=order.tactic)


def _priority(
    model: MarketModel, rows: np.ndarray, how: str, rng: np.random.Generator
) -> np.ndarray:
    """Order in which detected dealers are arrested when time is short."""
    if rows.size == 0:
        return np.empty(0, dtype=np.int64)
    noise = rng.random(rows.size)
    if how == "open_first":
        return np.lexsort((noise, ~model.dealers.open[rows]))
    if how == "harm":
        return np.argsort(-model.dealer_harm_score(rows), kind="stable")
    return np.argsort(noise)


def _targeted_arrests(model: MarketModel, rng: np.random.Generator) -> None:
    """Covert work on named targets: each active target is arrested with the order's daily chance."""
    d = model.dealers
    for order in model.police.today_orders:
        if order.targets.size == 0 or order.target_prob <= 0:
            continue
        live = order.targets[d.state[order.targets] == D.ACTIVE]
        hit = live[rng.random(live.size) < order.target_prob]
        for r in hit:
            model.arrest_dealer(int(r), rng, by=order.tactic)


def _crime_arrests(model: MarketModel, rng: np.random.Generator) -> None:
    """Users caught for acquisitive crime: arrest, maybe prosecution and a short sentence."""
    pc = model.config.police
    u = model.users
    rows, cells = model._crime_arrests
    for ur, cell in zip(rows, cells, strict=True):
        if u.state[ur] != U.ACTIVE:
            continue
        model.tally.add("arrests", int(cell))
        model.ledger.add("arrest", int(cell))
        model.accounts.add(REACTIVE, "arrests")
        if u.children[ur]:
            model.ledger.add("children_affected", int(cell), float(u.children[ur]))
            model.accounts.add(REACTIVE, "children_affected", float(u.children[ur]))
        u.adverse_until[ur] = model.day + 30
        if model.recording:
            u.arrests[ur] += 1
        if rng.random() >= pc.charge_prob:
            continue
        model.tally.add("prosecutions", int(cell))
        model.ledger.add("prosecution", int(cell))
        model.accounts.add(REACTIVE, "prosecutions")
        # User-dealers are jailed only for dealing (on their dealer row), so that a
        # person is never in custody twice; here they are arrested and charged only.
        if u.dealer[ur] < 0 and rng.random() < pc.custody_prob_user:
            model._leave_treatment(int(ur))
            u.state[ur] = U.PRISON
            u.arrested_by[ur] = model.accounts.index(REACTIVE)
            u.release_day[ur] = model.day + max(
                1, int(round(pc.sentence_user * rng.lognormal(0, 0.5)))
            )
    model._crime_arrests = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

"""Phase 7, enforcement (ODD §7): detection and arrest (design §4, police units).

A dealer is seen with hazard detection_rate x officer-hours on the pitch x
visibility x (1 + guardianship bonus) x the attention officers still pay to a
beat they have long worked; open dealing is also seen from the
neighbouring cells. The unit that saw it arrests, unless the order it works
under says otherwise (`effect="deter"`, or an `on_detect` handler such as
diversion), and while it has time left for custody processing.
"""

from __future__ import annotations

import numpy as np

from marketsim import events, kernels
from marketsim.agents import dealer as D
from marketsim.agents.police import Order
from marketsim.rng import stream_state
from marketsim.state import World


def run(world: World) -> None:
    rng = world.streams["enforcement"]
    _street_arrests(world, rng)
    _targeted_arrests(world, rng)
    _crime_arrests(world, rng)


def _covering_unit(world: World, cells: np.ndarray) -> np.ndarray:
    """For each given cell, a unit on it, else a unit on a neighbouring cell, else -1."""
    town = world.town
    return kernels.covering_unit(
        town.cell_x[cells], town.cell_y[cells], world.police.cell_unit, town.width, town.height
    )


def _street_arrests(world: World, rng: np.random.Generator) -> None:
    pc = world.config.police
    d, town, police = world.dealers, world.town, world.police
    hours = world.police_hours
    # Officer-hours seen at the pitch (open dealing also from the neighbouring cells),
    # visibility and guardianship; officers' attention flags on a beat they have long
    # worked (Sherman 1990's crackdown decay): detection falls with the officer-hours
    # already spent around the pitch. The active dealers and their terms in one call
    # (kernels.street_exposure, kernels.detection_exposure; none without officer-hours).
    pr = np.empty(kernels.N_DETECTION_PARAMS)
    pr[kernels.DE_RATE] = pc.detection_rate * world.levers.detection
    pr[kernels.DE_CLOSED_VISIBILITY] = world.config.dealers.closed_visibility
    pr[kernels.DE_GUARD_BONUS] = pc.guardianship_detection
    pr[kernels.DE_FATIGUE] = pc.attention_fatigue
    act, exposure, fatigue = kernels.street_exposure(
        d.view("state"),
        D.ACTIVE,
        d.cell,
        d.open,
        hours,
        town.width,
        town.height,
        town.guardianship.ravel(),
        world.hours_seen,
        pr,
    )
    if act.size == 0:
        return
    hazard = exposure * np.exp(fatigue)
    # Seen with chance 1 - exp(-hazard), by a unit on the pitch or next to it (the one
    # that makes the arrest), else not at all (kernels.detect_dealers, drawing from the
    # enforcement stream's state; _covering_unit).
    with stream_state(rng) as (pcg, _spare):
        detected, unit = kernels.detect_dealers(
            pcg,
            act,
            np.exp(-hazard),
            d.cell,
            town.cell_x,
            town.cell_y,
            police.cell_unit,
            town.width,
            town.height,
        )
    if detected.size == 0:
        return
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
            keep = order.on_detect(world, rows_a)
            mask = np.isin(rows_a, keep)
            rows_a, units_a = rows_a[mask], units_a[mask]
        rank = _priority(world, rows_a, order.arrest_priority, rng)
        for i in rank:
            un = int(units_a[i])
            if police.can_arrest(un) and d.state[rows_a[i]] == D.ACTIVE:
                police.book_arrest(un)
                events.arrest_dealer(world, int(rows_a[i]), rng, by=order.tactic)


def _priority(world: World, rows: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """Order in which detected dealers are arrested when time is short."""
    if rows.size == 0:
        return np.empty(0, dtype=np.int64)
    noise = rng.random(rows.size)
    if how == "open_first":
        return np.lexsort((noise, ~world.dealers.open[rows]))
    if how == "harm":
        return np.argsort(-world.harm_score(rows), kind="stable")
    return np.argsort(noise)


def _targeted_arrests(world: World, rng: np.random.Generator) -> None:
    """Covert work on named targets: each active target is arrested with the order's daily chance."""
    d = world.dealers
    for order in world.police.today_orders:
        if order.targets.size == 0 or order.target_prob <= 0:
            continue
        live = order.targets[d.state[order.targets] == D.ACTIVE]
        hit = live[rng.random(live.size) < order.target_prob]
        for r in hit:
            events.arrest_dealer(world, int(r), rng, by=order.tactic)


def _crime_arrests(world: World, rng: np.random.Generator) -> None:
    """Users caught for acquisitive crime today (trade phase) are arrested, those still active."""
    rows, cells = world.crime_arrests
    if rows.size:
        events.arrest_users(world, rows, cells, rng)
    world.crime_arrests = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

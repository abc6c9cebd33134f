"""Targeting: which cells, people or crews a tactic acts on.

Kept apart from delivery (when) and effect (what happens), so tactics can share
them: an area, the hottest cells, or dealers and crews ranked by a score.
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.agents import dealer as D
from marketsim.areas import AreaSpec
from marketsim.state import World
from marketsim.tactics.configs.base import CellRanking, DealerRanking


def area_cells(world: World, area: AreaSpec | None, field: str = "tactic.area") -> np.ndarray:
    """Flat cell indices of an area; None means the scenario's target region."""
    if area is None:
        return np.flatnonzero(world.town.region_masks["target"])
    return np.flatnonzero(world.town.area_mask(area, field).ravel())


def top_cells(
    world: World, k: int, by: CellRanking, within: np.ndarray | None = None
) -> np.ndarray:
    """The k cells that score highest: market reputation, recent weighted harm, or open dealing now."""
    town = world.town
    if by == "reputation":
        score = town.layer("reputation").ravel().copy()
    elif by == "harm":
        score = world.harm_heat.copy()
    else:
        act = world.dealers.active()
        score = np.bincount(
            world.dealers.cell[act[world.dealers.open[act]]], minlength=town.n_cells
        ).astype(float)
    if within is not None:
        mask = np.zeros(town.n_cells, dtype=bool)
        mask[within] = True
        score[~mask] = -np.inf
    order = np.argsort(-score, kind="stable")[:k]
    return order[np.isfinite(score[order]) & (score[order] > 0)]


def dealer_scores(world: World, rows: np.ndarray, by: DealerRanking) -> np.ndarray:
    """What police intelligence ranks dealers by: known recent violence, the harm score
    (UKDPC 2009 ch. 4), or volume, the sales a day over the recorded period (the
    traditional target of drug squads: the biggest traders, design §9 fact 10)."""
    d = world.dealers
    if by == "violence":
        return d.incidents_recent[rows]
    if by == "volume":
        return d.sales_total[rows] / np.maximum(d.days_active[rows], 1)
    return world.harm_score(rows)


def crew_scores(world: World, by: DealerRanking) -> dict[int, float]:
    """Score each crew with active members: the sum of its members' scores (dealer_scores)."""
    d = world.dealers
    act = d.active()
    crews = d.crew[act]
    in_crew = crews >= 0
    if not in_crew.any():
        return {}
    values = dealer_scores(world, act, by)
    ids, inverse = np.unique(crews[in_crew], return_inverse=True)
    totals = np.bincount(inverse, weights=values[in_crew])
    return {int(c): float(t) for c, t in zip(ids, totals, strict=True)}


def ranked_crews(world: World, by: DealerRanking, k: int) -> list[int]:
    """The k highest-scoring crews (ties broken by crew id, so the ranking is reproducible)."""
    scores = crew_scores(world, by)
    ranked = sorted(scores, key=lambda c: (-scores[c], c))
    return [c for c in ranked if scores[c] > 0][:k]


def crew_members(world: World, crews: list[int] | np.ndarray, states=(D.ACTIVE,)) -> np.ndarray:
    """Dealer rows belonging to the given crews, in the given states (kernels.crew_members;
    np.isin sorts, and this runs every day)."""
    d = world.dealers
    return kernels.crew_members(
        d.view("crew"),
        d.view("state"),
        np.asarray(list(crews), dtype=np.int64),
        np.asarray(states, dtype=d.state.dtype),
    )

"""Closed-market formation under pressure (fact 9, ODD §7): risk that follows a known
dealer (Jacobs 1996), buyers who phone more when the street they would use is policed
and who are given numbers when the street fails them (May & Hough 2004)."""

from __future__ import annotations

import numpy as np
import pytest

from marketsim.agents import user as U
from marketsim.model import MarketModel
from marketsim.phases import dealers, trade
from marketsim.phases.dealers import pitch_value
from tests.conftest import small


def model(seed: int = 0, **overrides) -> MarketModel:
    overrides.setdefault("burn_in", 0)
    return MarketModel(small(**overrides), seed=seed)


def quiet_pitches(m: MarketModel, n: int) -> np.ndarray:
    """n cells with no police presence or deterrence (the small model starts with none)."""
    assert not m.world.police_near.any()
    return np.arange(n) * 7 % m.town.n_cells


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_known_dealers_carry_their_risk_to_any_open_pitch(share):
    m = model(dealers__known_risk_share=share)
    cand = quiet_pitches(m, 4)[None, :]
    own = np.array([0.6])
    cost = m.config.dealers.risk_cost
    for is_open in (True, False):
        mode = np.array([is_open])
        free = pitch_value(m.world, cand, mode, own_risk=np.array([0.0]))
        known = pitch_value(m.world, cand, mode, own_risk=own)
        # Column 0 is the dealer's own pitch, where its whole risk applies in any mode.
        factor = 1.0 if is_open else m.config.dealers.closed_risk
        assert free[0, 0] - known[0, 0] == pytest.approx(cost * 0.6 * factor)
        # Elsewhere, only open dealing carries the known share with it.
        carried = share * 0.6 if is_open else 0.0
        np.testing.assert_allclose(free[0, 1:] - known[0, 1:], cost * carried)


def dealers_under_pressure(share: float, seed: int) -> tuple[int, int]:
    """Every dealer has perceived risk 0.6 on a quiet town and many customers: how many
    of those reviewing their pitch move, and how many go closed where they are."""
    m = model(seed, dealers__known_risk_share=share, dealers__relocation_prob=1.0)
    d = m.dealers
    act = d.active()
    d.open[act] = True
    d.risk[act] = 0.6
    m.world.police_near[d.cell[act]] = 20.0  # their pitches are watched
    held = np.full(d.n, 50)
    before = d.cell[act].copy()
    dealers.relocate(m.world, m.world.streams["dealers"], held)
    return int((d.cell[act] != before).sum()), int((~d.open[act]).sum())


def test_risk_that_follows_the_dealer_turns_moving_into_closing():
    """Over 6 seeds (40 dealers each): with no known risk most reviewing dealers
    move to a quiet pitch; with all of it known, moving sheds nothing and more go closed.
    The gap is large (tens of dealers per seed), so a margin of 1.5x is safe."""
    moved = {0.0: 0, 1.0: 0}
    closed = {0.0: 0, 1.0: 0}
    for seed in range(6):
        for share in moved:
            mv, cl = dealers_under_pressure(share, seed)
            moved[share] += mv
            closed[share] += cl
    assert closed[1.0] > 1.5 * closed[0.0], closed
    assert moved[1.0] < moved[0.0], moved


def active_buyers(m: MarketModel) -> np.ndarray:
    return np.flatnonzero(m.users.view("state") == U.ACTIVE)


def test_buyers_phone_more_when_the_street_they_use_is_policed():
    m = model(seed=2, users__street_wariness=3.0)
    buyers = active_buyers(m)
    cu = m.config.users
    known = m.town.layer("reputation")
    known[:] = 0.0
    known[8:12, 8:12] = 1.0  # the market is known to trade in the middle of town
    calm = trade.contact_use(m.world, buyers)
    # No police anywhere: only failed searches raise contact use above its base.
    expected = 1 - (1 - cu.contact_use_prob) * (1 - m.users.search[buyers])
    np.testing.assert_allclose(calm, expected)
    # Police on the known market: buyers within reach read the risk and call more.
    market = np.flatnonzero(known.ravel() > 0)
    m.world.police_near[market] = 10.0
    risk = trade.street_risk(m.world)[m.users.home[buyers]]
    reach = risk > 0
    assert reach.mean() > 0.9 and risk[reach].min() > 0.5
    policed = trade.contact_use(m.world, buyers)
    np.testing.assert_allclose(
        policed, 1 - (1 - expected) * np.exp(-cu.street_wariness * risk), rtol=1e-12
    )
    assert (policed[reach] > calm[reach]).all()


def test_street_risk_is_the_risk_where_the_market_is_known_to_trade():
    """Two known markets, one policed: a home next to the policed one reads a risk near
    that place's, one next to the quiet one near zero; a home out of reach of both reads
    none. Police where no market is known do not count."""
    m = model(seed=1, users__search_radius=6)
    town = m.town
    known = town.layer("reputation")
    known[:] = 0.0
    a, b = town.flat(2, 2), town.flat(17, 17)
    known.ravel()[[a, b]] = 1.0
    m.world.police_near[a] = 10.0
    m.world.police_near[town.flat(2, 17)] = 10.0  # no market there
    risk = trade.street_risk(m.world)
    at_a = 1 - np.exp(-(m.world.credibility * dealers.presence(m.world))[a])
    assert risk[town.flat(3, 3)] == pytest.approx(at_a, rel=1e-6)
    assert risk[town.flat(16, 16)] == pytest.approx(0.0, abs=1e-9)
    assert risk[town.flat(2, 16)] == pytest.approx(0.0, abs=1e-9)


def test_buyers_who_went_without_are_given_a_phone_buyers_number():
    m = model(seed=0, users__referral_prob=1.0)
    u = m.users
    u.contacts[:4] = -1
    u.contacts[2] = [7, -1, -1]
    buyers = np.array([0, 1, 2, 3])
    seller = np.array([-1, -1, -1, 5])  # 0-2 went without; 3 phoned dealer 5
    via_open = np.array([False, False, False, False])
    trade.refer(m.world, np.random.default_rng(0), buyers, seller, via_open)
    assert list(u.contacts[0]) == [5, -1, -1]
    assert list(u.contacts[1]) == [5, -1, -1]
    assert list(u.contacts[2]) == [7, 5, -1]  # the first free slot
    assert list(u.contacts[3]) == [-1, -1, -1]  # the phone buyer itself gains nothing
    # A street purchase vouches for no one; referral off gives no numbers.
    u.contacts[:4] = -1
    trade.refer(m.world, np.random.default_rng(0), buyers, seller, np.ones(4, dtype=bool))
    assert (u.contacts[:4] == -1).all()
    off = model(seed=0, users__referral_prob=0.0)
    off.users.contacts[:4] = -1
    trade.refer(off.world, np.random.default_rng(0), buyers, seller, via_open)
    assert (off.users.contacts[:4] == -1).all()


def test_a_full_contact_list_gets_a_new_number_in_a_random_slot_without_duplicates():
    m = model(seed=0, users__referral_prob=1.0)
    contacts = m.users.contacts
    contacts[:2] = [[1, 2, 3], [4, 5, 6]]
    no_street = np.zeros(2, dtype=bool)
    # User 0 went without while user 10 phoned dealer 9; then user 1 while 11 phoned 5.
    for who, dealer in ((0, 9), (1, 5)):
        buyers, seller = np.array([who, 10]), np.array([-1, dealer])
        trade.refer(m.world, np.random.default_rng(3), buyers, seller, no_street)
    assert sorted(contacts[0]).count(9) == 1 and len(set(contacts[0]) & {1, 2, 3}) == 2
    assert list(contacts[1]) == [4, 5, 6]  # already held: unchanged

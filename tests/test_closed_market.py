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
    """With no memory (users.wariness_memory 0) and exponent 1 buyers read today's street risk."""
    m = model(
        seed=2, users__street_wariness=3.0, users__wariness_memory=0.0, users__wariness_exponent=1.0
    )
    buyers = active_buyers(m)
    cu = m.config.users
    known = m.town.layer("reputation")
    known[:] = 0.0
    known[8:12, 8:12] = 1.0  # the market is known to trade in the middle of town
    trade.update_street_alarm(m.world)
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
    trade.update_street_alarm(m.world)
    policed = trade.contact_use(m.world, buyers)
    np.testing.assert_allclose(
        policed, 1 - (1 - expected) * np.exp(-cu.street_wariness * risk), rtol=1e-12
    )
    assert (policed[reach] > calm[reach]).all()


def test_buyers_alarm_builds_and_fades_with_its_memory():
    """Under a steady street risk the alarm after k days is (1 - m^k) x the risk (from none),
    and once the police go it fades by m a day; a month's pressure alarms buyers far less
    than a year's (May & Hough 2004: reliance on known sellers builds over time)."""
    memory = 0.99
    m = model(seed=2, users__street_wariness=3.0, users__wariness_memory=memory)
    known = m.town.layer("reputation")
    known[:] = 0.0
    known[8:12, 8:12] = 1.0
    market = np.flatnonzero(known.ravel() > 0)
    m.world.police_near[market] = 10.0
    risk = trade.street_risk(m.world)
    m.world.street_alarm[:] = 0.0
    for _ in range(30):
        trade.update_street_alarm(m.world)
    month = m.world.street_alarm.copy()
    np.testing.assert_allclose(month, (1 - memory**30) * risk, rtol=1e-9, atol=1e-15)
    for _ in range(335):
        trade.update_street_alarm(m.world)
    year = m.world.street_alarm.copy()
    reach = risk > 0.5
    assert reach.sum() > 10
    assert (year[reach] > 2.5 * month[reach]).all()
    m.world.police_near[:] = 0.0
    calm = trade.street_risk(m.world)
    assert calm.max() < 1e-9
    trade.update_street_alarm(m.world)
    np.testing.assert_allclose(m.world.street_alarm, memory * year + (1 - memory) * calm)


def test_a_brief_scare_moves_fewer_buyers_onto_the_phone_than_its_share_of_a_long_one():
    """With exponent 2 the wariness grows with the square of the alarm: an alarm a tenth of
    another moves about a hundredth as many (exp(-w a^2)), where exponent 1 moves a tenth."""
    m = model(seed=2, users__street_wariness=10.0, users__wariness_exponent=2.0)
    n = m.town.n_cells
    m.world.street_alarm = np.full(n, 0.05)
    brief = -np.log(trade._street_keep(m.world))
    m.world.street_alarm = np.full(n, 0.5)
    long = -np.log(trade._street_keep(m.world))
    np.testing.assert_allclose(brief, 10.0 * 0.05**2)
    np.testing.assert_allclose(brief / long, 0.01)


def test_buyers_who_are_not_wary_keep_no_alarm():
    m = model(seed=2, users__street_wariness=0.0)
    m.world.police_near[:] = 10.0
    trade.update_street_alarm(m.world)
    assert not m.world.street_alarm.any()
    buyers = active_buyers(m)
    expected = 1 - (1 - m.config.users.contact_use_prob) * (1 - m.users.search[buyers])
    np.testing.assert_allclose(trade.contact_use(m.world, buyers), expected)


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

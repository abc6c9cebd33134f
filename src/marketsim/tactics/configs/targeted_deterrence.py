"""The `targeted_deterrence` tactic's parameters: what its YAML entry may say (behaviour: tactics/targeted_deterrence.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.params import param
from marketsim.tactics.configs.base import TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt ch. 3"
BRAGA = "Braga et al. 2001 (Ceasefire), in " + S001


class TargetedDeterrenceConfig(TacticConfig):
    type: Literal["targeted_deterrence"] = "targeted_deterrence"
    sliders: ClassVar[tuple[str, ...]] = ("crews_notified", "lever_severity", "message_reach")
    # targeting
    crews_notified: int = param(
        5,
        ge=1,
        le=500,
        unit="crews",
        doc="crews called in at each call-in: the most violent by recent known incidents",
        source=f"{BRAGA}: the gangs in the violence; calibration judgement",
    )
    message_reach: float = param(
        0.8,
        ge=0,
        le=1,
        unit="probability",
        doc="chance each active member of a called-in crew hears the message",
        source="calibration judgement: forums plus outreach workers reach most members",
    )
    call_in_every: int | None = param(
        180,
        ge=1,
        le=3650,
        unit="days",
        doc="days between call-ins (none: a single call-in at the start)",
        source=f"{BRAGA}: forums were repeated as groups changed; calibration judgement",
    )
    call_in_officer_days: float = param(
        10.0,
        ge=0,
        le=10000,
        unit="officer-days",
        doc="police time to prepare and hold one call-in",
        source="calibration judgement",
    )
    # effect
    lever_severity: float = param(
        2.0,
        ge=0,
        le=20,
        unit="hazard log-reduction at full credibility",
        doc="how much the levers weigh: deterrent = credibility x severity; hazard x exp(-deterrent)",
        source=f"calibration judgement: severity 2 at credibility 0.5 cuts a told member's "
        f"violence by 63% ({BRAGA})",
    )
    credibility_start: float = param(
        0.5,
        ge=0,
        le=1,
        unit="probability",
        doc="credibility of the threat at the first call-in (dealers' belief it will be carried out)",
        source="calibration judgement",
    )
    credibility_gain: float = param(
        0.2,
        ge=0,
        le=1,
        unit="fraction of the gap to 1",
        doc="rise in credibility with each follow-through delivered",
        source=f"{BRAGA}: the message was made credible by acting on it; calibration judgement",
    )
    credibility_half_life: float = param(
        90.0,
        gt=0,
        le=3650,
        unit="days",
        doc="half-life of credibility without follow-through",
        source="calibration judgement (Tita et al. 2003: without follow-through the effect faded)",
    )
    # delivery: follow-through
    response_capacity: int = param(
        2,
        ge=1,
        le=500,
        unit="crews",
        doc="crews that can be under a follow-through response at once",
        source="calibration judgement",
    )
    response_delay: int = param(
        7,
        ge=0,
        le=365,
        unit="days",
        doc="days from an incident to the response starting (swift, not instant)",
        source=f"{S001}: 'a swift and heavy response'; calibration judgement",
    )
    response_days: int = param(
        14,
        ge=1,
        le=365,
        unit="days",
        doc="days each response lasts",
        source="calibration judgement",
    )
    response_units: int = param(
        2,
        ge=0,
        le=2000,
        unit="officer-days per day per crew",
        doc="police time committed to each crew under response (covert: no street presence)",
        source="calibration judgement",
    )
    response_arrest_prob: float = param(
        0.05,
        ge=0,
        le=1,
        unit="per member per day",
        doc="daily chance each active member of a crew under response is arrested",
        source="calibration judgement: about half the crew arrested over a 14-day response",
    )
    civil_order_cost: float = param(
        1000.0,
        ge=0,
        le=1e7,
        unit="GBP per response",
        doc="money spent on civil orders and other non-police levers per response",
        source="calibration judgement",
    )

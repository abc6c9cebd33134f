"""The tactics a partnership may combine: every tactic but partnership itself."""

from __future__ import annotations

from marketsim.tactics.base import Tactic
from marketsim.tactics.crackdown import Crackdown
from marketsim.tactics.diversion import Diversion
from marketsim.tactics.harm_targeting import HarmTargeting
from marketsim.tactics.hotspot_patrol import HotspotPatrol
from marketsim.tactics.place_guardianship import PlaceGuardianship
from marketsim.tactics.standard_patrol import StandardPatrol
from marketsim.tactics.targeted_deterrence import TargetedDeterrence
from marketsim.tactics.treatment_expansion import TreatmentExpansion

PARTS: dict[str, type[Tactic]] = {
    "standard_patrol": StandardPatrol,
    "crackdown": Crackdown,
    "hotspot_patrol": HotspotPatrol,
    "place_guardianship": PlaceGuardianship,
    "targeted_deterrence": TargetedDeterrence,
    "harm_targeting": HarmTargeting,
    "diversion": Diversion,
    "treatment_expansion": TreatmentExpansion,
}

"""Tactic plug-ins and the one explicit registry behind YAML `type:`."""

from marketsim.tactics.base import Order, Tactic, TacticConfig
from marketsim.tactics.crackdown import Crackdown
from marketsim.tactics.standard_patrol import StandardPatrol

TACTICS: dict[str, type[Tactic]] = {
    "standard_patrol": StandardPatrol,
    "crackdown": Crackdown,
}

__all__ = ["TACTICS", "Order", "Tactic", "TacticConfig"]

"""The one explicit registry behind YAML `type:`: tactic behaviour classes."""

from __future__ import annotations

from marketsim.tactics.base import Tactic
from marketsim.tactics.partnership import Partnership
from marketsim.tactics.parts import PARTS

TACTICS: dict[str, type[Tactic]] = {**PARTS, "partnership": Partnership}

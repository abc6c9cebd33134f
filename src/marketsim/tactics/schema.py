"""The registry of tactic parameter schemas behind YAML `type:` (no behaviour imported)."""

from __future__ import annotations

from marketsim.tactics.configs.base import TacticConfig
from marketsim.tactics.configs.partnership import PARTS, PartnershipConfig

CONFIGS: dict[str, type[TacticConfig]] = {**PARTS, "partnership": PartnershipConfig}

__all__ = ["CONFIGS", "TacticConfig"]

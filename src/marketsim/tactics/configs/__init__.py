"""Tactic parameters (the scenario schema's part for each tactic), one module per tactic.

These modules import no behaviour, so loading a scenario never imports what a
tactic does; `marketsim.tactics.schema.CONFIGS` is their registry.
"""

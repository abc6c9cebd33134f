"""Tactic plug-ins: behaviour in `<type>.py`, parameters in `configs/<type>.py`.

Registries: `schema.CONFIGS` (parameters, read by the scenario schema) and
`registry.TACTICS` (behaviour, read by the model). A config class also declares
the tactic's workshop sliders and the timeseries columns it adds. Adding a tactic
is its two files, one line in each registry, and its page in docs/tactics/
(docs/odd.md §7.18).
"""

"""The experiment layer: comparisons, sweeps and sensitivity analyses over the model.

Kept apart from the model, as the EMA workbench keeps uncertainties, levers,
outcomes and evaluators apart: an experiment file names what to vary
(`spec.py`), a design turns it into runs (`design.py`), runners execute them
(`runners.py`, `jobs.py`), each result is stored as it completes (`store.py`),
and reports read the store (`compare.py`, `report.py`, `sensitivity.py`).
"""

"""The pilot planner: design and size a pilot before deployment (`marketsim pilot`).

`spec.py` reads a pilot file (tactic, areas, duration, measures and how they are
observed); `commands.run_pilot` simulates the pilot and the same town without it
on paired seeds; `analysis.py` turns the runs into power, minimum detectable
effects, the size needed, the risk of a misleading result, unintended
consequences and value for money, with the tests in `stats.py`; `report.py`
writes pilot.md and its plots.
"""

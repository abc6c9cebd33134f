"""marketsim: an agent-based simulator of local illicit drug markets.

It tests how enforcement tactics reshape a market and what that does to the net
harm a community suffers (UKDPC 2009).

The Python API (marketsim.api) is available from here without importing the
model at `import marketsim`:

    import marketsim
    result = marketsim.run("crackdown", seed=1)
    result.timeseries, result.summary, result.model
"""

__version__ = "0.1.0"

# The model's behaviour: bumped with every change that alters what a scenario and seed
# give (scripts/refresh_regression.py refuses to refresh the regression baseline without
# it). Result stores record it and refuse to resume results another revision made, which
# the version and the parameter defaults alone do not catch.
MODEL_REVISION = "2026-12-07b"

# The public calls, loaded from marketsim.api on first use (PEP 562), so that
# `import marketsim` (and the CLI's start-up) does not import the model.
API = ("run", "load", "compare", "sweep", "sensitivity", "pilot", "RunResult", "ExperimentResult")
__all__ = ["MODEL_REVISION", "__version__", *API]


def __getattr__(name: str):
    if name in API:
        from marketsim import api

        return getattr(api, name)
    raise AttributeError(f"module 'marketsim' has no attribute {name!r}")

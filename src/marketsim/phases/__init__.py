"""The day's phases, one module each, each `run(world)`; `marketsim.plan` orders them."""

"""marketsim: an agent-based simulator of local illicit drug markets.

It tests how enforcement tactics reshape a market and what that does to the net
harm a community suffers (UKDPC 2009, seed 001).
"""

__version__ = "0.1.0"

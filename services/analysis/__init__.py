"""The analysis service: risk metrics and market regime.

The pure domain lives in :mod:`services.analysis.domain`; it takes plain pandas/numpy inputs
(price histories arrive over the bus from the market data service).
"""

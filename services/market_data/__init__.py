"""The market data service: prices and history from pluggable providers.

The pure domain lives in :mod:`services.market_data.domain`.
"""

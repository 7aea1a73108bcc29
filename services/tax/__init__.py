"""The tax service: holding periods, lot relief, wash sales, loss harvesting and realized gains.

The rules live in :mod:`services.tax.domain` (pure, synchronous, no bus); see ``README.md`` here.
"""

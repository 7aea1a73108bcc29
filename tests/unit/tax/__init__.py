"""Unit tests of services.tax.domain and the ``rebalance tax`` command."""

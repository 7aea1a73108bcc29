"""Portfolio service: accounts, tax lots, cash and targets; applies fills to the ledger."""

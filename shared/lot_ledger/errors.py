"""Errors of the lot ledger: the ``TaxDomainError`` branch of the one error tree, drawn in
:mod:`shared.errors`."""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["TaxDomainError", "TransactionError", "UnknownTaxYearError"]


class TaxDomainError(InvalidInputError, ValueError):
    """Base of the tax domain's errors."""


class TransactionError(TaxDomainError):
    """A transaction row is invalid or cannot be applied to the ledger (e.g. selling more than held)."""

    def __init__(self, problem: str, *, line: int | None = None) -> None:
        self.problem = problem
        self.line = line
        super().__init__(f"line {line}: {problem}" if line is not None else problem)


class UnknownTaxYearError(TaxDomainError):
    """The tax tables have no entry for the requested year."""

"""The one error tree of the system: every error raised on purpose descends from :class:`RebalancerError`.

RebalancerError                       the root (shared.errors)
├── InvalidInputError                 the sender must fix it: HTTP 400, CLI exit 2, bus: step-failed or DLQ
│   ├── NotFoundError                 an account, run or date that does not exist: HTTP 404
│   │   └── UnknownSecurityError      a symbol the securities master does not list (shared.securities)
│   ├── RefusedMessageError           a bus message not acted on (forged, not the step's owner): DLQ
│   ├── ContractError                 a bus message that does not decode to its contract (contracts.codec)
│   ├── MoneyError                    a value that is not an exact decimal amount (shared.money)
│   ├── AnalysisError                 risk inputs that cannot be used (analysis)
│   │   ├── WeightsError              weights that do not sum to 1, unknown symbols, not finite
│   │   ├── InsufficientDataError     too few observations for a statistic
│   │   └── RegimeDateError           a regime date outside the VIX / proxy history
│   ├── PlanningError                 inputs that cannot be planned (rebalancing)
│   │   ├── InvalidAccountError       a malformed account snapshot
│   │   ├── MissingPriceError         a security to value or trade has no price
│   │   ├── InvalidOptionsError       options that contradict each other or the mode
│   │   └── WithdrawalError           a withdrawal cannot be raised in full under the plan's constraints
│   ├── TaxDomainError                tax inputs that cannot be used (shared.lot_ledger)
│   │   ├── TransactionError          a transaction row that cannot be replayed (names the row)
│   │   └── UnknownTaxYearError       no tax table for the year
│   └── RiskInputError                a `rebalance risk` argument that cannot be used (cli)
├── MarketDataError                   market data (services.market_data.domain)
│   ├── UnknownSymbolError            no prices for a symbol (also NotFoundError)
│   ├── DateOutOfRangeError           a date or window outside the provider's data (also InvalidInputError)
│   ├── InvalidWindowError            a window whose start is after its end (also InvalidInputError)
│   ├── CalendarError                 a date outside the NYSE calendar's span (also InvalidInputError)
│   └── ProviderError                 the provider failed; retryable on a 5xx
│       ├── ProviderTimeoutError      every attempt timed out or failed to connect (also TransientError)
│       └── RateLimitedError          the provider kept answering 429 (also TransientError)
├── DomainError                       the rules forbid it (selling more than held); HTTP 409, not retryable
│   ├── BrokerAuthError               the broker refuses the credentials (execution)
│   └── TradingRefusedError           the run may not trade now (a reconciliation break, market closed)
├── SolverError                       the optimizer failed; the planner falls back to its heuristic
│   └── OsqpSolveError                OSQP returned no usable solution (rebalancing's QP backend)
└── TransientError                    may pass if tried again: HTTP 503, bus: redelivered, step retried
    ├── ConflictError                 a compare-and-set lost to a concurrent writer; re-read and re-apply
    └── BrokerError                   the broker did not answer usefully (network, 5xx, rate limit)

Classes that were a ``ValueError`` or ``KeyError`` stay one too (they also inherit it), so code that
catches those keeps working.

``retryable`` tells a service whether the coordinator should try the step again. Each edge maps the tree
once: HTTP by :func:`http_status`, the CLI by catching :class:`InvalidInputError` (exit 2), the bus by
:func:`is_retryable` (shared.bus.runtime).
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "RebalancerError",
    "RefusedMessageError",
    "SolverError",
    "TransientError",
    "http_status",
    "is_retryable",
]


class RebalancerError(Exception):
    """Base of the system's errors."""

    retryable: bool = False

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(message, *args)

    @property
    def message(self) -> str:
        """What went wrong, in words."""
        return str(self)


class InvalidInputError(RebalancerError):
    """Input that names a problem the sender must fix."""


class NotFoundError(InvalidInputError):
    """Something asked for does not exist."""


class RefusedMessageError(InvalidInputError):
    """A bus message a service will not act on (forged, sent by a service that does not own its step,
    fills that match no recorded order): dead-lettered with the reason, never answered."""


class DomainError(RebalancerError):
    """A business rule forbids the operation."""


class SolverError(RebalancerError):
    """The optimizer could not solve a problem (the caller falls back to another method)."""


class TransientError(RebalancerError):
    """A failure that may pass; the step may be retried."""

    retryable = True


class ConflictError(TransientError):
    """A compare-and-set write lost a race."""


def is_retryable(exc: BaseException) -> bool:
    """Whether a step that raised ``exc`` may be tried again.

    Errors of the system say so themselves; anything unexpected (a bug, a lost connection) is
    treated as retryable, bounded by the step's retry policy.
    """
    if isinstance(exc, RebalancerError):
        return exc.retryable
    return not isinstance(exc, (ValueError, TypeError, KeyError, ArithmeticError))


def http_status(exc: BaseException) -> int:
    """The HTTP status an error answers with: the one mapping of the tree at the HTTP edge."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 400
    if isinstance(exc, (DomainError, ConflictError)):
        return 409
    if isinstance(exc, TransientError):
        return 503
    return 500

"""The error hierarchy of the system.

RebalancerError             base of every error the system raises on purpose
├── InvalidInputError       a request, file or message field is wrong (HTTP 4xx, CLI exit 2, DLQ)
│   └── NotFoundError       an account, run, symbol or date that does not exist (HTTP 404)
├── DomainError             the rules forbid it (selling more than held, cash below reserve); not retryable
├── TransientError          may succeed if tried again (a timeout, a store conflict, a provider outage)
└── ConflictError           a compare-and-set lost to a concurrent writer; re-read and re-apply

``retryable`` tells a service whether the coordinator should try the step again.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "RebalancerError",
    "RefusedMessageError",
    "TransientError",
    "is_retryable",
]


class RebalancerError(Exception):
    """Base of the system's errors."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(RebalancerError):
    """Input that names a problem the sender must fix."""


class NotFoundError(InvalidInputError):
    """Something asked for does not exist."""


class RefusedMessageError(InvalidInputError):
    """A bus message a service will not act on (forged, sent by a service that does not own its step,
    fills that match no recorded order): dead-lettered with the reason, never answered."""


class DomainError(RebalancerError):
    """A business rule forbids the operation."""


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

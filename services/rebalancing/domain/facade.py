"""The one entry point: :func:`plan_rebalance`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from shared.securities import SecurityMaster, default_securities

from .book import build_book
from .cashflow import buy_only_intent, sell_only_intent
from .errors import InvalidOptionsError
from .finalize import finalize
from .harvest import harvest_intent
from .heuristic import heuristic_intent
from .intent import Intent
from .model import AccountSnapshot, Covariance, PlanOptions, RebalanceMode, TaxInputs
from .naive import naive_intent
from .optimizer import optimizer_intent
from .plan import RebalancePlan

__all__ = ["METHODS", "plan_rebalance"]

METHODS = ("optimizer", "heuristic", "naive")


def _check(options: PlanOptions) -> None:
    if options.method not in METHODS:
        raise InvalidOptionsError(f"method must be one of {', '.join(METHODS)}, not {options.method!r}")
    if options.withdraw_amount < 0:
        raise InvalidOptionsError("withdraw_amount is negative")
    if options.withdraw_amount > 0 and options.mode is not RebalanceMode.SELL_ONLY:
        raise InvalidOptionsError("withdraw_amount needs the sell-only mode")
    for name in ("min_trade", "improvement_threshold"):
        if getattr(options, name) < 0:
            raise InvalidOptionsError(f"{name} is negative")
    if options.max_trade_amount is not None and options.max_trade_amount <= 0:
        raise InvalidOptionsError("max_trade_amount must be positive")
    if options.turnover_cap is not None and options.turnover_cap < 0:
        raise InvalidOptionsError("turnover_cap is negative")


def plan_rebalance(
    account: AccountSnapshot,
    prices: Mapping[str, Decimal],
    *,
    as_of: date,
    options: PlanOptions,
    tax: TaxInputs | None = None,
    covariance: Covariance | None = None,
    securities: SecurityMaster | None = None,
) -> RebalancePlan:
    """Plan the trades that rebalance ``account`` at ``prices`` (dollars per share, ``close_unadj``)
    on ``as_of``.

    Full and threshold modes use the tax-aware optimizer (``options.method == "optimizer"``) and
    fall back to the heuristic when the solve fails (``solver`` says so); the cash-flow and harvest
    modes follow their rules. Raises :class:`~.errors.PlanningError` on bad input.
    """
    _check(options)
    book = build_book(account, prices, as_of=as_of, securities=securities or default_securities(), tax=tax)
    mode = options.mode
    intent: Intent
    if mode is RebalanceMode.BUY_ONLY:
        return finalize(book, options, tax, buy_only_intent(book, options, tax), solver="rules (buy-only)")
    if mode is RebalanceMode.SELL_ONLY:
        return finalize(book, options, tax, sell_only_intent(book, options, tax), solver="rules (sell-only)")
    if mode in (RebalanceMode.HARVEST, RebalanceMode.HARVEST_REINVEST):
        reinvest = mode is RebalanceMode.HARVEST_REINVEST
        return finalize(
            book,
            options,
            tax,
            harvest_intent(book, options, tax, reinvest=reinvest),
            solver="rules (harvest)",
        )
    if options.method == "naive":
        return finalize(book, options, tax, naive_intent(book), solver="naive proportional")
    if options.method == "heuristic":
        return finalize(book, options, tax, heuristic_intent(book, options, tax), solver="heuristic")
    try:
        intent, name = optimizer_intent(book, options, tax, covariance)
    except Exception as exc:  # any solver failure: the heuristic still gives a valid plan
        reason = f"{type(exc).__name__}: {exc}".strip()
        return finalize(
            book, options, tax, heuristic_intent(book, options, tax), solver=f"heuristic (fallback: {reason})"
        )
    return finalize(book, options, tax, intent, solver=name)

"""``rebalance plan`` on the household file's account format.

``rebalance plan`` reads its own account document (``taxable``, ``band``, ``target``, ``rates``, …) and
also, through :func:`plan_document`, what the system itself loads:

- a household file (``household_id``, ``tax_profile``, ``accounts``) or a book of households, with
  ``--account ID`` choosing the account (not needed when the file holds one account);
- one account object of a household file (``account_id``, ``account_type``, ``risk_tolerance`` or
  ``target``, ``rebalance_threshold``, ``lots``, …), planned with a default tax profile.

Both are read by the portfolio service's own parser (the same checks, the same messages naming the field)
and turned into the plan's document: the target from the model or the account's own, the band from
``rebalance_threshold`` (and ``band_relative``), the planning settings, the tax budget, and the short- and
long-term rates the tax step would use, computed from the household's tax profile for the plan's year
(zero in an IRA), and the lots a recent purchase anywhere in the household would wash if sold at a loss.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from contracts import AccountSnapshot
from services.portfolio.domain.household import parse_book
from services.tax.adapters import profile_of
from services.tax.domain.rates import RateOverrides, marginal_rates
from shared.errors import InvalidInputError
from shared.lot_ledger.ledger import WASH_WINDOW_DAYS
from shared.securities import default_securities

__all__ = ["is_household_format", "plan_document"]


def is_household_format(doc: Any) -> bool:
    """Whether ``doc`` is a household file, a book, or an account object of one (not the plan's own
    format, which says ``taxable`` and ``band``)."""
    if not isinstance(doc, dict):
        return False
    if "accounts" in doc or "households" in doc:
        return True
    return "taxable" not in doc and "band" not in doc and "account_id" in doc


def _chosen(doc: dict[str, Any], account_id: str | None) -> tuple[AccountSnapshot, list[AccountSnapshot]]:
    """The account to plan and every account of its household."""
    if "accounts" in doc or "households" in doc:
        book = parse_book(doc)
    else:  # one account object of a household file: its messages name the account, not a household
        try:
            book = parse_book({"household_id": "account-file", "accounts": [doc]})
        except InvalidInputError as exc:
            raise InvalidInputError(exc.message.replace("accounts[0]", "account", 1)) from None
    accounts = {state.account.account_id: state.account for _, states in book for state in states}
    if account_id is None:
        if len(accounts) != 1:
            found = ", ".join(accounts)
            raise InvalidInputError(f"--account: the file holds {len(accounts)} accounts ({found}); name one")
        account_id = next(iter(accounts))
    if account_id not in accounts:
        raise InvalidInputError(f"--account: no account {account_id!r} in the file (it holds {', '.join(accounts)})")
    chosen = accounts[account_id]
    return chosen, [a for a in accounts.values() if a.household_id == chosen.household_id]


def _washed_lots(account: AccountSnapshot, household: list[AccountSnapshot], as_of: date) -> list[str]:
    """The account's lots whose sale at a loss a purchase in the household (a lot acquired in the 30 days
    up to ``as_of``, in any of its accounts) of a substantially identical security would wash, as the
    tax step marks them; the planner then does not sell them at a loss."""
    securities = default_securities()
    earliest = as_of - timedelta(days=WASH_WINDOW_DAYS)
    recent = [lot.symbol for other in household for lot in other.lots if earliest <= lot.acquired <= as_of]
    return [
        lot.lot_id
        for lot in account.lots
        if any(securities.substantially_identical(lot.symbol, symbol) for symbol in recent)
    ]


def plan_document(doc: dict[str, Any], account_id: str | None, as_of: date) -> dict[str, Any]:
    """The plan's own account document for the household-format ``doc`` (see the module docstring)."""
    account, household = _chosen(doc, account_id)
    rates = {"short_term": "0", "long_term": "0"}
    if account.taxable:
        profile = account.tax_profile
        overrides = RateOverrides(
            federal_marginal_rate=profile.federal_short_term_rate, federal_long_term_rate=profile.federal_long_term_rate
        )
        marginal = marginal_rates(profile_of(profile), year=as_of.year, overrides=overrides)
        rates = {"short_term": str(marginal.short_term), "long_term": str(marginal.long_term)}
    plan: dict[str, Any] = {
        "account_id": account.account_id,
        "taxable": account.taxable,
        "cash": str(account.cash),
        "reserve": str(account.cash_reserve),
        "fractional": account.fractional,
        "target": {name: str(value) for name, value in account.target.items()},
        "band": str(account.rebalance_threshold),
        "rebalance_to": account.rebalance_to,
        "min_trade": str(account.min_trade),
        "restricted": list(account.restricted_symbols),
        "do_not_buy": sorted(symbol for symbol, until in account.do_not_buy.items() if until >= as_of),
        "rates": rates,
        "washed_lots": _washed_lots(account, household, as_of),
        "tax_budget": {
            "max_net_gain": None if account.max_realized_gain is None else str(account.max_realized_gain),
            "max_tax": None if account.max_estimated_tax is None else str(account.max_estimated_tax),
        },
        "lots": [
            {
                "lot_id": lot.lot_id,
                "symbol": lot.symbol,
                "shares": str(lot.shares),
                "cost_basis": str(lot.cost_basis),
                "acquired": lot.acquired.isoformat(),
            }
            for lot in account.lots
        ],
    }
    if account.band_relative is not None:
        plan["relative_band"] = str(account.band_relative)
    if account.turnover_cap is not None:
        plan["turnover_cap"] = str(account.turnover_cap)
    return plan

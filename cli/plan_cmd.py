"""``rebalance plan ACCOUNT.json``: plan the trades for one account, offline, from the shipped prices.

The account file holds ``account_id``, ``taxable``, ``cash``, ``lots`` (each ``lot_id``, ``symbol``,
``shares``, ``cost_basis`` as the lot's total, ``acquired``), ``target`` (asset class to percent) and
``band`` (points), and optionally ``rates`` {``short_term``, ``long_term``}, ``reserve``,
``min_trade``, ``improvement_threshold``, ``max_trade_amount``, ``turnover_cap``, ``fractional``,
``excluded``, ``restricted``, ``do_not_buy``, ``tax_budget`` {``max_net_gain``, ``max_tax``},
``relative_band``, ``rebalance_to``, ``security_targets``, ``harvest_min_loss``.
Prices are the latest ``close_unadj`` at or before ``--as-of`` in ``shared/data/market/prices``.
Bad input exits with code 2 and a message on stderr.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cli.plan_household import is_household_format, plan_document
from services.rebalancing.domain import (
    AccountSnapshot,
    Band,
    PlanOptions,
    RebalanceMode,
    RebalancePlan,
    RebalanceTo,
    TaxBudget,
    TaxInputs,
    TaxLot,
    harvest_candidates,
    plan_rebalance,
)
from shared.costs import cost_model_from
from shared.errors import InvalidInputError
from shared.fields import date_field, decimal_field, required
from shared.market_window import window_notice
from shared.securities import default_securities
from shared.settings import load_settings

__all__ = ["PRICES_DIR", "load_account", "price_history", "register"]

PRICES_DIR = Path(__file__).resolve().parent.parent / "shared" / "data" / "market" / "prices"
_MODES = [m.value for m in RebalanceMode]


InputError = InvalidInputError
"""The command's input is wrong; the message names the problem."""


@cache
def price_history(symbol: str) -> tuple[tuple[date, Decimal], ...]:
    """(date, close_unadj) rows of ``symbol``, oldest first; empty when no file."""
    path = PRICES_DIR / f"{symbol}.csv"
    if not path.is_file():
        return ()
    with path.open(newline="", encoding="utf-8") as fh:
        return tuple((date.fromisoformat(r["date"]), Decimal(r["close_unadj"])) for r in csv.DictReader(fh))


class _Prices(Mapping[str, Decimal]):
    """Prices on ``as_of`` (latest close at or before it), loaded per symbol on first use."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self._cache: dict[str, Decimal | None] = {}

    def _lookup(self, symbol: str) -> Decimal | None:
        if symbol not in self._cache:
            rows = [p for d, p in price_history(symbol) if d <= self.as_of]
            self._cache[symbol] = rows[-1] if rows else None
        return self._cache[symbol]

    def __getitem__(self, symbol: str) -> Decimal:
        value = self._lookup(symbol)
        if value is None:
            raise KeyError(symbol)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(p.stem for p in PRICES_DIR.glob("*.csv")))

    def __len__(self) -> int:
        return sum(1 for _ in PRICES_DIR.glob("*.csv"))


def _dec(raw: Any, field: str, *, nonneg: bool = True) -> Decimal:
    return decimal_field(raw, field, non_negative=nonneg)


def _req(doc: Mapping[str, Any], key: str, where: str) -> Any:
    return required(doc, key, where)


def _symbols(doc: Mapping[str, Any], key: str) -> frozenset[str]:
    raw = doc.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise InputError(f"{key}: expected a list of symbols")
    return frozenset(s.upper() for s in raw)


def load_account(doc: Any) -> tuple[AccountSnapshot, dict[str, Any]]:
    """The snapshot and the optional settings of an account document."""
    if not isinstance(doc, dict):
        raise InputError("account file: expected a JSON object")
    securities = default_securities()
    lots_raw = _req(doc, "lots", "account")
    if not isinstance(lots_raw, list):
        raise InputError("lots: expected a list")
    lots = []
    for n, raw in enumerate(lots_raw):
        where = f"lots[{n}]"
        if not isinstance(raw, dict):
            raise InputError(f"{where}: expected an object")
        symbol = str(_req(raw, "symbol", where)).upper()
        if symbol not in securities:
            raise InputError(f"{where}: unknown symbol {symbol!r} (not in the securities master)")
        shares = _dec(_req(raw, "shares", where), f"{where}.shares")
        if shares == 0:
            raise InputError(f"{where}.shares: must be positive")
        lots.append(
            TaxLot(
                lot_id=str(_req(raw, "lot_id", where)),
                symbol=symbol,
                shares=shares,
                cost_basis=_dec(_req(raw, "cost_basis", where), f"{where}.cost_basis"),
                acquired=date_field(_req(raw, "acquired", where), f"{where}.acquired"),
            )
        )
    target_raw = _req(doc, "target", "account")
    if not isinstance(target_raw, dict):
        raise InputError("target: expected an object of asset class to percent")
    sec_targets = doc.get("security_targets", {})
    if not isinstance(sec_targets, dict):
        raise InputError("security_targets: expected an object of symbol to percent")
    taxable = _req(doc, "taxable", "account")
    if not isinstance(taxable, bool):
        raise InputError("taxable: expected true or false")
    account = AccountSnapshot(
        account_id=str(_req(doc, "account_id", "account")),
        taxable=taxable,
        cash=_dec(_req(doc, "cash", "account"), "cash"),
        lots=tuple(lots),
        target={str(k): _dec(v, f"target.{k}") for k, v in target_raw.items()},
        security_targets={str(k).upper(): _dec(v, f"security_targets.{k}") for k, v in sec_targets.items()},
        cash_reserve=_dec(doc.get("reserve", doc.get("cash_reserve", 0)), "reserve"),
        fractional=bool(doc.get("fractional", False)),
    )
    return account, doc


def _options(doc: Mapping[str, Any], mode: RebalanceMode, withdraw: Decimal) -> PlanOptions:
    band = _dec(_req(doc, "band", "account"), "band")
    relative = doc.get("relative_band")
    budget = doc.get("tax_budget") or {}
    if not isinstance(budget, dict):
        raise InputError("tax_budget: expected an object")
    opt = {k: _dec(doc[k], k) for k in ("max_trade_amount", "turnover_cap") if doc.get(k) is not None}
    try:
        rebalance_to = RebalanceTo(doc.get("rebalance_to", "target"))
    except ValueError:
        raise InputError("rebalance_to: expected 'target' or 'band-edge'") from None
    return PlanOptions(
        mode=mode,
        band=Band(absolute=band, relative=None if relative is None else _dec(relative, "relative_band")),
        rebalance_to=rebalance_to,
        withdraw_amount=withdraw,
        min_trade=_dec(doc.get("min_trade", 0), "min_trade"),
        improvement_threshold=_dec(doc.get("improvement_threshold", 0), "improvement_threshold"),
        max_trade_amount=opt.get("max_trade_amount"),
        turnover_cap=opt.get("turnover_cap"),
        costs=cost_model_from(load_settings()),  # COMMISSION_PER_TRADE, COMMISSION_BPS, HALF_SPREAD_BPS
        exclude_symbols=_symbols(doc, "excluded"),
        restricted_symbols=_symbols(doc, "restricted"),
        tax_budget=TaxBudget(
            max_net_gain=None
            if budget.get("max_net_gain") is None
            else _dec(budget["max_net_gain"], "max_net_gain", nonneg=False),
            max_tax=None if budget.get("max_tax") is None else _dec(budget["max_tax"], "max_tax", nonneg=False),
        ),
    )


def _tax(
    doc: Mapping[str, Any], account: AccountSnapshot, prices: Mapping[str, Decimal], mode: RebalanceMode
) -> TaxInputs:
    rates = doc.get("rates") or {}
    if not isinstance(rates, dict):
        raise InputError("rates: expected {short_term, long_term}")
    harvest: tuple[str, ...] = ()
    if mode in (RebalanceMode.HARVEST, RebalanceMode.HARVEST_REINVEST):
        min_loss = _dec(doc.get("harvest_min_loss", 0), "harvest_min_loss")
        harvest = harvest_candidates(account, prices, min_loss=min_loss)
    return TaxInputs(
        short_term_rate=_dec(rates.get("short_term", "0.37"), "rates.short_term"),
        long_term_rate=_dec(rates.get("long_term", "0.15"), "rates.long_term"),
        do_not_buy=_symbols(doc, "do_not_buy"),
        harvest_lot_ids=harvest,
        washed_lot_ids=frozenset(str(lot_id) for lot_id in doc.get("washed_lots") or ()),
    )


def _print_table(plan: RebalancePlan) -> None:
    console = Console()
    console.print(f"[bold]{plan.account_id}[/]  mode {plan.mode}  needs rebalancing: {plan.needs_rebalancing}")
    alloc = Table(title="Allocation (%)")
    for col in ("class", "before", "deviation", "after"):
        alloc.add_column(col, justify="right" if col != "class" else "left")
    for cls in plan.before:
        alloc.add_row(
            cls,
            f"{plan.before[cls]:.2f}",
            f"{plan.deviations.get(cls, Decimal(0)):+.2f}",
            f"{plan.after[cls]:.2f}",
        )
    console.print(alloc)
    trades = Table(title="Trades")
    for col in ("action", "symbol", "shares", "price", "value", "reason"):
        trades.add_column(col, overflow="fold")
    for t in plan.trades:
        trades.add_row(t.action.value, t.symbol, str(t.shares), str(t.price), f"{t.value:.2f}", t.reason)
    console.print(trades)
    console.print(f"estimated tax ${plan.estimated_tax:.2f}  costs ${plan.estimated_costs:.2f}  solver {plan.solver}")
    for w in plan.warnings:
        console.print(f"[yellow]warning:[/] {w}")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def plan_command(
    account_file: Path = typer.Argument(..., help="Account JSON file."),
    as_of: str | None = typer.Option(None, "--as-of", help="Price date (YYYY-MM-DD); default: the last date."),
    mode: str = typer.Option("full", "--mode", help=f"One of {', '.join(_MODES)}."),
    withdraw: str | None = typer.Option(None, "--withdraw", help="Cash to raise (sell-only)."),
    method: str = typer.Option("optimizer", "--method", help="optimizer, heuristic or naive."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    account_id: str | None = typer.Option(
        None, "--account", help="The account to plan, when the file is a household file holding several."
    ),
) -> None:
    """Plan the trades that rebalance one account (the plan's account format, a household file with
    --account, or one account object of a household file)."""
    try:
        try:
            rebalance_mode = RebalanceMode(mode)
        except ValueError:
            raise InputError(f"--mode: {mode!r} is not one of {', '.join(_MODES)}") from None
        withdraw_amount = Decimal(0)
        if withdraw is not None:
            if rebalance_mode is not RebalanceMode.SELL_ONLY:
                raise InputError("--withdraw needs --mode sell-only")
            withdraw_amount = _dec(withdraw, "--withdraw")
        try:
            text = account_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{account_file}: cannot read ({exc.strerror})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{account_file}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
        last = max(d for d, _ in price_history("VTI"))
        day = last if as_of is None else date_field(as_of, "--as-of")
        if is_household_format(doc):
            doc = plan_document(doc, account_id, day)
        elif account_id is not None:
            raise InputError("--account: only for a household file (this is an account file)")
        account, settings = load_account(doc)
        traded = [d for d, _ in price_history("VTI") if d <= day]
        notice = window_notice(day, traded[-1] if traded else None)  # the one look-back rule's sentence
        if notice:
            typer.echo(f"warning: {notice}", err=True)
        prices = _Prices(day)
        for lot in account.lots:
            if prices.get(lot.symbol) is None:
                raise InputError(f"{lot.symbol}: no price at or before {day}")
        options = _options(settings, rebalance_mode, withdraw_amount)
        options = PlanOptions(
            **{**{f: getattr(options, f) for f in PlanOptions.__dataclass_fields__}, "method": method}
        )
        plan = plan_rebalance(
            account, prices, as_of=day, options=options, tax=_tax(settings, account, prices, rebalance_mode)
        )
    except InvalidInputError as exc:  # the error tree's one mapping at the CLI: exit 2
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(plan.to_json_dict(), indent=2))
    else:
        _print_table(plan)


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to ``app``."""
    app.command("plan")(plan_command)

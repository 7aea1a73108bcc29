"""The ledger replay as it was before the n log n index (kept verbatim to prove the new one gives identical results).

Wash sales (IRC §1091, Treas. Reg. §1.1091-1 and -2, Publication 550 "Wash Sales"):

- A loss on a sale in a taxable account is disallowed, share for share, when substantially identical
  securities (same ``identical_group`` in the securities master) are acquired in any account of the
  household from 30 days before to 30 days after the sale date, both ends included.
- Losses are matched in the order of the sales; replacement shares in the order they were acquired
  (Reg. §1.1091-1(b), (c)); each replacement share absorbs at most one share of loss. Within one sale,
  its lots are matched in relief order.
- The shares sold are never their own replacement, nor are the other shares of the same purchase
  (the lot a sale relieves cannot wash its own loss; Rev. Rul. 56-602).
- One order, many fills: the rows of one security in one account on one date are one event. Sales of
  that day are relieved together before any loss looks for replacements (shares sold that day are never
  replacements for each other), and purchases of that day with the same lot id (or none) are one lot,
  one purchase: splitting an order into fills never changes gain, character, disallowed loss or basis.
- A taxable replacement gets the disallowed loss added to its basis (§1091(d)) and the holding period
  of the shares sold added to its own (§1223(3)): its holding-period start moves back by the number of
  days the sold shares were held. Adjustments chain: a replacement sold at a loss carries them on.
- An IRA replacement disallows the loss permanently (Rev. Rul. 2008-5): no basis increase, no tacking.
- Sales inside an IRA are not taxable and never start a wash sale.

Limit (documented in the README): a purchase inside the 30 days before a loss sale counts only while
those shares are still held on the sale date.

Every disallowed dollar lands exactly once: ``sum(sale.wash_sale_disallowed)`` equals the adjustments of
the open lots plus those carried by lots since sold (``sale.wash_sale_adjustment``) plus
``sum(sale.permanently_disallowed)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from shared.lot_ledger.accounts import AccountPolicy, AccountType, LotMethod
from shared.lot_ledger.errors import TransactionError
from shared.lot_ledger.lots import Lot
from shared.lot_ledger.relief import relief_order
from shared.lot_ledger.sales import Sale, WashMatch
from shared.lot_ledger.transactions import Action, Transaction, canonical_order
from shared.money import ZERO, cents
from shared.securities import SecurityMaster

__all__ = ["WASH_WINDOW_DAYS", "LedgerResult", "replay"]

WASH_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerResult:
    sales: tuple[Sale, ...]
    """Every lot relieved, taxable and not (see ``Sale.taxable``), in the order of the sales."""
    open_lots: tuple[Lot, ...]
    """Lots still held, by account, symbol and opening order."""
    matches: tuple[WashMatch, ...]
    account_types: Mapping[str, AccountType]


@dataclass(slots=True, eq=False)
class _Piece:
    lot: Lot
    seq: int
    account_type: AccountType
    available: bool
    """True while these shares may still absorb a loss as replacements."""


@dataclass(slots=True)
class _PendingLoss:
    sale_id: int
    sale_date: date
    group: str
    account_id: str
    lot_id: str
    symbol: str
    acquired: date
    held_days: int
    shares: Decimal
    loss: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class _Order:
    """The rows of one event merged: one purchase (same account, symbol, date, action and lot id) or one
    sale of a lot id (or of none) in an account on a date. ``gross`` is the sum of shares x price."""

    trade_date: date
    account_id: str
    account_type: AccountType
    symbol: str
    action: Action
    lot_id: str | None
    shares: Decimal
    gross: Decimal
    fees: Decimal
    line: int | None
    holding_period_start: date | None = None


def _order_of(rows: list[Transaction]) -> _Order:
    first = rows[0]
    return _Order(
        trade_date=first.trade_date,
        account_id=first.account_id,
        account_type=first.account_type,
        symbol=first.symbol,
        action=first.action,
        lot_id=first.lot_id,
        shares=sum((t.shares for t in rows), ZERO),
        gross=sum((t.gross for t in rows), ZERO),
        fees=sum((t.fees for t in rows), ZERO),
        line=first.line,
        holding_period_start=first.holding_period_start,
    )


def _events(transactions: list[Transaction]) -> list[tuple[list[_Order], list[_Order]]]:
    """Per date (in canonical order): the day's purchases, then its sales, each merged into orders."""
    days: dict[date, tuple[dict[tuple[object, ...], list[Transaction]], dict[tuple[object, ...], list[Transaction]]]]
    days = {}
    for tx in transactions:
        buys, sells = days.setdefault(tx.trade_date, ({}, {}))
        if tx.action.is_acquisition:
            key: tuple[object, ...] = (tx.account_id, tx.symbol, tx.action, tx.lot_id, tx.holding_period_start)
            buys.setdefault(key, []).append(tx)
        else:
            sells.setdefault((tx.account_id, tx.symbol, tx.lot_id), []).append(tx)
    return [
        ([_order_of(rows) for rows in buys.values()], [_order_of(rows) for rows in sells.values()])
        for buys, sells in days.values()
    ]


def _portion(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``part/whole`` of ``total``, in cents: the rest stays with the other piece, so a split never
    creates or loses a fraction of a cent (unrounded thirds would be cut at 28 digits)."""
    return total if part == whole else cents(total * part / whole)


def _split(piece: _Piece, shares: Decimal) -> tuple[_Piece, _Piece | None]:
    """Split ``shares`` off ``piece``; the second piece is the rest (None when nothing is left)."""
    lot = piece.lot
    if shares == lot.shares:
        return piece, None
    cost = _portion(lot.cost_basis, shares, lot.shares)
    adjustment = _portion(lot.wash_sale_adjustment, shares, lot.shares)
    head = replace(lot, shares=shares, cost_basis=cost, wash_sale_adjustment=adjustment)
    tail = replace(
        lot,
        shares=lot.shares - shares,
        cost_basis=lot.cost_basis - cost,
        wash_sale_adjustment=lot.wash_sale_adjustment - adjustment,
    )
    return (
        _Piece(lot=head, seq=piece.seq, account_type=piece.account_type, available=piece.available),
        _Piece(lot=tail, seq=piece.seq, account_type=piece.account_type, available=piece.available),
    )


class _Ledger:
    def __init__(self, securities: SecurityMaster, method: LotMethod, policies: Mapping[str, AccountPolicy]) -> None:
        self._securities = securities
        self._method = method
        self._policies = policies
        self._open: dict[tuple[str, str], list[_Piece]] = {}
        self._account_types: dict[str, AccountType] = {}
        self._lot_ids: set[tuple[str, str]] = set()
        self._auto_ids: dict[tuple[str, str, date], int] = {}
        self._pending: list[_PendingLoss] = []
        self._sales: list[Sale] = []
        self._matches: list[WashMatch] = []
        self._seq = 0

    # -- bookkeeping -------------------------------------------------------------------------------

    def _check_account(self, tx: Transaction) -> None:
        known = self._account_types.setdefault(tx.account_id, tx.account_type)
        if known is not tx.account_type:
            raise TransactionError(
                f"account {tx.account_id!r} is {known.value}, not {tx.account_type.value}", line=tx.line
            )

    def _method_of(self, account_id: str) -> LotMethod:
        policy = self._policies.get(account_id)
        return policy.lot_method if policy else self._method

    def _group(self, symbol: str) -> str:
        return self._securities.identical_group(symbol)

    # -- acquisitions ------------------------------------------------------------------------------

    def acquire(self, tx: _Order) -> None:
        if tx.lot_id:
            lot_id = tx.lot_id
        else:
            day_key = (tx.account_id, tx.symbol, tx.trade_date)
            self._auto_ids[day_key] = self._auto_ids.get(day_key, 0) + 1
            lot_id = f"{tx.symbol}-{tx.trade_date.isoformat()}-{self._auto_ids[day_key]}"
        if (tx.account_id, lot_id) in self._lot_ids:
            raise TransactionError(f"lot_id {lot_id!r} is already used in account {tx.account_id!r}", line=tx.line)
        self._lot_ids.add((tx.account_id, lot_id))
        policy = self._policies.get(tx.account_id)
        eligible = tx.action is Action.BUY or policy is None or policy.reinvest_is_replacement
        self._seq += 1
        new = _Piece(
            lot=Lot(
                lot_id=lot_id,
                account_id=tx.account_id,
                symbol=tx.symbol,
                shares=tx.shares,
                cost_basis=tx.gross + tx.fees,
                acquired=tx.trade_date,
                holding_period_start=tx.holding_period_start,
            ),
            seq=self._seq,
            account_type=tx.account_type,
            available=eligible,
        )
        pieces = self._open.setdefault((tx.account_id, tx.symbol), [])
        pieces.append(new)
        if not eligible:
            return
        piece: _Piece | None = new
        group = self._group(tx.symbol)
        earliest = tx.trade_date - timedelta(days=WASH_WINDOW_DAYS)
        for loss in self._pending:
            if piece is None:
                break
            if loss.shares > 0 and loss.group == group and earliest <= loss.sale_date <= tx.trade_date:
                piece = self._wash(loss, piece, pieces)

    # -- wash-sale matching ------------------------------------------------------------------------

    def _wash(self, loss: _PendingLoss, piece: _Piece, pieces: list[_Piece]) -> _Piece | None:
        """Match ``loss`` with shares of ``piece`` (held in ``pieces``); return what is left available."""
        shares = min(loss.shares, piece.lot.shares)
        disallowed = _portion(loss.loss, shares, loss.shares)
        loss.shares -= shares
        loss.loss -= disallowed
        used, rest = _split(piece, shares)
        permanent = used.account_type.is_ira
        if not permanent:
            lot = used.lot
            used.lot = replace(
                lot,
                wash_sale_adjustment=lot.wash_sale_adjustment + disallowed,
                holding_period_start=lot.acquired - timedelta(days=loss.held_days),
            )
        used.available = False
        position = pieces.index(piece)
        pieces[position : position + 1] = [used] if rest is None else [used, rest]
        sale = self._sales[loss.sale_id]
        self._sales[loss.sale_id] = replace(
            sale,
            wash_sale_disallowed=sale.wash_sale_disallowed + disallowed,
            permanently_disallowed=sale.permanently_disallowed + (disallowed if permanent else ZERO),
        )
        self._matches.append(
            WashMatch(
                sale_id=loss.sale_id,
                sale_date=loss.sale_date,
                sold_account_id=loss.account_id,
                sold_symbol=loss.symbol,
                sold_lot_id=loss.lot_id,
                replacement_account_id=used.lot.account_id,
                replacement_account_type=used.account_type,
                replacement_symbol=used.lot.symbol,
                replacement_lot_id=used.lot.lot_id,
                replacement_acquired=used.lot.acquired,
                shares=shares,
                disallowed=disallowed,
                permanent=permanent,
            )
        )
        return rest

    @staticmethod
    def _same_purchase(lot: Lot, loss: _PendingLoss) -> bool:
        """The sold shares' own purchase: the same lot, or shares of the symbol bought the same day."""
        return lot.lot_id == loss.lot_id or (lot.symbol == loss.symbol and lot.acquired == loss.acquired)

    def _look_back(self, loss: _PendingLoss) -> None:
        """Match a new loss with replacement shares acquired up to 30 days before it, earliest first."""
        earliest = loss.sale_date - timedelta(days=WASH_WINDOW_DAYS)
        candidates = [
            (piece.lot.acquired, piece.seq, piece, pieces)
            for (account_id, symbol), pieces in self._open.items()
            if self._group(symbol) == loss.group
            for piece in pieces
            if piece.available
            and earliest <= piece.lot.acquired <= loss.sale_date
            and not (account_id == loss.account_id and self._same_purchase(piece.lot, loss))
        ]
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, piece, pieces in candidates:
            if loss.shares == 0:
                break
            self._wash(loss, piece, pieces)

    # -- sales -------------------------------------------------------------------------------------

    def _relieve(self, tx: _Order) -> list[Lot]:
        """Take the order's shares out of the open lots (the named lot, or by the account's method)."""
        pieces = self._open.get((tx.account_id, tx.symbol), [])
        if tx.lot_id:
            chosen = [p for p in pieces if p.lot.lot_id == tx.lot_id]
            if not chosen:
                raise TransactionError(
                    f"unknown lot_id {tx.lot_id!r}: no open lot of {tx.symbol} with that id in account "
                    f"{tx.account_id!r}",
                    line=tx.line,
                )
        else:
            chosen = list(pieces)
        held = sum((p.lot.shares for p in chosen), ZERO)
        if tx.shares > held:
            what = f"lot {tx.lot_id!r}" if tx.lot_id else f"account {tx.account_id!r}"
            raise TransactionError(f"selling {tx.shares} shares of {tx.symbol} but {what} holds {held}", line=tx.line)
        net_price = (tx.gross - tx.fees) / tx.shares
        order = relief_order(
            [p.lot for p in chosen],
            self._method_of(tx.account_id),
            sale_date=tx.trade_date,
            net_price=net_price,
        )
        sold: list[Lot] = []
        remaining = tx.shares
        for index in order:
            if remaining == 0:
                break
            piece = chosen[index]
            take = min(remaining, piece.lot.shares)
            part, rest = _split(piece, take)
            position = pieces.index(piece)
            pieces[position : position + 1] = [] if rest is None else [rest]
            sold.append(part.lot)
            remaining -= take
        return sold

    def sell(self, orders: list[_Order]) -> None:
        """One sale event: every order of a security in an account on a date. All its lots are relieved
        first, so no share sold that day is a replacement for another sold that day."""
        relieved = [(tx, self._relieve(tx)) for tx in orders]
        losses = [loss for tx, sold in relieved for loss in self._record_sales(tx, sold)]
        for loss in losses:
            self._pending.append(loss)
            self._look_back(loss)

    def _record_sales(self, tx: _Order, sold: list[Lot]) -> list[_PendingLoss]:
        proceeds_left = tx.gross - tx.fees
        shares_left = tx.shares
        security = self._securities.get(tx.symbol)
        losses = []
        for lot in sold:
            proceeds = _portion(proceeds_left, lot.shares, shares_left)
            proceeds_left -= proceeds
            shares_left -= lot.shares
            sale = Sale(
                sale_id=len(self._sales),
                sale_date=tx.trade_date,
                account_id=tx.account_id,
                account_type=tx.account_type,
                symbol=tx.symbol,
                lot_id=lot.lot_id,
                shares=lot.shares,
                acquired=lot.acquired,
                holding_period_start=lot.holding_start,
                proceeds=proceeds,
                cost_basis=lot.adjusted_basis,
                term=lot.term_on(tx.trade_date),
                collectible=bool(security and security.collectible),
                wash_sale_adjustment=lot.wash_sale_adjustment,
            )
            self._sales.append(sale)
            if sale.taxable and sale.proceeds < sale.cost_basis:
                losses.append(
                    _PendingLoss(
                        sale_id=sale.sale_id,
                        sale_date=sale.sale_date,
                        group=self._group(sale.symbol),
                        account_id=sale.account_id,
                        lot_id=sale.lot_id,
                        symbol=sale.symbol,
                        acquired=sale.acquired,
                        held_days=(sale.sale_date - sale.holding_period_start).days,
                        shares=sale.shares,
                        loss=sale.cost_basis - sale.proceeds,
                    )
                )
        return losses

    def check(self, tx: Transaction) -> None:
        if tx.shares <= 0:
            raise TransactionError(f"shares must be positive, got {tx.shares}", line=tx.line)
        if tx.price < 0 or tx.fees < 0:
            raise TransactionError("price and fees must not be negative", line=tx.line)
        self._check_account(tx)

    def day(self, purchases: list[_Order], sales: list[_Order]) -> None:
        """Apply one date: its purchases (inside the window of that day's sales), then its sale events."""
        today = (purchases or sales)[0].trade_date
        horizon = today - timedelta(days=WASH_WINDOW_DAYS)
        self._pending = [loss for loss in self._pending if loss.shares > 0 and loss.sale_date >= horizon]
        for order in purchases:
            self.acquire(order)
        events: dict[tuple[str, str], list[_Order]] = {}
        for order in sales:
            events.setdefault((order.account_id, order.symbol), []).append(order)
        for orders in events.values():
            self.sell(orders)

    def result(self) -> LedgerResult:
        open_lots = tuple(piece.lot for key in sorted(self._open) for piece in self._open[key] if piece.lot.shares > 0)
        return LedgerResult(
            sales=tuple(self._sales),
            open_lots=open_lots,
            matches=tuple(self._matches),
            account_types=dict(self._account_types),
        )


def replay(
    transactions: Iterable[Transaction],
    *,
    securities: SecurityMaster,
    method: LotMethod = LotMethod.FIFO,
    accounts: Iterable[AccountPolicy] = (),
) -> LedgerResult:
    """Apply ``transactions`` in canonical order (see :mod:`.transactions`) to an empty household.

    ``method`` relieves lots in accounts without a policy in ``accounts``. Raises
    :class:`TransactionError` naming the source line of the first transaction that cannot be applied.
    """
    ledger = _Ledger(securities, method, {policy.account_id: policy for policy in accounts})
    ordered = canonical_order(transactions)
    for tx in ordered:
        ledger.check(tx)
    for purchases, sales in _events(ordered):
        ledger.day(purchases, sales)
    return ledger.result()

"""Portfolio handlers: load an account for a run, apply a run's fills, answer status and ledger queries.

Every lot an account is read with (for a run, ``/lots``) is derived from its household's whole history
by the same engine as ``rebalance tax realized`` (:mod:`services.portfolio.domain.household_ledger`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from contracts import (
    AccountSnapshot,
    ApplyFills,
    BrokerBookQuery,
    ExecutionResult,
    Fill,
    FillsApplied,
    LedgerBook,
    LoadPortfolio,
    PortfolioLoaded,
    RealizedSales,
    broker_account_of,
    decode_as,
    subjects,
)
from contracts.queries import (
    AccountLots,
    AccountStatus,
    AccountStatusQuery,
    BookQuery,
    BookReply,
    LedgerDocument,
    LedgerQuery,
    QuotesQuery,
    QuotesReply,
)
from services.portfolio.book_handlers import BookHandlers
from services.portfolio.domain import (
    DEFAULT_HOUSEHOLD_FILE,
    MODELS,
    NOTHING_REALIZED,
    AccountState,
    LedgerUpdate,
    account_ledger_lots,
    allocation,
    apply_fills,
    holdings_value,
    household_activity,
    household_ledger,
    household_transactions,
    ledger_books,
    ledger_lot_view,
    load_book,
    realized_by_run,
    target_for,
    total_value,
    transactions_csv,
    with_ledger_lots,
    without_run,
)
from services.portfolio.domain.fill_checks import fills_problem, order_key
from services.portfolio.store import PortfolioStore
from shared.bus import kv as kvops
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.read_scope import computed_once
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import DomainError, NotFoundError, RefusedMessageError
from shared.log import get_logger
from shared.lot_ledger import LedgerResult, TransactionError, form8949_csv, form8949_rows
from shared.securities import default_securities

__all__ = ["PortfolioService"]

log = get_logger("portfolio")


class PortfolioService:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        self._store: PortfolioStore | None = None
        self.securities = default_securities()
        self.book_handlers = BookHandlers(runtime, self.store, self.securities)
        self._check: asyncio.Task[None] | None = None

    async def store(self) -> PortfolioStore:
        if self._store is None:
            self._store = PortfolioStore(await self.runtime.kv(subjects.KV_PORTFOLIOS))
        return self._store

    def register(self) -> None:
        self.runtime.command(subjects.PORTFOLIO_LOAD, LoadPortfolio, self.load)
        self.runtime.command(subjects.PORTFOLIO_APPLY_FILLS, ApplyFills, self.apply)
        self.runtime.query(subjects.PORTFOLIO_QUERY_STATUS, self.status)
        self.runtime.query(subjects.PORTFOLIO_QUERY_ACCOUNTS, self.accounts)
        self.runtime.query(subjects.PORTFOLIO_QUERY_BROKER_BOOK, self.broker_books)
        self.runtime.query(subjects.PORTFOLIO_QUERY_BOOK, self.book)
        self.runtime.query(subjects.PORTFOLIO_QUERY_LOTS, self.lots)
        self.runtime.query(subjects.PORTFOLIO_QUERY_TRANSACTIONS, self.transactions)
        self.runtime.query(subjects.PORTFOLIO_QUERY_FORM8949, self.form8949)
        book = self.book_handlers
        self.runtime.query(subjects.PORTFOLIO_QUERY_BOOK_OBJECT, book.book_object)
        self.runtime.query(subjects.PORTFOLIO_QUERY_PUT_ACCOUNTS, book.put_accounts)
        self.runtime.query(subjects.PORTFOLIO_QUERY_LOAD_BOOK, book.load_book)
        self.runtime.query(subjects.PORTFOLIO_QUERY_RECORD_TRANSACTION, book.record_transaction)
        self.runtime.on_startup(book.finish_interrupted)  # book writes a crash left half made
        if self.runtime.settings.seed_demo or self.runtime.settings.household_file:
            self.runtime.on_startup(self.seed)

    async def seed(self) -> None:
        """Load ``HOUSEHOLD_FILE`` (one household or a book of many; default the demo) into the store."""
        path = self.runtime.settings.household_file
        book = load_book(path) if path else load_book()
        store = await self.store()
        if await kvops.create(store.bucket, _SEEDED, {"households": len(book)}) is None:
            log.info("book loaded already: HOUSEHOLD_FILE is read at the first start only")
            # compared in the background: a restart never waits for it
            self._check = asyncio.create_task(self._say_if_file_differs(Path(path) if path else DEFAULT_HOUSEHOLD_FILE))
            return
        created = 0
        for household, accounts in book:
            created += await store.seed(household, accounts)
        log.info(
            "households loaded",
            households=len(book),
            new=created,
            accounts=sum(len(accounts) for _, accounts in book),
        )

    async def _say_if_file_differs(self, path: Path) -> None:
        try:
            differs = await self.book_handlers.file_differs(path)
        except Exception as exc:  # a check only: it never stops the service
            log.warning("HOUSEHOLD_FILE not compared with the book", error=f"{type(exc).__name__}: {exc}")
            return
        if differs:
            log.warning(
                "HOUSEHOLD_FILE differs from the book, which is kept: load it with "
                "rebalance accounts load FILE --merge (or --replace)",
                accounts_differing=len(differs),
                first=differs[:10],
            )

    # ---- commands ----------------------------------------------------------------------------------
    async def load(self, command: LoadPortfolio) -> Sequence[Outgoing]:
        store = await self.store()
        state = await store.account(command.account_id)
        account = state.account
        if command.risk_override:
            account = msgspec.structs.replace(
                account,
                risk_tolerance=command.risk_override,
                target=target_for(command.risk_override),
                model=command.risk_override,
            )
        else:
            account = await self._with_model(account, store)
        household = await store.household_accounts(account.household_id)
        today = command.as_of or self.runtime.clock.now().date()
        # A bundle's loads share their reads, so the accounts of a household are the same objects for each of
        # its runs: its ledger and recent activity are derived once per bundle (keyed by those objects).
        shared = f"household:{account.household_id}:{today}:{[id(state) for state in household]}"
        ledger, activity = computed_once(
            shared, lambda: (self._ledger(household), household_activity(household, today=today))
        )
        account = with_ledger_lots(account, ledger)
        event = PortfolioLoaded(
            **result_envelope(command, self.runtime.clock.now()),
            account=account,
            household_activity=activity,
        )
        return [Outgoing(subjects.PORTFOLIO_LOADED, event, event.message_id)]

    async def _with_model(self, account: AccountSnapshot, store: PortfolioStore) -> AccountSnapshot:
        """The account with its named model's targets as stored now (a model's change reaches every account
        assigned to it at its next run); built-in models and custom targets are resolved already."""
        if account.model in MODELS or account.model in ("", "custom"):
            return account
        model, _ = await store.read_model(account.tenant, account.model)
        if model is None:
            raise DomainError(f"account {account.account_id}: model {account.model!r} does not exist")
        return msgspec.structs.replace(
            account,
            target=dict(model.targets),
            security_targets={s.symbol: s.percent for s in model.securities},
            substitutes={s.symbol: list(s.substitutes) for s in model.securities if s.substitutes},
        )

    def _ledger(self, household: list[AccountState]) -> LedgerResult:
        try:
            return household_ledger(household, self.securities)
        except TransactionError as exc:
            raise DomainError(f"the household's history cannot be replayed: {exc}") from None

    async def apply(self, command: ApplyFills) -> Sequence[Outgoing]:
        await self._check_fills(command)
        store = await self.store()
        outcome: list[LedgerUpdate] = []
        before = await store.account(command.account_id)
        household = await store.household_accounts(before.account.household_id)
        derived = {lot.lot_id: lot for lot in with_ledger_lots(before.account, self._ledger(household)).lots}

        def change(state: AccountState) -> AccountState | None:
            update = apply_fills(
                state,
                run_id=command.run_id,
                as_of=command.as_of,
                trades=command.trades,
                fills=command.fills,
                review=command.review,
                adjusted=derived,
            )
            outcome[:] = [update]
            return None if update.already_applied else update.state

        _, after = await store.change_account(command.account_id, change)
        update = outcome[0]
        state = update.state if after is None else after
        realized = await self._realized_by(command, store)
        event = FillsApplied(
            **result_envelope(command, self.runtime.clock.now()),
            account_id=command.account_id,
            cash_after=state.account.cash,
            lots_after=len(state.account.lots),
            realized_gain=update.realized_gain,
            last_rebalanced=command.as_of,
            already_applied=update.already_applied,
            realized=realized,
        )
        log.info("fills applied", fills=len(command.fills), already_applied=update.already_applied)
        return [Outgoing(subjects.PORTFOLIO_FILLS_APPLIED, event, event.message_id)]

    async def _realized_by(self, command: ApplyFills, store: PortfolioStore) -> RealizedSales:
        """What the run's sales realized as the household ledger records them (replayed with the run's
        fills and without them: the same engine as ``/lots`` and ``rebalance tax realized``)."""
        if not any(f.action == "sell" for f in command.fills):
            return NOTHING_REALIZED
        account = (await store.account(command.account_id)).account
        household = await store.household_accounts(account.household_id)
        return realized_by_run(
            self._ledger(household),
            self._ledger(without_run(household, command.run_id)),
            command.account_id,
            command.as_of,
        )

    async def _check_fills(self, command: ApplyFills) -> None:
        """Refuse fills that match no order execution recorded (a forged or corrupted ``ApplyFills``)."""
        orders_bucket = await self.runtime.kv(subjects.KV_ORDERS)
        orders: dict[str, Fill | None] = {}
        for fill in command.fills:
            key = order_key(command.run_id, fill.trade_id)
            if key not in orders:
                orders[key] = (
                    (await kvops.read(orders_bucket, key, Fill))[0] if _KV_TOKEN.fullmatch(fill.trade_id) else None
                )
        executed = False
        if command.fills:
            executions = await self.runtime.kv(subjects.KV_EXECUTIONS)
            result, _ = await kvops.read(executions, f"execution.{command.run_id}", ExecutionResult)
            executed = result is not None and result.executed
        problem = fills_problem(
            run_id=command.run_id,
            fills=command.fills,
            trades=command.trades,
            orders=orders,
            executed=executed,
            tolerance=self.runtime.settings.fill_price_tolerance,
        )
        if problem is not None:
            raise RefusedMessageError(problem)

    # ---- queries -----------------------------------------------------------------------------------
    async def status(self, body: bytes) -> AccountStatus:
        query = decode_as(body, AccountStatusQuery)
        store = await self.store()
        state = await store.account(query.account_id)
        account: AccountSnapshot = await self._with_model(state.account, store)
        quotes = await request(
            self.runtime.broker,
            subjects.MARKET_DATA_QUERY_QUOTES,
            QuotesQuery(symbols=account.symbols, as_of=query.as_of),
            QuotesReply,
        )
        prices = {symbol: quote.close for symbol, quote in quotes.quotes.items()}
        return AccountStatus(
            id=f"portfolio_{account.account_id}",
            account_id=account.account_id,
            total_value=total_value(account, prices).quantize(_CENT),
            current_allocation=allocation(account, prices),
            target_allocation=account.target,
            last_rebalanced=account.last_rebalanced,
            risk_tolerance=account.risk_tolerance,
            holdings_count=len(account.symbols),
            cash=account.cash,
            as_of=quotes.as_of,
            account_type=account.account_type,
            holdings={s: v.quantize(_CENT) for s, v in holdings_value(account, prices).items()},
            tenant=account.tenant,
        )

    async def broker_books(self, body: bytes) -> list[LedgerBook]:
        """The ledger's book of the broker account of ``account_id`` (or ``broker_account``; every one
        when neither is given)."""
        query = decode_as(body, BrokerBookQuery)
        store = await self.store()
        books = ledger_books(state.account for state in await store.all_accounts())
        if query.account_id is not None:
            wanted = broker_account_of((await store.account(query.account_id)).account.broker_account)
        elif query.broker_account is not None:
            wanted = query.broker_account
        else:
            return list(books.values())
        return [books.get(wanted, LedgerBook(broker_account=wanted, account_ids=[], positions={}, cash=Decimal(0)))]

    async def book(self, body: bytes) -> BookReply:
        """The accounts a batch names: the ones listed (and those the book lacks), a household's, or all."""
        query = decode_as(body, BookQuery)
        store = await self.store()

        async def of_tenant(ids: list[str]) -> list[str]:
            """The ids of accounts of the query's tenant (all of them without one)."""
            if query.tenant is None:
                return ids
            states = await asyncio.gather(*(store.account(a) for a in ids))
            return [a for a, state in zip(ids, states, strict=True) if state.account.tenant == query.tenant]

        if query.all:
            return BookReply(account_ids=await of_tenant(await store.account_ids()))
        if query.household_id is not None:
            ids = (await store.household(query.household_id)).account_ids
            mine = await of_tenant(ids)
            if ids and not mine:  # another tenant's household does not exist for this one
                raise NotFoundError(f"unknown household {query.household_id!r}")
            return BookReply(account_ids=mine)
        held = set(await of_tenant([a for a in await store.account_ids() if a in set(query.account_ids)]))
        return BookReply(
            account_ids=[a for a in query.account_ids if a in held],
            unknown=[a for a in query.account_ids if a not in held],
        )

    async def accounts(self, body: bytes) -> AccountSnapshot:
        query = decode_as(body, AccountStatusQuery)
        store = await self.store()
        account = (await store.account(query.account_id)).account
        return with_ledger_lots(account, self._ledger(await store.household_accounts(account.household_id)))

    async def _household_of(self, body: bytes) -> tuple[LedgerQuery, list[AccountState]]:
        query = decode_as(body, LedgerQuery)
        store = await self.store()
        account = (await store.account(query.account_id)).account
        return query, await store.household_accounts(account.household_id)

    async def lots(self, body: bytes) -> AccountLots:
        """The account's open lots as the household ledger derives them."""
        query, household = await self._household_of(body)
        lots = account_ledger_lots(self._ledger(household), query.account_id)
        return AccountLots(account_id=query.account_id, lots=[ledger_lot_view(lot) for lot in lots])

    async def transactions(self, body: bytes) -> LedgerDocument:
        """Every transaction of the account's household, as ``rebalance tax realized`` reads them."""
        query, household = await self._household_of(body)
        text = transactions_csv(household_transactions(household))
        return LedgerDocument(filename=f"transactions-{query.account_id}.csv", text=text)

    async def form8949(self, body: bytes) -> LedgerDocument:
        """The account's Form 8949 rows (of ``year`` when given), from the household ledger."""
        query, household = await self._household_of(body)
        sales = [s for s in self._ledger(household).sales if s.account_id == query.account_id]
        suffix = f"-{query.year}" if query.year is not None else ""
        return LedgerDocument(
            filename=f"form8949-{query.account_id}{suffix}.csv",
            text=form8949_csv(form8949_rows(sales, year=query.year)),
        )


_CENT = Decimal("0.01")
_SEEDED = "book.seeded"
"""Created at the first start's seed: later starts never load ``HOUSEHOLD_FILE`` again (a deleted account stays
deleted; ``rebalance accounts load FILE --replace|--merge`` loads a file explicitly)."""
_KV_TOKEN = re.compile(r"[A-Za-z0-9_=-]{1,128}")

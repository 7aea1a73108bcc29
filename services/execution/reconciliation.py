"""Reconciliation of the ledger with the broker, after every trading run and on demand.

The ledger's book of a broker account (the accounts mapped to it, from the portfolio service) is compared
with the broker's positions and cash. A difference is a *break*: it is stored (KV ``reconcile``, key
``break.<broker account>``), alerted (an error log line, the ``rebalancer_reconcile_breaks_total``
metric, a notification), and every account mapped to that broker account stops trading until a person
clears it. Clearing acknowledges the differences as they stand: the same differences found again are reported, not a new
break; any other difference is.

After a run: each live run marks itself in flight for its broker account before its orders go out; when
its fills are in the ledger (``portfolio.v1.evt.fills-applied``) the mark is removed, and the broker account
is reconciled once no other run of it is in flight (an omnibus account is only comparable when the ledger
has caught up with every order).
"""

from __future__ import annotations

from nats.js.errors import KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

from contracts import (
    DEFAULT_BROKER_ACCOUNT,
    AccountSnapshot,
    BrokerBookQuery,
    LedgerBook,
    Notify,
    ReconcileQuery,
    ReconcileReport,
    broker_account_of,
    encode,
    subjects,
)
from contracts.queries import AccountStatusQuery
from services.execution.brokers import BrokerAccounts, TradingRefusedError
from services.execution.domain import differences
from shared.bus import kv as kvops
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.log import get_logger
from shared.metrics import RECONCILE_BREAKS

__all__ = ["Reconciler"]

log = get_logger("execution.reconcile")


class Reconciler:
    def __init__(self, runtime: ServiceRuntime, brokers: BrokerAccounts) -> None:
        self.runtime = runtime
        self.brokers = brokers
        self.broker = brokers.default
        self.breaks_total = 0
        """Breaks found by this process (the ``reconcile_breaks_total`` metric)."""

    @property
    def keeps_book(self) -> bool:
        """The paper broker keeps no book: the ledger is the book of record, nothing to reconcile."""
        return self.broker.name != "paper"

    async def _bucket(self) -> KeyValue:
        return await self.runtime.kv(subjects.KV_RECONCILE)

    async def broker_account_of(self, account_id: str) -> str:
        if not self.keeps_book:
            return DEFAULT_BROKER_ACCOUNT
        account = await request(
            self.runtime.broker,
            subjects.PORTFOLIO_QUERY_ACCOUNTS,
            AccountStatusQuery(account_id=account_id),
            AccountSnapshot,
        )
        name = broker_account_of(account.broker_account)
        if not self.brokers.has(name):  # the run fails cleanly: nothing was sent, retrying cannot help
            raise TradingRefusedError(
                f"account {account_id}: broker account {name!r} has no credentials here "
                f"(configured: {', '.join(self.brokers.names)}; add it to BROKER_ACCOUNTS_FILE)"
            )
        return name

    async def standing_break(self, broker_account: str) -> ReconcileReport | None:
        if not self.keeps_book:
            return None
        found, _ = await kvops.read(await self._bucket(), f"break.{broker_account}", ReconcileReport)
        return found

    # ---- runs in flight --------------------------------------------------------------------------
    async def mark_in_flight(self, broker_account: str, run_id: str) -> None:
        if not self.keeps_book:
            return
        bucket = await self._bucket()
        await bucket.put(f"run.{run_id}", broker_account.encode())
        await bucket.put(f"inflight.{broker_account}.{run_id}", b"1")

    async def fills_applied(self, run_id: str) -> ReconcileReport | None:
        if not self.keeps_book:
            return None
        bucket = await self._bucket()
        try:
            entry = await bucket.get(f"run.{run_id}")
        except KeyNotFoundError:  # not a live run of ours, or already done
            return None
        if entry.value is None:
            return None
        broker_account = entry.value.decode()
        await bucket.purge(f"inflight.{broker_account}.{run_id}")
        await bucket.purge(f"run.{run_id}")
        if await self._in_flight(broker_account):
            log.info("reconciliation deferred: runs in flight", broker_account=broker_account)
            return None
        return await self.check(broker_account)

    async def _in_flight(self, broker_account: str) -> bool:
        bucket = await self._bucket()
        try:
            keys = await bucket.keys()
        except NoKeysError:
            return False
        return any(key.startswith(f"inflight.{broker_account}.") for key in keys)

    # ---- checks ----------------------------------------------------------------------------------
    async def _ledger(self, query: BrokerBookQuery) -> list[LedgerBook]:
        return await request(self.runtime.broker, subjects.PORTFOLIO_QUERY_BROKER_BOOK, query, list[LedgerBook])

    async def check(self, broker_account: str, ledger: LedgerBook | None = None) -> ReconcileReport:
        """Reconcile one broker account; a difference records a break and alerts."""
        now = self.runtime.clock.now()
        if ledger is None:
            (ledger,) = await self._ledger(BrokerBookQuery(broker_account=broker_account))
        standing = await self.standing_break(broker_account)
        book = await self.brokers.get(broker_account).book() if self.brokers.has(broker_account) else None
        if book is None:
            why = (
                "paper broker: the ledger is the book of record"
                if not self.keeps_book
                else f"no credentials for broker account {broker_account!r}: not compared"
            )
            return ReconcileReport(
                broker_account=broker_account,
                account_ids=ledger.account_ids,
                in_sync=not self.keeps_book,
                checked_at=now,
                message=why,
            )
        found = differences(ledger.positions, ledger.cash, book.positions, book.cash)
        if not found:
            return ReconcileReport(
                broker_account=broker_account,
                account_ids=ledger.account_ids,
                in_sync=True,
                blocked=standing is not None,
                checked_at=now,
                message="in sync" if standing is None else f"in sync; a break stands until cleared: {standing.message}",
            )
        said = "; ".join(f"{d.symbol}: ledger {d.ledger}, broker {d.broker}" for d in found)
        if await self._in_flight(broker_account):  # orders out whose fills the ledger has not taken yet
            return ReconcileReport(
                broker_account=broker_account,
                account_ids=ledger.account_ids,
                in_sync=False,
                differences=found,
                blocked=standing is not None,
                checked_at=now,
                message=f"runs in flight: not a break until their fills are in the ledger ({said})",
            )
        acknowledged, _ = await kvops.read(await self._bucket(), f"ack.{broker_account}", ReconcileReport)
        if standing is None and acknowledged is not None and acknowledged.differences == found:
            return ReconcileReport(  # the same differences a person cleared: known, not a new break
                broker_account=broker_account,
                account_ids=ledger.account_ids,
                in_sync=False,
                differences=found,
                checked_at=now,
                cleared_by=acknowledged.cleared_by,
                message=f"ledger and broker differ as cleared by {acknowledged.cleared_by}: {said}",
            )
        report = ReconcileReport(
            broker_account=broker_account,
            account_ids=ledger.account_ids,
            in_sync=False,
            differences=found,
            blocked=True,
            checked_at=now,
            message=f"ledger and broker differ: {said}",
        )
        await (await self._bucket()).put(f"break.{broker_account}", encode(report))
        await self._alert(report)
        return report

    async def _alert(self, report: ReconcileReport) -> None:
        self.breaks_total += 1
        RECONCILE_BREAKS.labels(broker_account=report.broker_account).inc()
        log.error(
            "reconciliation break",
            broker_account=report.broker_account,
            accounts=report.account_ids,
            differences=report.message,
            metric="rebalancer_reconcile_breaks_total",
            value=self.breaks_total,
        )
        stamp = report.checked_at or self.runtime.clock.now()
        run_id = f"reconcile-{report.broker_account}-{stamp.strftime('%Y%m%dT%H%M%S%f')}"
        notify = Notify(
            run_id=run_id,
            message_id=f"{run_id}:notify",
            occurred_at=stamp,
            step="reconcile",
            account_id=",".join(report.account_ids),
            status="failed",
            message=f"Reconciliation break on broker account {report.broker_account}: {report.message}. "
            f"Trading of {', '.join(report.account_ids)} is stopped until the break is cleared.",
        )
        try:
            await self.runtime.publish(subjects.NOTIFICATIONS_NOTIFY, notify, msg_id=notify.message_id)
        except Exception:  # the break is recorded and logged; a lost notification must not hide it
            log.exception("reconciliation alert not sent")

    async def on_demand(self, query: ReconcileQuery) -> list[ReconcileReport]:
        if query.clear:
            if query.account_id is None:
                raise InvalidInputError("account_id: clearing a break names the account")
            return [await self.clear(query.account_id, by=query.by or "unknown")]
        if query.account_id is not None:
            books = await self._ledger(BrokerBookQuery(account_id=query.account_id))
        else:
            books = await self._ledger(BrokerBookQuery())
        return [await self.check(book.broker_account, book) for book in books]

    async def clear(self, account_id: str, *, by: str) -> ReconcileReport:
        (ledger,) = await self._ledger(BrokerBookQuery(account_id=account_id))
        standing = await self.standing_break(ledger.broker_account)
        report = ReconcileReport(
            broker_account=ledger.broker_account,
            account_ids=ledger.account_ids,
            in_sync=standing is None,
            differences=standing.differences if standing else [],
            blocked=False,
            checked_at=self.runtime.clock.now(),
            cleared_by=by,
            message=f"break cleared by {by}: {standing.message}" if standing else "no break to clear",
        )
        if standing is not None:
            bucket = await self._bucket()
            await bucket.put(f"ack.{ledger.broker_account}", encode(report))  # these differences are known now
            await bucket.purge(f"break.{ledger.broker_account}")
            log.warning("reconciliation break cleared", broker_account=ledger.broker_account, by=by)
        return report

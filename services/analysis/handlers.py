"""Analysis handlers: market conditions and portfolio risk for a run, and the same as queries.

Histories come from the market data service over request-reply; the figures come from the pure
domain (``services.analysis.domain``, definitions in ``services/analysis/README.md``).

A run names its market snapshot (``AnalyzeMarket.snapshot_id``): the regime and the Ledoit-Wolf
covariance of the whole universe are computed once per snapshot and stored in its analysis part (KV
``snapshots``); the universe's daily returns and the risk-free series stay in memory (an LRU of
:class:`MarketPanel`), read from market data once per snapshot. A run then costs only its own account's
risk figures.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from contracts import (
    AnalyzeMarket,
    MarketAnalyzed,
    MarketConditions,
    PortfolioRisk,
    SnapshotAnalysis,
    decode_as,
    subjects,
)
from contracts.queries import HistoryQuery, HistoryReply, MarketAnalysisQuery, MarketAnalysisReply, RiskQuery
from services.analysis.domain import (
    PERCENTILE_WINDOW,
    TREND_DAYS,
    AnalysisError,
    MarketRegime,
    ReturnsArrays,
    account_risk,
    daily_returns,
    ledoit_wolf_covariance,
    market_regime,
    portfolio_risk,
    rf_daily_from_irx,
    risk_metrics,
)
from shared.bus.lru import LRU
from shared.bus.outgoing import Outgoing, result_envelope
from shared.bus.request import request
from shared.bus.runtime import ServiceRuntime
from shared.errors import InvalidInputError
from shared.market_window import RISK_LOOKBACK_SESSIONS
from shared.securities import default_securities

__all__ = ["AnalysisService"]

REGIME_SESSIONS = PERCENTILE_WINDOW + TREND_DAYS + 60
"""Trading days of VIX and the proxy the regime reads (its percentile window, trend and a margin)."""
REGIME_CACHE_SIZE = 256
BENCHMARK = "VTI"
HISTORY_CHUNK = 20
"""Symbols per history request when a snapshot's panel is read (a reply stays well under NATS's 1 MB)."""


@dataclass(frozen=True, slots=True)
class MarketPanel:
    """A snapshot's daily total returns of every symbol over the risk window (``NaN`` before a symbol's
    first day) and the 13-week T-bill yield (IRX, percent) over the same window."""

    returns: pd.DataFrame
    irx: pd.Series
    arrays: ReturnsArrays
    """The same returns and risk-free rate as arrays, for each account's risk (:func:`account_risk`)."""


def _frame(reply: HistoryReply) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(reply.dates), name="date")
    return pd.DataFrame({s: pd.Series(v, index=index, dtype=float) for s, v in reply.closes.items()}, index=index)


def _index(reply: HistoryReply, name: str) -> pd.Series:
    index = pd.DatetimeIndex(pd.to_datetime(reply.dates), name="date")
    return pd.Series(reply.indices[name], index=index, dtype=float, name=name)


def conditions_of(regime: MarketRegime) -> MarketConditions:
    return MarketConditions(
        market_sentiment=regime.sentiment,
        volatility_index=regime.volatility_index,
        risk_recommendation=regime.risk_recommendation,
        market_timing=regime.market_timing,
        as_of=regime.as_of,
        vix_percentile=regime.vix_percentile,
        realized_volatility=regime.realized_volatility,
        realized_volatility_percentile=regime.realized_vol_percentile,
        trend=regime.trend,
    )


class AnalysisService:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        # The regime of a date never changes (same date, same answer): every run of that date shares it.
        self._regimes: OrderedDict[date, MarketRegime] = OrderedDict()
        size = runtime.settings.snapshot_cache_size
        self._panels: LRU[str, MarketPanel] = LRU(size)
        self._building: dict[str, asyncio.Future[SnapshotAnalysis]] = {}
        self.snapshots_built = 0

    def register(self) -> None:
        self.runtime.command(subjects.ANALYSIS_ANALYZE, AnalyzeMarket, self.analyze)
        self.runtime.query(subjects.ANALYSIS_QUERY_MARKET, self.market_query)
        self.runtime.query(subjects.ANALYSIS_QUERY_RISK, self.risk_query)

    async def _history(self, query: HistoryQuery) -> HistoryReply:
        return await request(self.runtime.broker, subjects.MARKET_DATA_QUERY_HISTORY, query, HistoryReply)

    async def regime(self, as_of: date | None) -> MarketRegime:
        """The regime on ``as_of``, or on the last day with both VIX and the proxy's prices when the
        data end earlier (``MarketConditions.as_of`` then says which day was used)."""
        if as_of is None:
            as_of = (await self._history(HistoryQuery(symbols=[BENCHMARK], lookback_days=5))).dates[-1]
        if as_of in self._regimes:
            self._regimes.move_to_end(as_of)
            return self._regimes[as_of]
        # the one look-back rule (shared.market_window): trading days ending on the last day with data
        reply = await self._history(
            HistoryQuery(symbols=[BENCHMARK], indices=["VIX"], end=as_of, sessions=REGIME_SESSIONS)
        )
        if not reply.dates:
            raise InvalidInputError(f"no market history before {as_of.isoformat()}")
        try:
            regime = market_regime(_index(reply, "VIX"), _frame(reply)[BENCHMARK], reply.dates[-1])
        except AnalysisError as exc:
            raise InvalidInputError(str(exc)) from None
        self._regimes[as_of] = regime
        while len(self._regimes) > REGIME_CACHE_SIZE:
            self._regimes.popitem(last=False)
        return regime

    async def risk(
        self,
        weights: Mapping[str, Decimal],
        as_of: date,
        universe: Sequence[str] = (),
        after: Mapping[str, Decimal] | None = None,
        sessions: int = RISK_LOOKBACK_SESSIONS,
    ) -> tuple[PortfolioRisk, dict[str, Any]]:
        """Risk of ``weights`` (fractions summing to 1) over the ``sessions`` trading days ending on the last
        day with data on or before ``as_of`` (:mod:`shared.market_window`)."""
        held = sorted(s for s, w in weights.items() if w != 0)
        symbols = sorted({*held, *universe, *(after or {}), BENCHMARK})
        reply = await self._history(HistoryQuery(symbols=symbols, indices=["IRX"], end=as_of, sessions=sessions))
        returns = daily_returns(_frame(reply))
        floats = {s: float(weights[s]) for s in held}
        after_floats = {s: float(w) for s, w in after.items() if w != 0} if after else None
        try:
            metrics = risk_metrics(
                returns[held],
                floats,
                rf_daily_from_irx(_index(reply, "IRX"), returns.index),
                returns[BENCHMARK],
            )
            securities = default_securities()
            breakdown = portfolio_risk(returns, floats, after_floats, shrink=True, asset_class=securities.asset_class)
            covariance, _ = ledoit_wolf_covariance(returns[[s for s in symbols if s in returns.columns]])
        except AnalysisError as exc:
            raise InvalidInputError(str(exc)) from None
        risk = PortfolioRisk(
            volatility=metrics.volatility,
            max_drawdown=metrics.max_drawdown,
            var_95=metrics.var_95,
            cvar_95=metrics.cvar_95,
            sharpe=metrics.sharpe,
            beta=metrics.beta,
            risk_contribution=dict(breakdown.before.contributions_by_class),
            symbols=list(covariance.columns),
            covariance=covariance.to_numpy().tolist(),
            start=metrics.start,
            end=metrics.end,
            observations=metrics.observations,
        )
        return risk, {"metrics": metrics.to_json_dict(), "breakdown": breakdown.to_json_dict()}

    # ---- the market snapshot's analysis part ---------------------------------------------------------
    async def panel(self, snapshot: str) -> MarketPanel:
        """The snapshot's returns and risk-free series: from memory, else read from market data once."""
        cached = self._panels.get(snapshot)
        if cached is not None:
            return cached
        prices = await (await self.runtime.snapshots()).prices(snapshot)
        symbols = list(prices.symbols)
        chunks = [symbols[i : i + HISTORY_CHUNK] for i in range(0, len(symbols), HISTORY_CHUNK)]
        queries = [  # the one look-back rule (shared.market_window), as GET /risk reads it
            HistoryQuery(
                symbols=chunk,
                indices=["IRX"] if i == 0 else [],
                end=prices.as_of,
                sessions=RISK_LOOKBACK_SESSIONS,
                common_window=False,
            )
            for i, chunk in enumerate(chunks)
        ]
        replies = await asyncio.gather(*(self._history(query) for query in queries))
        frames = [_frame(reply) for reply in replies]
        closes = pd.concat(frames, axis=1).sort_index().dropna(how="all") if frames else pd.DataFrame()
        irx = _index(replies[0], "IRX").reindex(closes.index) if replies else pd.Series(dtype=float)
        returns = daily_returns(closes)
        panel = MarketPanel(returns=returns, irx=irx, arrays=ReturnsArrays.of(returns, irx))
        self._panels.put(snapshot, panel)
        return panel

    async def snapshot_analysis(self, snapshot: str) -> SnapshotAnalysis:
        """The analysis part of ``snapshot`` (regime, covariance): from memory or KV, else built once and
        stored; concurrent runs of the same snapshot share one build."""
        store = await self.runtime.snapshots()
        found = await store.find_analysis(snapshot)
        if found is not None:
            return found
        pending = self._building.get(snapshot)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SnapshotAnalysis] = asyncio.get_running_loop().create_future()
        self._building[snapshot] = future
        try:
            built = await self._build_analysis(snapshot)
            await store.put_analysis(built)
            self.snapshots_built += 1
            future.set_result(built)
            return built
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._building[snapshot]

    async def _build_analysis(self, snapshot: str) -> SnapshotAnalysis:
        prices = await (await self.runtime.snapshots()).prices(snapshot)
        regime = await self.regime(prices.as_of)
        panel = await self.panel(snapshot)
        returns = panel.returns
        whole = [s for s in returns.columns if len(returns) and returns[s].first_valid_index() == returns.index[0]]
        try:
            covariance, _ = ledoit_wolf_covariance(returns[whole])
        except AnalysisError as exc:
            raise InvalidInputError(f"snapshot {snapshot}: {exc}") from None
        common = returns[whole].dropna()
        return SnapshotAnalysis(
            snapshot_id=snapshot,
            as_of=prices.as_of,
            conditions=conditions_of(regime),
            symbols=list(covariance.columns),
            covariance=covariance.to_numpy().tolist(),
            start=common.index[0].date() if len(common) else None,
            end=common.index[-1].date() if len(common) else None,
            observations=len(common),
        )

    def account_risk(self, weights: Mapping[str, Decimal], snapshot: str, panel: MarketPanel) -> PortfolioRisk:
        """Risk of one account's weights over the snapshot's window (the common history of its holdings
        and the benchmark), in numpy on the snapshot's arrays; the covariance for the optimizer is the
        snapshot's, not repeated here."""
        held = sorted(s for s, w in weights.items() if w != 0)
        missing = [s for s in [*held, BENCHMARK] if s not in panel.arrays.column]
        if missing:
            raise InvalidInputError(f"no returns in the snapshot for {', '.join(missing)}")
        floats = {s: float(weights[s]) for s in held}
        try:
            metrics, by_class = account_risk(panel.arrays, floats, BENCHMARK, default_securities().asset_class)
        except AnalysisError as exc:
            raise InvalidInputError(str(exc)) from None
        return PortfolioRisk(
            volatility=metrics.volatility,
            max_drawdown=metrics.max_drawdown,
            var_95=metrics.var_95,
            cvar_95=metrics.cvar_95,
            sharpe=metrics.sharpe,
            beta=metrics.beta,
            risk_contribution=by_class,
            start=metrics.start,
            end=metrics.end,
            observations=metrics.observations,
        )

    async def analyze(self, command: AnalyzeMarket) -> Sequence[Outgoing]:
        risk = None
        if command.snapshot_id:
            analysis = await self.snapshot_analysis(command.snapshot_id)
            conditions = analysis.conditions
            if command.weights:
                risk = self.account_risk(command.weights, command.snapshot_id, await self.panel(command.snapshot_id))
        else:  # a version-1 command: histories for this run alone
            conditions = conditions_of(await self.regime(command.as_of))
            if command.weights:
                risk, _ = await self.risk(command.weights, command.as_of, command.universe)
        event = MarketAnalyzed(
            **result_envelope(command, self.runtime.clock.now()),
            conditions=conditions,
            risk=risk,
        )
        return [Outgoing(subjects.ANALYSIS_ANALYZED, event, event.message_id)]

    async def market_query(self, body: bytes) -> MarketAnalysisReply:
        query = decode_as(body, MarketAnalysisQuery)
        return MarketAnalysisReply(conditions=conditions_of(await self.regime(query.as_of)))

    async def risk_query(self, body: bytes) -> dict[str, Any]:
        query = decode_as(body, RiskQuery)
        as_of = query.as_of or (await self._history(HistoryQuery(symbols=[BENCHMARK], lookback_days=5))).dates[-1]
        _, detail = await self.risk(query.weights, as_of, after=query.after_weights, sessions=query.lookback_days)
        return detail

"""Settings of every process, from the environment (and an optional ``.env`` file).

Each variable is documented in the README's configuration table. Services read only what they need;
all share one model so a deployment has one place to look.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server URL(s), comma separated")
    nats_user: str | None = None
    nats_password: str | None = None
    nats_tls_ca: Path | None = Field(None, description="CA that signed the NATS server's certificate (enables TLS)")
    nats_tls_cert: Path | None = Field(None, description="client certificate, for servers that verify clients")
    nats_tls_key: Path | None = Field(None, description="the client certificate's private key")
    service_name: str = "service"
    log_level: str = "INFO"
    profile_dir: Path | None = Field(
        None, description="profile each service process (cProfile) into <dir>/<service>.prof when it stops"
    )
    log_json: bool = True

    provision_on_start: bool = Field(
        True, description="declare streams, consumers and buckets at start-up (needs an admin NATS user)"
    )

    # Reliability
    max_deliver: int = Field(5, ge=1, description="deliveries of a message before it goes to the DLQ")
    ack_wait_seconds: float = Field(30.0, gt=0)
    nak_delay_seconds: float = Field(0.5, ge=0, description="redelivery delay after a failed handling")
    stream_replicas: int = Field(
        1, ge=1, le=5, description="replicas of every stream, consumer and KV bucket (3 on a 3-node cluster)"
    )
    duplicate_window_seconds: float = Field(120.0, gt=0)
    evt_max_age_days: float = Field(7.0, gt=0)

    # Coordinator
    step_timeout_seconds: float = Field(30.0, gt=0, le=86_400)
    step_max_attempts: int = Field(3, ge=1, le=100)
    retry_backoff_seconds: float = Field(0.5, ge=0, le=3600)
    approval_timeout_seconds: float = Field(
        3600.0, gt=0, le=30 * 86_400, description="how long a run waits for approval (at most 30 days)"
    )
    batch_max_in_flight: int = Field(
        300, ge=1, description="runs of one batch under way at once (pacing): three chunks of a dry batch"
    )
    batch_chunk_size: int = Field(
        100,
        ge=1,
        le=500,
        description="dry runs of a batch that travel together through every step, one message per step "
        "(1: each run on its own)",
    )
    batch_reconcile_seconds: float = Field(10.0, gt=0, description="how often unfinished batches are reconciled")
    run_watchdog_seconds: float = Field(
        10.0, gt=0, description="how often the coordinator looks for runs whose deadline should have fired"
    )
    batch_retention_days: float = Field(30.0, gt=0, description="days a batch's state is kept after its last change")
    run_retention_days: float = Field(
        30.0, gt=0, description="how long runs, their step outputs and market snapshots are kept (KV TTL)"
    )
    keep_step_outputs: bool = Field(
        False,
        description="keep each step's output until the run expires; by default a finished run's outputs are "
        "dropped (its report says what they said)",
    )
    snapshot_cache_size: int = Field(8, ge=1, description="market snapshots each process keeps in memory (LRU)")
    step_cache_size: int = Field(
        4096,
        ge=1,
        description="step outputs each process keeps in memory (LRU): a few chunks of a batch's runs times their steps",
    )

    # Market data
    market_data_provider: Literal["file", "http"] = Field("file", description="where quotes and history come from")
    market_data_url: str | None = Field(None, description="base URL of the chart API, with MARKET_DATA_PROVIDER=http")
    market_data_timeout_seconds: float = Field(5.0, gt=0)
    market_data_rate_per_second: float = Field(
        5.0, gt=0, description="requests per second to the HTTP provider (a snapshot prices every security once)"
    )
    market_data_dir: Path | None = None
    as_of_date: date | None = Field(None, description="the run's date; default: last date of the data")
    stale_after_trading_days: int = Field(3, ge=0)

    # Trading costs (shared.costs: the planner, harvesting, the CLI and the paper broker)
    commission_per_trade: Decimal = Field(Decimal("0"), ge=0, description="dollars per order")
    commission_bps: Decimal = Field(Decimal("0"), ge=0, description="basis points of the notional")
    half_spread_bps: Decimal = Field(
        Decimal("5"), ge=0, description="half the bid-ask spread, basis points: buys fill above the close, sells below"
    )

    # Execution: the broker (README "Trading through a broker")
    broker: Literal["paper", "alpaca"] = Field("paper", description="where orders go: the paper broker or Alpaca")
    apca_api_key_id: SecretStr | None = Field(None, description="Alpaca API key id (never logged)")
    apca_api_secret_key: SecretStr | None = Field(None, description="Alpaca API secret key (never logged)")
    apca_api_base_url: str = Field("https://paper-api.alpaca.markets", description="Alpaca trading API base URL")
    apca_api_stream_url: str | None = Field(
        None, description="trade_updates websocket; default: the base URL's /stream"
    )
    broker_accounts_file: Path | None = Field(
        None, description="JSON: broker account -> where its Alpaca credentials are (env var names or files)"
    )
    broker_stream: bool = Field(
        True, description="follow fills by Alpaca's trade_updates stream (polling always backs it)"
    )
    block_orders: bool | None = Field(
        None,
        description="a batch's live runs trade as block orders, one per symbol and side for the whole batch "
        "(default: on with a real broker, off with the paper broker)",
    )
    block_wait_seconds: float = Field(
        3600.0, gt=0, le=86_400, description="execute-trades deadline of a run waiting for its batch's block"
    )
    broker_order_type: Literal["market", "limit"] = "market"
    broker_time_in_force: Literal["day", "gtc", "opg", "cls", "ioc", "fok"] = "day"
    broker_limit_bps: Decimal = Field(
        Decimal("20"), ge=0, description="a limit order's limit: the run's price plus (buy) or minus (sell) this"
    )
    broker_fractional: bool = Field(False, description="the broker account may trade fractional shares")
    broker_trade_when_closed: bool = Field(False, description="send orders while the market clock says closed")
    broker_poll_interval_seconds: float = Field(1.0, ge=0)
    broker_fill_polls: int = Field(60, ge=0, description="checks of an open order before it is canceled")
    broker_request_timeout_seconds: float = Field(10.0, gt=0)
    broker_max_retries: int = Field(5, ge=0, description="tries again after a 429, a 5xx or a timeout")
    broker_backoff_seconds: float = Field(0.5, ge=0)
    broker_price_allowance_bps: Decimal = Field(
        Decimal("25"), ge=0, description="slippage and fees a sell may lose before the buys are cut to the cash raised"
    )

    # Notifications
    webhook_url: str | None = None
    webhook_timeout_seconds: float = 5.0
    smtp_host: str | None = Field(None, description="SMTP server; with SMTP_TO set, each run's report is mailed")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = Field("rebalancer@localhost", description="the From address of report mails")
    smtp_to: str = Field("", description="comma-separated recipients of report mails")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    webhook_secret: str | None = Field(None, description="signs each webhook POST (Rebalancer-Signature header)")
    webhook_attempts: int = Field(4, ge=1, le=20, description="tries of a webhook POST before it is dead-lettered")
    webhook_backoff_seconds: float = Field(0.5, ge=0, le=60, description="delay before the 2nd try, doubling")

    # Operations
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve Prometheus metrics of a service process on this port (0: none)"
    )
    otel_traces_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="where OpenTelemetry spans go: nowhere (no tracing at all), stdout, or OTLP over HTTP"
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL (default http://127.0.0.1:4318; /v1/traces is appended)"
    )
    otel_traces_sample_ratio: float = Field(1.0, ge=0, le=1, description="share of new traces (runs) sampled")

    # Gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_api_keys: str = Field(
        "", description="comma-separated API keys; when set, every /api request needs one (Bearer or X-API-Key)"
    )
    gateway_keys_file: Path | None = Field(
        None, description='JSON list of {"tenant", "keySha256", "roles"}: the API keys of every tenant'
    )
    gateway_rate_limit_per_second: float = Field(100.0, gt=0, description="requests per second per API key")
    gateway_rate_burst: float | None = Field(None, gt=0, description="burst per key (default: the rate)")
    gateway_max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body (413 over it)")
    gateway_max_realized_body_bytes: int = Field(
        16_777_216, ge=1024, description="largest body of POST /api/tax/realized (413 over it)"
    )

    # Portfolio
    seed_demo: bool = Field(True, description="load the demo household into an empty store at start")
    fill_price_tolerance: Decimal = Field(
        Decimal("0.05"), ge=0, le=1, description="how far a fill's price may be from its recorded order's (fraction)"
    )
    household_file: Path | None = None

    @property
    def blocks_on(self) -> bool:
        """Whether a batch's live runs trade as block orders: ``BLOCK_ORDERS`` when set, else on with a real
        broker (one order per symbol and side for the batch) and off with the paper broker (it fills each
        account at once at the cost model; a block would only make the batch wait)."""
        return self.block_orders if self.block_orders is not None else self.broker != "paper"

    @property
    def nats_servers(self) -> list[str]:
        """``NATS_URL`` as the list of servers a client connects to (and fails over between)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (used by tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]

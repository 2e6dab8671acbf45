"""Settings from the environment (``ORDERGATE_*``), read once by the composition root."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordergate.domain.errors import InvalidInput
from ordergate.venue.rules import VenueConfig, VenueRules

__all__ = [
    "LogFormat",
    "LogLevel",
    "MarketSource",
    "Settings",
    "database_url",
    "venue_config",
]

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
LogFormat = Literal["text", "json"]
MarketSource = Literal["synthetic", "csv", "none"]


class Settings(BaseSettings):
    """Everything an ordergate process is configured with. Each field is read from the
    environment variable ``ORDERGATE_<FIELD>`` (e.g. ``ORDERGATE_DATABASE_URL``), or from a
    ``.env`` file in the working directory (the environment wins)."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERGATE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///ordergate.db",
        description=(
            "SQLAlchemy database URL. Plain sqlite:///path and postgresql://… are mapped to "
            "the async drivers (aiosqlite, asyncpg). The default is a SQLite file in the "
            "working directory, created on first start."
        ),
    )
    secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret that signs ScaleTrade session JWTs (at least 32 characters). When unset, "
            "one is generated on first start and kept in the database, so every process "
            "sharing the database agrees on it. Never logged."
        ),
    )
    sim_ack_delay_ms: int = Field(
        default=0,
        ge=0,
        description=(
            "How long the simulated venue takes to acknowledge a new order, a change or a "
            "cancel, in milliseconds. Above 0, orders can be seen in submitted, "
            "pending_change and pending_cancel, as against a real exchange."
        ),
    )
    sim_fill_delay_ms: int = Field(
        default=0,
        ge=0,
        le=3_600_000,
        description=(
            "How long after a quote crosses an order the simulated venue reports the fill, in "
            "milliseconds. A cancel sent in that window is refused as too late."
        ),
    )
    sim_cancel_delay_ms: int | None = Field(
        default=None,
        ge=0,
        le=3_600_000,
        description="How long a cancel takes at the simulated venue (unset: sim_ack_delay_ms).",
    )
    sim_cancel_refusal_pct: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Chance, in percent, that the simulated venue refuses a cancel (busy).",
    )
    sim_partial_fills: bool = Field(
        default=False,
        description="Fill no more than each quote's size (partial fills); off = full fills.",
    )
    sim_closed: list[str] = Field(
        default_factory=list,
        description='Symbols closed whatever their sessions, as JSON: ["ES 12-26"].',
    )
    sim_rules: dict[str, dict[str, int | bool]] = Field(
        default_factory=dict,
        description=(
            "Per-instrument overrides of the sim_* settings, as JSON: "
            '{"NQ 12-26": {"fill_delay_ms": 200, "cancel_refusal_pct": 10}}. Keys: '
            "ack_delay_ms, fill_delay_ms, cancel_delay_ms, cancel_refusal_pct, "
            "partial_fills, market_closed."
        ),
    )
    sim_seed: int = Field(default=0, description="Seed of the simulated venue's refusals.")
    sim_sessions: Literal["enforce", "ignore"] = Field(
        default="enforce",
        description=(
            "Whether the simulated venue keeps the instruments' trading hours: 'enforce' "
            "(orders, cancels and changes outside a session are refused as MARKET_CLOSED) or "
            "'ignore' (a sandbox: every instrument trades around the clock, every day; day "
            "orders last until the next UTC midnight, and an instrument reads as open). "
            "Symbols closed by sim_closed or sim_rules stay closed either way."
        ),
    )
    rate_limit_per_s: int = Field(
        default=3,
        ge=1,
        le=100_000,
        description="CrossTrade requests per second per user, sustained (HTTP and WebSocket).",
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, le=1_000_000, description="CrossTrade requests a user may burst."
    )
    rate_limit_enabled: bool = Field(
        default=True, description="Whether the CrossTrade rate limit applies at all."
    )
    auth_cache_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "Seconds a caller found for a CrossTrade token or a ScaleTrade staff session is "
            "kept, so that a request does not read it again (0: read every time). A token "
            "revoked by this process is refused at once, one revoked elsewhere (another "
            "process, plain SQL) within this many seconds (disabled users: access_check_s)."
        ),
    )
    access_check_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description=(
            "Seconds between the server's reads of which users and accounts are disabled: "
            "a user or an account disabled in any process stops within about this long."
        ),
    )
    commission_per_contract: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=1000,
        description=(
            "Commission charged per contract (lot) filled, in the account's currency. The "
            "account monitors count it when includeCommission is set; balances stay gross."
        ),
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        le=1024**3,
        description=(
            "Largest request body accepted, in bytes; a larger one is refused with 413 before "
            "it is read. Also the largest WebSocket message `ordergate serve` accepts."
        ),
    )
    body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds a client has to send a whole request body; slower ones get 408.",
    )
    host: str = Field(default="127.0.0.1", description="Interface `ordergate serve` binds to.")
    port: int = Field(
        default=8000, ge=0, le=65535, description="Port `ordergate serve` listens on."
    )
    jwt_ttl_minutes: int = Field(
        default=480, ge=1, description="Lifetime of a ScaleTrade session JWT, in minutes."
    )
    signin_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed ScaleTrade sign-ins of one login allowed per window before it is "
        "refused (429) until the oldest failure leaves the window.",
    )
    signin_address_max_failures: int = Field(
        default=50,
        ge=1,
        description="Failed ScaleTrade sign-ins from one client address allowed per window.",
    )
    signin_window_s: int = Field(
        default=300, ge=1, description="The sign-in throttle's window, in seconds."
    )
    log_level: LogLevel = Field(default="info", description="Log level of the server.")
    log_format: LogFormat = Field(
        default="text",
        description=(
            "Form of the server's log lines: 'text' (one readable line each) or 'json' (one "
            "JSON object per line, with the request id of the request it belongs to)."
        ),
    )
    market_source: MarketSource = Field(
        default="synthetic",
        description=(
            "Where the server's market data comes from: 'synthetic' (a seeded random walk "
            "of every quoted instrument whose session is open), 'csv' (a replay of "
            "market_csv) or 'none' (only quotes pushed through POST /admin/quotes). "
            "Quotes can be pushed through the API whatever the source."
        ),
    )
    market_seed: int = Field(
        default=42, description="Seed of the synthetic feed: the same seed, the same walk."
    )
    market_interval_ms: int = Field(
        default=250,
        ge=10,
        le=60_000,
        description="Milliseconds between two steps of the synthetic feed (at least 10).",
    )
    market_csv: Path | None = Field(
        default=None,
        validate_default=True,
        description=(
            "CSV file of quotes (time,symbol,bid,ask[,bid_size,ask_size,last,last_size]) or "
            "bars (time,symbol,open,high,low,close,volume) replayed when market_source is "
            "'csv'."
        ),
    )
    market_replay_speed: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        description=(
            "Pace of the CSV replay in percent of the file's own: 100 real time, 200 twice "
            "as fast, 0 without pauses."
        ),
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        # People write INFO as often as info; both mean the same.
        return value.lower() if isinstance(value, str) else value

    @field_validator("market_csv")
    @classmethod
    def _replay_needs_a_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # A field check (market_source is validated first), so the error names the setting.
        if value is None and info.data.get("market_source") == "csv":
            raise ValueError("required when market_source is 'csv'")
        return value


def venue_config(settings: Settings) -> VenueConfig:
    """The simulated venue's rules from the sim_* settings (bad rules: InvalidInput)."""
    cancel_delay = settings.sim_cancel_delay_ms
    default = VenueRules(
        ack_delay_ms=settings.sim_ack_delay_ms,
        fill_delay_ms=settings.sim_fill_delay_ms,
        cancel_delay_ms=settings.sim_ack_delay_ms if cancel_delay is None else cancel_delay,
        cancel_refusal_pct=settings.sim_cancel_refusal_pct,
        partial_fills=settings.sim_partial_fills,
    )
    config = VenueConfig(default=default, seed=settings.sim_seed, sessions=settings.sim_sessions)
    for symbol in settings.sim_closed:
        config.set(symbol, market_closed=True)
    for symbol, changes in settings.sim_rules.items():
        unknown = set(changes) - set(VenueRules.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"sim_rules[{symbol!r}]: unknown keys {sorted(unknown)}")
        config.set(symbol, **changes)
    return config


def database_url(raw: str) -> str:
    """A database URL from ``raw``: a URL as it is, anything else a SQLite file path."""
    return raw if "://" in raw else f"sqlite:///{raw}"

"""SQLAlchemy Core tables. Schema changes go through Alembic (store/migrations)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from ordergate.store.types import Fixed, UtcDateTime

__all__ = [
    "accounts",
    "alerts",
    "api_tokens",
    "bars",
    "fills",
    "instruments",
    "kill_switches",
    "management_log",
    "metadata",
    "monitors",
    "order_events",
    "orders",
    "pending_exits",
    "positions",
    "settings",
    "user_groups",
    "users",
    "webhooks",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite gives autoincrement only to INTEGER PRIMARY KEY (which is 64-bit there anyway).
Id = BigInteger().with_variant(Integer, "sqlite")

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    # A manager's or admin's ScaleTrade sign-in login; shares its numbers with accounts.login.
    Column("login", BigInteger, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

user_groups = Table(
    "user_groups",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_name", String(64), primary_key=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(64), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

# One webhook id per user: the unguessable part of its CrossTrade webhook URL (auth/webhooks.py).
webhooks = Table(
    "webhooks",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("webhook_id", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

instruments = Table(
    "instruments",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("description", String(128), nullable=False, default=""),
    Column("currency", String(8), nullable=False),
    Column("tick_size", Fixed, nullable=False),
    Column("point_value", Fixed, nullable=False),
    Column("digits", Integer, nullable=False),
    Column("lot_min", Fixed, nullable=False),
    Column("lot_max", Fixed, nullable=False),
    Column("lot_step", Fixed, nullable=False),
    # JSON list of {"days": [0..6], "start": "HH:MM", "end": "HH:MM"} in UTC; [] = always open.
    Column("sessions", Text, nullable=False, default="[]"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("login", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False, unique=True),
    Column("owner_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("group_name", String(64), nullable=False, index=True),
    Column("currency", String(8), nullable=False),
    Column("balance", Fixed, nullable=False),
    Column("leverage", Integer, nullable=False),
    Column("mode", String(8), nullable=False),
    Column("password_hash", String(255)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("ticket", Id, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("login", ForeignKey("accounts.login"), nullable=False),
    Column("symbol", ForeignKey("instruments.symbol"), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(10), nullable=False),
    Column("quantity", Fixed, nullable=False),
    Column("filled", Fixed, nullable=False),
    Column("avg_fill_price", Fixed),
    Column("limit_price", Fixed),
    Column("stop_price", Fixed),
    Column("tif", String(3), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("oco", String(64)),
    Column("tag", String(64)),
    Column("stop_loss", Fixed),
    Column("take_profit", Fixed),
    Column("comment", String(255), nullable=False, default=""),
    Column("closes_ticket", BigInteger),
    Column("status", String(16), nullable=False),
    Column("prior_status", String(16)),
    Column("version", Integer, nullable=False),
    # The request that last moved the order: ties a bulk batch's rows together.
    Column("request_id", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The caller's own id (CrossTrade place orderId): unique per account, null for most.
    Column("client_id", String(64)),
    Index("ux_orders_login_client_id", "login", "client_id", unique=True),
    # History by account. No index on status: every change of status would maintain it, and
    # only a restart reads orders by status (once, the whole table).
    Index("ix_orders_login", "login"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_ticket", ForeignKey("orders.ticket"), nullable=False, index=True),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("reason", String(255), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("request_id", String(32)),
    Column("at", UtcDateTime, nullable=False),
)

fills = Table(
    "fills",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_ticket", ForeignKey("orders.ticket"), nullable=False, index=True),
    Column("login", BigInteger, nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Fixed, nullable=False),
    Column("price", Fixed, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("ticket", BigInteger, primary_key=True, autoincrement=False),
    Column("login", ForeignKey("accounts.login"), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Fixed, nullable=False),
    Column("closed_quantity", Fixed, nullable=False),
    Column("open_price", Fixed, nullable=False),
    Column("close_price", Fixed),
    Column("realized_pnl", Fixed, nullable=False),
    Column("stop_loss", Fixed),
    Column("take_profit", Fixed),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Index("ix_positions_login_symbol", "login", "symbol"),
)

# Closed 1-minute bars of the market data (venue/bars.py); longer periods are rolled up.
bars = Table(
    "bars",
    metadata,
    Column("symbol", String(32), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("open", Fixed, nullable=False),
    Column("high", Fixed, nullable=False),
    Column("low", Fixed, nullable=False),
    Column("close", Fixed, nullable=False),
    Column("volume", Fixed, nullable=False),
    PrimaryKeyConstraint("symbol", "start"),
)

# The Alert History: one row per webhook alert received (store/alerts.py). The lists are JSON.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("latency_ms", Integer),
    Column("sender", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("command", String(64)),
    Column("accounts", Text, nullable=False, default="[]"),
    Column("raw", Text, nullable=False),
    Column("fields", Text, nullable=False, default="{}"),
    Column("error", String(64)),
    Column("detail", Text),
    Column("warnings", Text, nullable=False, default="[]"),
    Column("order_ids", Text, nullable=False, default="[]"),
    Column("multi_account_id", String(64)),
    Index("ix_alerts_user_id_received_at", "user_id", "received_at"),
)

# What a webhook alert left to do after its entry order (store/pending.py): exit legs that
# wait for the entry's fill (kind "bracket") and cancel_after timers (kind "cancel_after").
pending_exits = Table(
    "pending_exits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("login", Id, nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("spec", Text, nullable=False),
    Column("due_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
)

# Risk (store/risk.py): one monitor per account with its settings and kept watermarks (JSON),
# the kill switches that are on (scope "user" or "account", ref the user id or the login),
# and the management log.
monitors = Table(
    "monitors",
    metadata,
    Column("login", ForeignKey("accounts.login", ondelete="CASCADE"), primary_key=True),
    Column("settings", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("stopped_rule", String(32)),
    Column("marks", Text),
    Column("updated_at", UtcDateTime, nullable=False),
)

kill_switches = Table(
    "kill_switches",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("ref", BigInteger, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    PrimaryKeyConstraint("scope", "ref"),
)

management_log = Table(
    "management_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("login", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("type", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Index("ix_management_log_login_at", "login", "at"),
)

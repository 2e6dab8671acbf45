"""order_exposure: per account and symbol, the quantity left in open orders, kept by triggers

The margin check of every placement needs it; summing the account's open orders each time
was O(open orders). Triggers on ``orders`` keep one row per (login, symbol) exact in the same
transaction as the write, on SQLite and PostgreSQL alike (several server processes may share
one PostgreSQL, so a cache in a process would not do).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# domain.orders.NON_TERMINAL when this migration was written, the busiest first (SQLite
# compares them in turn). A migration is frozen: if that set changes, a new migration
# recreates the triggers (test_order_exposure tries each status).
STATUSES = (
    "working",
    "pending_cancel",
    "accepted",
    "partially_filled",
    "submitted",
    "pending_change",
)
OPEN = "(" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


def _is_open(row: str) -> str:
    # Not "status IN (...)": in a SQLite trigger that builds its lookup table again on every
    # row, which made a 100k-row bulk cancel ten times slower. Six comparisons cost nothing.
    return "(" + " OR ".join(f"{row}.status = '{s}'" for s in STATUSES) + ")"


# An order's contribution: what is left of it while it is open, nothing once it has ended.
_OLD = f"CASE WHEN {_is_open('OLD')} THEN OLD.quantity - OLD.filled ELSE 0 END"
_NEW = f"CASE WHEN {_is_open('NEW')} THEN NEW.quantity - NEW.filled ELSE 0 END"


def _add(login: str, symbol: str, delta: str) -> str:
    return (
        "INSERT INTO order_exposure (login, symbol, open_quantity)"
        f" VALUES ({login}, {symbol}, {delta})"
        " ON CONFLICT (login, symbol)"
        " DO UPDATE SET open_quantity = open_quantity + excluded.open_quantity;"
    )


# SQLite has row triggers only. The WHEN clauses keep the writes that leave the contribution as
# it is (a bulk cancel moving 100k orders working -> pending_cancel, an acknowledgement, a
# price change) down to a few comparisons per row. login and symbol never change in practice;
# if one does, the move trigger carries the old contribution over to the new key, and the
# update trigger (if the contribution changed too) adds the difference there.
SQLITE_TRIGGERS = {
    "orders_exposure_insert": (
        f"AFTER INSERT ON orders WHEN {_is_open('NEW')}",
        _add("NEW.login", "NEW.symbol", "NEW.quantity - NEW.filled"),
    ),
    "orders_exposure_update": (
        f"AFTER UPDATE OF status, quantity, filled ON orders WHEN ({_OLD}) <> ({_NEW})",
        _add("NEW.login", "NEW.symbol", f"({_NEW}) - ({_OLD})"),
    ),
    "orders_exposure_move": (
        "AFTER UPDATE OF login, symbol ON orders"
        " WHEN OLD.login <> NEW.login OR OLD.symbol <> NEW.symbol",
        _add("OLD.login", "OLD.symbol", f"-({_OLD})") + _add("NEW.login", "NEW.symbol", _OLD),
    ),
    "orders_exposure_delete": (
        f"AFTER DELETE ON orders WHEN {_is_open('OLD')}",
        _add("OLD.login", "OLD.symbol", "-(OLD.quantity - OLD.filled)"),
    ),
}


def _pg_upsert(deltas: str) -> str:
    """One upsert per (login, symbol) the statement changed, in key order: two statements
    never take the rows' locks in opposite orders."""
    return (
        "INSERT INTO order_exposure AS e (login, symbol, open_quantity)"
        f" SELECT login, symbol, sum(delta) FROM ({deltas}) AS d"
        " GROUP BY login, symbol HAVING sum(delta) <> 0 ORDER BY login, symbol"
        " ON CONFLICT (login, symbol)"
        " DO UPDATE SET open_quantity = e.open_quantity + excluded.open_quantity;"
    )


_PG_OLD = f"SELECT login, symbol, filled - quantity AS delta FROM old_orders WHERE status IN {OPEN}"
_PG_NEW = f"SELECT login, symbol, quantity - filled AS delta FROM new_orders WHERE status IN {OPEN}"

# PostgreSQL: statement triggers over the transition tables, so that a bulk statement moving
# 100k orders does one upsert per (login, symbol), not 100k upserts of one row. A transition
# table cannot serve two events, hence one function per event.
PG_TRIGGERS = {
    "orders_exposure_insert": ("INSERT", "NEW TABLE AS new_orders", _pg_upsert(_PG_NEW)),
    "orders_exposure_update": (
        "UPDATE",
        "OLD TABLE AS old_orders NEW TABLE AS new_orders",
        _pg_upsert(f"{_PG_OLD} UNION ALL {_PG_NEW}"),
    ),
    "orders_exposure_delete": ("DELETE", "OLD TABLE AS old_orders", _pg_upsert(_PG_OLD)),
}


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n    {body}\n    RETURN NULL;\nEND\n$$"
    )


BACKFILL = (
    "INSERT INTO order_exposure (login, symbol, open_quantity)"
    " SELECT login, symbol, sum(quantity - filled) FROM orders"
    f" WHERE status IN {OPEN} GROUP BY login, symbol"
)


def upgrade() -> None:
    op.create_table(
        "order_exposure",
        sa.Column("login", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("open_quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("login", "symbol", name=op.f("pk_order_exposure")),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # No order may be written between the backfill and the triggers (SQLite's migration
        # transaction holds the write lock already).
        op.execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
        for name, (event, referencing, body) in PG_TRIGGERS.items():
            op.execute(_pg_function(name, body))
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON orders REFERENCING {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        # TRUNCATE fires no delete trigger: an emptied orders table empties the aggregate.
        op.execute(_pg_function("orders_exposure_truncate", "DELETE FROM order_exposure;"))
        op.execute(
            "CREATE TRIGGER orders_exposure_truncate AFTER TRUNCATE ON orders"
            " FOR EACH STATEMENT EXECUTE FUNCTION orders_exposure_truncate()"
        )
    else:
        for name, (when, body) in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
    op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in [*PG_TRIGGERS, "orders_exposure_truncate"]:
            op.execute(f"DROP TRIGGER {name} ON orders")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("order_exposure")

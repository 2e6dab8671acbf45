"""The engine keeps its state in memory: drop order_exposure and the triggers that kept it

The margin check reads each account's open quantity from the engine's memory, so the
aggregate and its triggers go. The orders' indexes on (login, status, symbol) and on status
served the engine's reads of open orders, which memory answers now; history reads by
account keep an index on login alone, which no change of status has to maintain (a restart
reads the open orders once, scanning the table).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: The triggers of revision 0004 (a migration is frozen: these names, not an import).
PG_TRIGGERS = (
    "orders_exposure_insert",
    "orders_exposure_update",
    "orders_exposure_delete",
    "orders_exposure_truncate",
)
SQLITE_TRIGGERS = (
    "orders_exposure_insert",
    "orders_exposure_update",
    "orders_exposure_move",
    "orders_exposure_delete",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON orders")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("order_exposure")
    op.drop_index("ix_orders_login_status_symbol", table_name="orders")
    op.drop_index("ix_orders_status", table_name="orders")
    op.create_index("ix_orders_login", "orders", ["login"])


def downgrade() -> None:
    op.drop_index("ix_orders_login", table_name="orders")
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_login_status_symbol", "orders", ["login", "status", "symbol"])
    # 0004's own upgrade gives its schema back: the table, its triggers, the aggregate
    # backfilled from the orders as they are now.
    import_module("ordergate.store.migrations.versions.0004_order_exposure").upgrade()

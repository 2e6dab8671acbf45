"""orders.client_id: the caller's own id for an order, unique per account

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
    op.create_index("ux_orders_login_client_id", "orders", ["login", "client_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_orders_login_client_id", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("client_id")

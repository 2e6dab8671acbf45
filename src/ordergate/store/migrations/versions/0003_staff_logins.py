"""users.login: the integer login a manager or admin signs in to ScaleTrade with

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("login", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(op.f("uq_users_login"), ["login"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_login"), type_="unique")
        batch.drop_column("login")

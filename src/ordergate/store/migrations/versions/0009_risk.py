"""risk: account monitors (settings, state and kept watermarks), kill switches per user and
per account, and the management log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("login", sa.BigInteger(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stopped_rule", sa.String(length=32), nullable=True),
        sa.Column("marks", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["login"],
            ["accounts.login"],
            name=op.f("fk_monitors_login_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_monitors")),
    )
    op.create_table(
        "kill_switches",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.BigInteger(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("scope", "ref", name=op.f("pk_kill_switches")),
    )
    op.create_table(
        "management_log",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("login", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_management_log")),
    )
    op.create_index("ix_management_log_login_at", "management_log", ["login", "at"], unique=False)
    # A user's kill switch moves from its webhook row to kill_switches (scope "user").
    op.execute(
        "INSERT INTO kill_switches (scope, ref, set_at, actor)"
        " SELECT 'user', user_id, created_at, 'webhook' FROM webhooks WHERE kill_switch"
    )
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("kill_switch")


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("kill_switch", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE webhooks SET kill_switch = TRUE WHERE user_id IN"
        " (SELECT ref FROM kill_switches WHERE scope = 'user')"
    )
    op.drop_index("ix_management_log_login_at", table_name="management_log")
    op.drop_table("management_log")
    op.drop_table("kill_switches")
    op.drop_table("monitors")

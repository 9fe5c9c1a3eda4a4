"""walls: the live log of a campaign's projector screen

Revision ID: 0017_walls
Revises: 0009_events
Create Date: 2026-12-02 13:50:00

"""

import sqlalchemy as sa
from alembic import op

import core.types

revision = "0017_walls"
down_revision = "0011_reminders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "campaign_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", core.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('gift')", name=op.f("ck_campaign_messages_kind")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_messages_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_messages")),
    )
    with op.batch_alter_table("campaign_messages", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_messages_campaign_id", ["campaign_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("campaign_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_messages_campaign_id")
    op.drop_table("campaign_messages")

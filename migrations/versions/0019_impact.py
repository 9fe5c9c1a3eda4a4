"""impact: the service activities staff record (visits, case work, sessions) for the impact report;
a caseworker may show a gift's photo in public

Revision ID: 0019_impact
Revises: 0018_reconcile_actions
Create Date: 2026-12-02 17:17:18

"""

import sqlalchemy as sa
from alembic import op

import core.types

revision = "0019_impact"
down_revision = "0018_reconcile_actions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=False),
        sa.Column("community", sa.String(length=60), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "kind IN ('home_visit', 'case_work', 'group_session', 'school_session', 'community_activity', 'counselling', 'phone_follow_up', 'other')",
            name=op.f("ck_service_activities_kind"),
        ),
        sa.CheckConstraint(
            "children >= 0 AND people >= 1 AND children <= people", name=op.f("ck_service_activities_counts")
        ),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_service_activities_fund_id_funds")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_service_activities_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_service_activities_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(["voided_by_id"], ["users.id"], name=op.f("fk_service_activities_voided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_activities")),
    )
    with op.batch_alter_table("service_activities", schema=None) as batch_op:
        batch_op.create_index("ix_service_activities_district", ["district", "happened_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_activities_fund_id"), ["fund_id"], unique=False)
        batch_op.create_index("ix_service_activities_happened_on", ["happened_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_activities_project_id"), ["project_id"], unique=False)

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thanks_photo_public", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("thanks_photo_public")
    with op.batch_alter_table("service_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_activities_project_id"))
        batch_op.drop_index("ix_service_activities_happened_on")
        batch_op.drop_index(batch_op.f("ix_service_activities_fund_id"))
        batch_op.drop_index("ix_service_activities_district")

    op.drop_table("service_activities")

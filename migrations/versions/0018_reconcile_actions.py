"""reconcile actions: item layers, correcting journals and links, runs in the background

Revision ID: 0018_reconcile_actions
Revises: 0017_walls
Create Date: 2026-12-02 17:30:00

"""

import sqlalchemy as sa
from alembic import op

import core.types

revision = "0018_reconcile_actions"
down_revision = "0017_walls"
branch_labels = None
depends_on = None

OLD_KINDS = "'missing_here', 'missing_there', 'amount_mismatch', 'duplicate', 'suggested', 'ambiguous'"
NEW_KINDS = OLD_KINDS + ", 'no_fund'"


def upgrade():
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pages", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("fetched", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("heartbeat_at", core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failure", sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_reconcile_runs_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_reconcile_runs_status"), "status IN ('running', 'open', 'closed', 'failed')"
        )
        batch_op.create_index(
            "uq_reconcile_runs_running",
            ["source"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
    with op.batch_alter_table("reconcile_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("layer", sa.String(length=20), server_default="donation_charge", nullable=False)
        )
        batch_op.add_column(sa.Column("external_ref", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("journal_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("linked_donation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reconcile_items_journal_id_ledger_journals"), "ledger_journals", ["journal_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reconcile_items_linked_donation_id_donations"), "donations", ["linked_donation_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_reconcile_items_linked_donation_id"), ["linked_donation_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("ck_reconcile_items_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_reconcile_items_kind"), f"kind IN ({NEW_KINDS})")
        batch_op.create_check_constraint(
            batch_op.f("ck_reconcile_items_layer"), "layer IN ('donation_charge', 'charge_payout', 'bank')"
        )
    # Items of bank runs were found by the bank layer.
    op.execute(
        "UPDATE reconcile_items SET layer = 'bank' "
        "WHERE run_id IN (SELECT id FROM reconcile_runs WHERE source = 'bank')"
    )


def downgrade():
    op.execute("DELETE FROM reconcile_items WHERE kind = 'no_fund'")
    with op.batch_alter_table("reconcile_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_reconcile_items_layer"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_reconcile_items_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_reconcile_items_kind"), f"kind IN ({OLD_KINDS})")
        batch_op.drop_index(batch_op.f("ix_reconcile_items_linked_donation_id"))
        batch_op.drop_constraint(batch_op.f("fk_reconcile_items_linked_donation_id_donations"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_reconcile_items_journal_id_ledger_journals"), type_="foreignkey")
        batch_op.drop_column("linked_donation_id")
        batch_op.drop_column("journal_id")
        batch_op.drop_column("external_ref")
        batch_op.drop_column("layer")
    op.execute("UPDATE reconcile_runs SET status = 'failed' WHERE status = 'running'")
    op.execute("DELETE FROM reconcile_items WHERE run_id IN (SELECT id FROM reconcile_runs WHERE status = 'failed')")
    op.execute("DELETE FROM bank_matches WHERE run_id IN (SELECT id FROM reconcile_runs WHERE status = 'failed')")
    op.execute("DELETE FROM reconcile_runs WHERE status = 'failed'")
    with op.batch_alter_table("reconcile_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_reconcile_runs_running")
        batch_op.drop_constraint(batch_op.f("ck_reconcile_runs_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_reconcile_runs_status"), "status IN ('open', 'closed')")
        batch_op.drop_column("failure")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("fetched")
        batch_op.drop_column("pages")

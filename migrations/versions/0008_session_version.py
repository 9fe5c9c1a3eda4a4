"""users.session_version: ending every session of an account

Revision ID: 0008_session_version
Revises: 0007_simulated_donations
Create Date: 2026-12-02 03:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_session_version"
down_revision = "0007_simulated_donations"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")

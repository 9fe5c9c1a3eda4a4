"""claims.thanks_note and claims.thanks_photo: the caseworker's thank-you to the donor

Revision ID: 0014_claim_thanks
Revises: 0013_search
Create Date: 2026-12-02 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_claim_thanks"
down_revision = "0013_search"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thanks_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("thanks_photo", sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("thanks_photo")
        batch_op.drop_column("thanks_note")

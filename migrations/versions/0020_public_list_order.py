"""the public list's index covers its whole order (published_at, then id), so the newest page
is read in index order without a sort

Revision ID: 0020_public_list_order
Revises: 0019_impact
Create Date: 2026-12-03 10:40:00

"""

from alembic import op

revision = "0020_public_list_order"
down_revision = "0019_impact"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.drop_index("ix_wishes_public_list")
        batch_op.create_index("ix_wishes_public_list", ["status", "published_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("wishes", schema=None) as batch_op:
        batch_op.drop_index("ix_wishes_public_list")
        batch_op.create_index("ix_wishes_public_list", ["status", "published_at"], unique=False)

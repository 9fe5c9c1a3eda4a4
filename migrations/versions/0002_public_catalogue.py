"""public catalogue version: one row whose number changes with every change to the public lists

Revision ID: 0002_public_catalogue
Revises: 0001_foundation
Create Date: 2026-11-22 09:30:02.982092

"""
import time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_public_catalogue'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    catalogue = op.create_table('public_catalogue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_catalogue'))
    )
    # Start from the clock in microseconds, as core/cache.py does for a row it recreates.
    op.bulk_insert(catalogue, [{'id': 1, 'version': time.time_ns() // 1000}])


def downgrade():
    op.drop_table('public_catalogue')

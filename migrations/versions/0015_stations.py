"""stations: where donors bring or post the gifts of each street

Revision ID: 0015_stations
Revises: 0014_claim_thanks
Create Date: 2026-12-02 14:30:00

"""

import sqlalchemy as sa
from alembic import op

import core.types

revision = "0015_stations"
down_revision = "0014_claim_thanks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.String(length=120), nullable=False),
        sa.Column("contact_name", sa.String(length=60), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("postal_address", sa.String(length=200), nullable=True),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("district", "street", name="uq_stations_district_street"),
    )


def downgrade():
    op.drop_table("stations")

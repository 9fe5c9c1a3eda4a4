"""places: the managed list of districts, streets and communities

Revision ID: 0016_places
Revises: 0009_events
Create Date: 2026-12-02 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016_places"
down_revision = "0009_events"
branch_labels = None
depends_on = None


def upgrade():
    places = op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=40), nullable=False),
        sa.Column("community", sa.String(length=60), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("district", "street", "community", name="uq_places_district_street_community"),
    )
    # The places children are already in start the list.
    children = sa.table("children", sa.column("district"), sa.column("street"), sa.column("community"))
    connection = op.get_bind()
    rows = connection.execute(sa.select(children.c.district, children.c.street, children.c.community).distinct()).all()
    seen = {(d, s, c or "") for d, s, c in rows}
    if seen:
        connection.execute(
            places.insert(), [{"district": d, "street": s, "community": c, "active": True} for d, s, c in sorted(seen)]
        )


def downgrade():
    op.drop_table("places")

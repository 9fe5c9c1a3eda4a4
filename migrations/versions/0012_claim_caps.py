"""claims.contact_key and claims.client_key: caps on the wishes one person holds

Revision ID: 0012_claim_caps
Revises: 0008_session_version
Create Date: 2026-12-02 13:00:00

"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0012_claim_caps"
down_revision = "0008_session_version"
branch_labels = None
depends_on = None


def _contact_key(contact: str) -> str:
    # As core.contacts.contact_key on the day of this migration.
    value = unicodedata.normalize("NFKC", contact or "").strip()
    if "@" in value:
        return value.lower()
    digits = re.sub(r"[^0-9]", "", value)
    match = re.match(r"^(?:0086|86)(1\d{10})$", digits)
    return match.group(1) if match else digits


def upgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_key", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("client_key", sa.String(length=48), nullable=True))
        batch_op.create_index("ix_claims_contact_key_status", ["contact_key", "status"], unique=False)
        batch_op.create_index("ix_claims_client_key_status", ["client_key", "status"], unique=False)
    claims = sa.table("claims", sa.column("id", sa.Integer), sa.column("contact", sa.String), sa.column("contact_key"))
    connection = op.get_bind()
    rows = connection.execute(sa.select(claims.c.id, claims.c.contact)).all()
    for claim_id, contact in rows:
        connection.execute(
            claims.update().where(claims.c.id == claim_id).values(contact_key=_contact_key(contact))
        )


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_client_key_status")
        batch_op.drop_index("ix_claims_contact_key_status")
        batch_op.drop_column("client_key")
        batch_op.drop_column("contact_key")

"""wish_terms: search over wish titles and stories (wishes/search.py)

Revision ID: 0013_search
Revises: 0012_claim_caps
Create Date: 2026-12-02 13:30:00

"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0013_search"
down_revision = "0012_claim_caps"
branch_labels = None
depends_on = None

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _terms(text: str) -> set[str]:
    # As wishes.search.terms on the day of this migration.
    found: set[str] = set()
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", text or "").lower()):
        run = match.group(0)
        if not _HAN.match(run):
            found.add(run[:32])
        elif len(run) == 1:
            found.add(run)
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
            # A run's last character starts no pair: alone, so that one character finds it too.
            found.add(run[-1])
    return found


def upgrade():
    terms = op.create_table(
        "wish_terms",
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["wish_id"], ["wishes.id"], name=op.f("fk_wish_terms_wish_id_wishes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "wish_id", name=op.f("pk_wish_terms")),
    )
    with op.batch_alter_table("wish_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wish_terms_wish_id"), ["wish_id"], unique=False)
    wishes = sa.table("wishes", sa.column("id", sa.Integer), sa.column("title", sa.String), sa.column("story", sa.Text))
    connection = op.get_bind()
    for wish_id, title, story in connection.execute(sa.select(wishes.c.id, wishes.c.title, wishes.c.story)).all():
        rows = [{"wish_id": wish_id, "term": t} for t in sorted(_terms(f"{title}\n{story}"))]
        if rows:
            connection.execute(terms.insert(), rows)


def downgrade():
    with op.batch_alter_table("wish_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wish_terms_wish_id"))
    op.drop_table("wish_terms")

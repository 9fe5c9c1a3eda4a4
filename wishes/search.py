"""Searching wish titles and stories, in Chinese as people type it: without spaces between words.

Chinese has no spaces to split words on, and a donor looks for two-character words (书包,
球鞋, 钢琴). Each wish's title and story are indexed as the overlapping pairs of characters
in every run of Chinese, with the run's last character alone (运动鞋 → 运动, 动鞋, 鞋), and as whole words in every run of Latin
letters or digits, in a plain table (`wish_terms`) with its primary key on (term, wish):

- a query of two or more Chinese characters finds the wishes that hold all its pairs;
- a single character, or a Latin word, finds the terms that start with it (an index range:
  every character of a text starts a pair or ends a run);
- every term of the query must match (AND), so 红色书包 finds red schoolbags, not every red thing.

The same table and SQL serve SQLite and PostgreSQL, so the site behaves the same on both. A
trigram index (SQLite FTS5 `trigram`, PostgreSQL `pg_trgm`) was the other choice; it cannot
use its index for a two-character query, the commonest Chinese search (docs/decisions.md).

Terms are written by the mapper's own events whenever a wish is inserted or its title or
story changes, in the same transaction, so no service has to remember to.
"""

import re
import unicodedata

from sqlalchemy import and_, bindparam, delete, event, insert, inspect, select

from wishes.models import Wish, WishTerm

#: Han characters (the unified blocks and extension A) and Latin words or numbers.
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: A term's longest form: Latin words are cut here (a prefix search still finds them).
TERM_MAX = 32
#: A search counts its matches up to here and no further: "more than 1,000" is all a reader
#: needs, and an exact count of a common word's ten thousand wishes cost most of the search.
COUNT_CAP = 1000
#: The longest query the list and the API take, in characters.
QUERY_MAX_LENGTH = 50
#: The most terms one query may hold; a longer query keeps its first ones.
QUERY_TERMS_MAX = 8
#: After every possible term: the upper end of a prefix's index range.
_AFTER = "\U0010ffff"


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _runs(text: str):
    for match in _TOKEN.finditer(_normal(text)):
        yield match.group(0), bool(_HAN.match(match.group(0)))


def terms(text: str) -> set[str]:
    """What a wish's text is indexed by."""
    found: set[str] = set()
    for run, han in _runs(text):
        if not han:
            found.add(run[:TERM_MAX])
        elif len(run) == 1:
            found.add(run)
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
            # A run's last character starts no pair: alone, so that one character finds it too.
            found.add(run[-1])
    return found


def query_terms(text: str) -> tuple[tuple[str, bool], ...]:
    """A query as (term, is_prefix) pairs: every one must match."""
    wanted: dict[str, bool] = {}
    for run, han in _runs(text):
        if han and len(run) > 1:
            for i in range(len(run) - 1):
                wanted.setdefault(run[i : i + 2], False)
        else:
            wanted.setdefault(run[:TERM_MAX], True)
    return tuple(wanted.items())[:QUERY_TERMS_MAX]


def term_condition(column, prefix: bool, name: str):
    """One term's condition on a column of wish ids, with the term as the named parameter."""
    terms_table = WishTerm.__table__.c
    if prefix:
        where = and_(terms_table.term >= bindparam(name), terms_table.term < bindparam(name + "_end"))
    else:
        where = terms_table.term == bindparam(name)
    return column.in_(select(terms_table.wish_id).where(where))


def driver_term(words: tuple[bool, ...]) -> int | None:
    """Which of the query's terms the search starts from: its first whole term (a pair of
    characters or a whole word), or None when every term is a prefix. A whole term names each
    wish once; a prefix may name a wish under several terms, so it only filters."""
    return next((n for n, prefix in enumerate(words) if not prefix), None)


def driver(words: tuple[bool, ...]):
    """The wish ids of the query's driving term, as a table to start from: the search reads the
    wishes that hold the term (by the terms' primary key) instead of every public wish."""
    name = f"term{driver_term(words)}"
    terms_table = WishTerm.__table__.c
    return select(terms_table.wish_id).where(terms_table.term == bindparam(name)).subquery("found")


def term_values(found: tuple[tuple[str, bool], ...]) -> dict:
    values: dict = {}
    for n, (term, prefix) in enumerate(found):
        values[f"term{n}"] = term
        if prefix:
            values[f"term{n}_end"] = term + _AFTER
    return values


def _index(connection, wish_id: int, title: str, story: str) -> None:
    table = WishTerm.__table__
    connection.execute(delete(table).where(table.c.wish_id == wish_id))
    rows = [{"wish_id": wish_id, "term": t} for t in sorted(terms(f"{title}\n{story}"))]
    if rows:
        connection.execute(insert(table), rows)


@event.listens_for(Wish, "after_insert")
def _wish_inserted(_mapper, connection, wish: Wish) -> None:
    _index(connection, wish.id, wish.title, wish.story)


@event.listens_for(Wish, "after_update")
def _wish_updated(_mapper, connection, wish: Wish) -> None:
    attrs = inspect(wish).attrs
    if attrs.title.history.has_changes() or attrs.story.history.has_changes():
        _index(connection, wish.id, wish.title, wish.story)

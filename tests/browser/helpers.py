"""Assertions and database reads shared by the browser tests."""

from contextlib import contextmanager


def assert_no_horizontal_scroll(page) -> None:
    """The page fits the viewport's width: nothing to scroll sideways on a phone."""
    sizes = page.evaluate(
        """() => {
            const width = window.innerWidth;
            const wide = [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 0.5)
                .slice(0, 5)
                .map(el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replace(/ +/g, '.') : ''));
            return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide};
        }"""
    )
    assert sizes["scrollWidth"] <= sizes["innerWidth"], f"{page.url} scrolls sideways on a phone: {sizes}"


@contextmanager
def reading(db):
    """Read the database from the test thread, then let go of the snapshot at once."""
    db.session.rollback()
    try:
        yield db.session
    finally:
        db.session.rollback()

"""Fragment caching for templates: `{% fragment key %}…{% endfragment %}`.

The part of a page between the tags is rendered once per key and kept in a bounded LRU per
process; a key of `none` renders it every time. The key must name everything the fragment
shows, so that nothing ever needs invalidating: a fragment whose content changed has a new
key. base.html keeps its head and its top bar this way for visitors who are not signed in
(their key is the locale, the page's share data and the request's path and query); the top
bar of a signed-in person carries a CSRF token and is rendered every time.

A whole page can be kept the same way as a frame with holes (`frame`, `Frame.fill`): rendered
once per key with a marker where each hole goes, then filled on every request with what
changes between two requests of the same URL (the list's counts and cards). It is for pages
that anonymous visitors see without flash messages (`frameable`): a signed-in visitor's page
carries a CSRF token, and a flash message is shown once.

Why: on the public list rendered afresh (after every claim) the page's frame cost as much
CPU as its list did — fifteen `url_for`, thirty translations and the share card, the same
for every visitor of that URL (docs/performance.md, "The list page without the response
cache").
"""

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from flask import current_app, session
from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup

from core.auth import may_be_signed_in

#: Fragments kept per process; each is a few kilobytes.
SIZE = 2048


class FragmentCache:
    """A thread-safe LRU of rendered fragments."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FragmentExtension(Extension):
    tags = {"fragment"}

    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(fragment_cache=FragmentCache(), frame_cache=FragmentCache(FRAMES))

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endfragment",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", [key]), [], [], body).set_lineno(lineno)

    def _render(self, key, caller):
        if key is None:
            return caller()
        cache = self.environment.fragment_cache
        found = cache.get(key)
        if found is None:
            # The fragment is the output of this autoescaping environment: escaped already.
            found = Markup(caller())  # nosec B704
            cache.put(key, found)
        return found


def init_app(app) -> None:
    app.jinja_env.add_extension(FragmentExtension)
    app.jinja_env.globals["may_be_signed_in"] = may_be_signed_in


# --- frames -----------------------------------------------------------------------------------

#: Frames kept per process; each is one page of about 10 kB.
FRAMES = 256

#: A hole's marker: a name between two NULs, after a secret drawn by each process, so that no
#: text a visitor can send (a search, a query string echoed in a link) can stand for a hole.
_SEAL = secrets.token_hex(8)
_HOLE = re.compile("\x00" + _SEAL + r"(\w+)\x00")


def hole(name: str) -> Markup:
    """The marker a frame is rendered with where the hole `name` goes."""
    return Markup(f"\x00{_SEAL}{name}\x00")  # nosec B704 - hex digits and a word


class Frame(NamedTuple):
    """A page as the text between its holes, and the holes' names in order."""

    parts: tuple[str, ...]
    names: tuple[str, ...]

    def fill(self, values: Mapping[str, object]) -> Markup:
        """The page with each hole replaced by its value, escaped unless it is Markup already."""
        out = [self.parts[0]]
        for name, part in zip(self.names, self.parts[1:], strict=True):
            out.append(Markup.escape(values[name]))
            out.append(part)
        return Markup("".join(out))  # nosec B704 - the frame's own output and escaped values


def frameable() -> bool:
    """Whether this request may be answered from a frame: an anonymous visitor with no flash
    message waiting (core.auth.may_be_signed_in reads the session without loading anyone)."""
    return not may_be_signed_in() and "_flashes" not in session


def frame(key, names: Iterable[str], render: Callable[[dict], str]) -> Frame | None:
    """The frame of `key`, rendered on first use by `render(markers)`, where `markers` maps
    each hole's name to its marker (`hole`), which the template prints where the value goes.

    The key must name everything the page shows but the holes, as a fragment's key does. A
    template may only print a hole's value, never test or compute with it. A rendering with a
    marker that is not one of the names, or with a piece of one, is not kept, and None says to
    render the page in full.

    Frames are kept per app, as fragments are: the page's absolute links follow its config."""
    frames = current_app.jinja_env.frame_cache
    found = frames.get(key)
    if found is None:
        names = tuple(names)
        pieces = _HOLE.split(render({name: hole(name) for name in names}))
        parts, found_names = tuple(pieces[0::2]), tuple(pieces[1::2])
        if set(found_names) - set(names) or any(_SEAL in part for part in parts):
            return None
        found = Frame(parts, found_names)
        frames.put(key, found)
    return found

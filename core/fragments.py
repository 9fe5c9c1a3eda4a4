"""Fragment caching for templates: `{% fragment key %}…{% endfragment %}`.

The part of a page between the tags is rendered once per key and kept in a bounded LRU per
process; a key of `none` renders it every time. The key must name everything the fragment
shows, so that nothing ever needs invalidating: a fragment whose content changed has a new
key. base.html keeps its head and its top bar this way for visitors who are not signed in
(their key is the locale, the page's share data and the request's path and query); the top
bar of a signed-in person carries a CSRF token and is rendered every time.

Why: on the public list rendered afresh (after every claim) the page's frame cost as much
CPU as its list did — fifteen `url_for`, thirty translations and the share card, the same
for every visitor of that URL (docs/performance.md, "The list page without the response
cache").
"""

import threading
from collections import OrderedDict

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
        environment.extend(fragment_cache=FragmentCache())

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

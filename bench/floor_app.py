"""The real app with one more route that does nothing: what the app's own hooks cost per request.

bench/run.py serves it (with the response cache off) beside the real app, to measure the list
page and API without the cache and the floor under which no route of this app can go.
"""

from app import create_app


def make(config: dict | None = None):
    app = create_app(config)
    app.add_url_rule("/_bench/floor", "bench_floor", lambda: "ok")
    return app

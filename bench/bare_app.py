"""The yardstick: a bare Flask route served with the same gunicorn settings as the real app."""

import logging
import os

from flask import Flask

logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "WARNING"))

app = Flask(__name__)


@app.get("/")
def ok():
    return "ok"

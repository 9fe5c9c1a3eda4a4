"""The key that signs sessions, remember-me cookies and CSRF tokens: never a key anyone else knows.

In production (`APP_ENV=production`) the site refuses to start without `SECRET_KEY`, or
with a key that is published anywhere (this project's old development default, the
usual placeholders). Elsewhere a missing key is replaced by a random one generated once
and kept in the instance folder (readable by its owner only), so every worker of one
machine signs with the same key and a restart keeps people signed in; the log says so
plainly. Several machines need the same SECRET_KEY set in their environment.
"""

import logging
import os
import secrets
from pathlib import Path

logger = logging.getLogger(__name__)

#: Keys that are published and so protect nothing: refused in production, warned about elsewhere.
KNOWN_KEYS = frozenset(
    {
        "dev-only-secret-change-me",
        "change-me",
        "changeme",
        "secret",
        "secret-key",
        "dev",
        "development",
        "test",
        "password",
    }
)
MIN_LENGTH = 32
FILE_NAME = "secret_key"


class InsecureSecretKey(RuntimeError):
    pass


def configure_secret_key(app) -> None:
    key = app.config.get("SECRET_KEY") or ""
    production = app.config.get("APP_ENV") == "production"
    problem = None
    if not key:
        problem = "SECRET_KEY is not set"
    elif key in KNOWN_KEYS:
        problem = "SECRET_KEY is a published placeholder"
    elif production and len(key) < MIN_LENGTH:
        problem = f"SECRET_KEY is shorter than {MIN_LENGTH} characters"
    if problem is None:
        return
    if production:
        raise InsecureSecretKey(
            f"{problem}: refusing to start in production. "
            f'Set SECRET_KEY to a random value, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))".'
        )
    if key:
        logger.warning("%s: sessions can be forged by anyone who knows it; set SECRET_KEY", problem)
        return
    app.config["SECRET_KEY"] = _instance_key(Path(app.instance_path))
    logger.warning(
        "SECRET_KEY is not set: using a random development key kept in %s; set SECRET_KEY in production",
        Path(app.instance_path) / FILE_NAME,
    )


def _instance_key(folder: Path) -> str:
    """The instance's own random key, created at first use; workers starting together agree on one."""
    path = folder / FILE_NAME
    folder.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        candidate = folder / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            # A hard link never replaces an existing file: the first worker's key wins.
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()

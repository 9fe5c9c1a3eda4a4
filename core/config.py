"""Configuration from the environment; every setting has a development default."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _public_base_url() -> str:
    """PUBLIC_BASE_URL, or the address `make run` serves on (HOST and PORT): links in mail, QR
    codes and posters lead back to the server that made them. A server listening on every
    interface (0.0.0.0) is reached on this machine at 127.0.0.1; to serve others, set
    PUBLIC_BASE_URL to the address they use."""
    url = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if url:
        return url.rstrip("/")
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):  # nosec B104 (a comparison, not a bind)
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = os.environ.get("PORT", "").strip() or "5000"
    return f"http://{host}:{port}"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url or f"sqlite:///{BASE_DIR / 'instance' / 'weixinyuan.db'}"


class Config:
    #: "production" makes the site refuse unsafe settings (core/secret_key.py); anything else is development.
    APP_ENV = os.environ.get("APP_ENV", "development")
    #: Without it, development uses a random key kept in the instance folder; production refuses to start.
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL", "")
    PUBLIC_BASE_URL = _public_base_url()

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    #: The offline payment simulator stands in for Stripe only when switched on (`make run` does, for the demo).
    PAYMENT_SIMULATOR = os.environ.get("PAYMENT_SIMULATOR", "0") == "1"
    #: A demo site counts simulated donations in the public figures; any other site never does.
    DEMO_SITE = os.environ.get("DEMO_SITE", "0") == "1"

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "微心愿 <no-reply@localhost>")
    #: A local relay needs neither; a provider's submission port (587) wants STARTTLS and a login.
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0").lower() in ("1", "true", "yes")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    #: Days before a claim's due date on which its donor is reminded, until a fund administrator sets others.
    CLAIM_REMINDER_DAYS = os.environ.get("CLAIM_REMINDER_DAYS", "7,2,0")
    #: How long "I need more time" moves a claim's due date, once, never past the wish's needed-by date.
    CLAIM_EXTENSION_DAYS = _int("CLAIM_EXTENSION_DAYS", 7)
    #: "module:function" that sends a text message (a gateway); empty writes them to the log, number masked.
    SMS_SENDER = os.environ.get("SMS_SENDER", "")

    #: A CJK font file for share pictures (core/share.py); empty: the usual Noto CJK and WenQuanYi files.
    SHARE_FONT = os.environ.get("SHARE_FONT", "")
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    CURRENCY = os.environ.get("CURRENCY", "CNY")
    CLAIM_HOLD_DAYS = _int("CLAIM_HOLD_DAYS", 14)
    #: Wishes one person may hold at once (active claims): per contact (phone or e-mail, however
    #: written) or signed-in account, and per client address or event-room device. 0 lifts a cap.
    CLAIM_MAX_ACTIVE_PER_CONTACT = _int("CLAIM_MAX_ACTIVE_PER_CONTACT", 5)
    CLAIM_MAX_ACTIVE_PER_CLIENT = _int("CLAIM_MAX_ACTIVE_PER_CLIENT", 10)
    #: How long a wish being paid online in full stays held for its payment.
    WISH_PAYMENT_HOLD_MINUTES = _int("WISH_PAYMENT_HOLD_MINUTES", 30)
    #: CPU priority of `flask scheduler` (os.nice increment): its jobs are background work and
    #: yield the processor to web requests on a shared machine; 0 keeps the normal priority.
    SCHEDULER_NICE = _int("SCHEDULER_NICE", 10)
    #: Limits of one donation, in fen, where a campaign sets none of its own.
    DONATION_MIN_FEN = _int("DONATION_MIN_FEN", 100)
    #: A disbursement above this many fen waits for a second fund administrator's approval.
    DISBURSEMENT_APPROVAL_FEN = _int("DISBURSEMENT_APPROVAL_FEN", 200_000)
    #: A Stripe reconciliation run in the background whose heartbeat is older than this many seconds
    #: lost its process: it is shown as failed and no longer blocks the next run.
    RECONCILE_STALE_SECONDS = _int("RECONCILE_STALE_SECONDS", 300)
    DONATION_MAX_FEN = _int("DONATION_MAX_FEN", 5_000_000)
    #: A wish's estimated cost may not exceed this (fen); 10,000 yuan.
    WISH_MAX_AMOUNT_FEN = _int("WISH_MAX_AMOUNT_FEN", 1_000_000)

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("zh_CN", "en")

    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    #: Largest image accepted after the request limit, in bytes.
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    UPLOAD_MAX_PIXELS = 40_000_000

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: "Remember me" lasts at most this long; signing out ends it at once (User.session_version).
    REMEMBER_COOKIE_DURATION = timedelta(days=min(_int("REMEMBER_COOKIE_DAYS", 30), 30))
    #: Both cookies' Secure flag and HSTS follow PUBLIC_BASE_URL: on when it is https (core/sessions.py).
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    HSTS_MAX_AGE = _int("HSTS_MAX_AGE", 31_536_000)
    #: How long the link that creates a donor account stays valid.
    REGISTRATION_LINK_HOURS = _int("REGISTRATION_LINK_HOURS", 48)
    #: How long an e-mailed password-reset link stays valid; it also dies once the password or sessions change.
    PASSWORD_RESET_LINK_MINUTES = _int("PASSWORD_RESET_LINK_MINUTES", 60)

    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") != "0"
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    #: Claims and logins per client address; a whole event hall may share one address.
    CLAIM_RATE_LIMIT = os.environ.get("CLAIM_RATE_LIMIT", "60 per minute")
    #: Donations started (each may hold a wish for its payment) per client address.
    DONATION_RATE_LIMIT = os.environ.get("DONATION_RATE_LIMIT", "30 per minute;300 per day")
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per minute")
    #: Sign-ins and sign-ups naming one e-mail address, from however many addresses they come.
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")

    #: Reverse proxies in front of the app (nginx: 1); their X-Forwarded-* headers are trusted.
    PROXY_COUNT = _int("PROXY_COUNT", 0)

    PUBLIC_PAGE_SIZE = 12
    API_PAGE_SIZE = 20
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_JSON = os.environ.get("LOG_JSON", "1") != "0"
    #: The public lists' response cache (core/cache.py) and its entries per worker.
    RESPONSE_CACHE = os.environ.get("RESPONSE_CACHE", "1") != "0"
    RESPONSE_CACHE_SIZE = _int("RESPONSE_CACHE_SIZE", 256)

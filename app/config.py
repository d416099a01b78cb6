"""Configuration read from the environment, plus the configuration tests use."""

from __future__ import annotations

import math
import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# Keys that appear in docs and examples; a production server must never run with one of them.
EXAMPLE_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "example", "rollcall-dev", "demo"}

# What a production SECRET_KEY must reach. Whoever guesses it can sign session cookies as any user, offline and
# at leisure. `secrets.token_hex(32)` gives 64 characters and about 210 bits by the estimate below.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10
SECRET_KEY_MIN_BITS = 80


def secret_key_estimated_bits(key: str) -> float:
    """zxcvbn's estimate of the guesses needed to find key (it knows repeats, sequences, keyboard runs, dates and
    common words), in bits. zxcvbn reads at most 72 characters at a time, so longer keys are scored in parts."""
    from zxcvbn import zxcvbn

    chunks = [key[i : i + 72] for i in range(0, len(key), 72)]
    return sum(zxcvbn(chunk)["guesses_log10"] for chunk in chunks) * math.log2(10)


def weak_secret_key(key: str) -> str | None:
    """Why key is too weak for production, or None: a known example, fewer than SECRET_KEY_MIN_LENGTH characters,
    fewer than SECRET_KEY_MIN_DISTINCT different ones, or under SECRET_KEY_MIN_BITS by zxcvbn's estimate."""
    if key.lower() in EXAMPLE_SECRET_KEYS:
        return "is missing or is an example value"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"is too short ({len(key)} characters; at least {SECRET_KEY_MIN_LENGTH})"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"uses only {len(set(key))} different characters (at least {SECRET_KEY_MIN_DISTINCT})"
    bits = secret_key_estimated_bits(key)
    if bits < SECRET_KEY_MIN_BITS:
        return f"is too easy to guess (about {bits:.0f} bits; at least {SECRET_KEY_MIN_BITS})"
    return None


def normalise_database_url(url: str) -> str:
    """Point plain postgres:// URLs at psycopg 3, the driver Rollcall ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# "Keep me signed in on this device": one school week unless ROLLCALL_REMEMBER_DAYS says otherwise.
REMEMBER_DAYS_DEFAULT = 7
REMEMBER_DAYS_MAX = 366


def remember_duration(value: str) -> timedelta:
    """ROLLCALL_REMEMBER_DAYS read as the lifetime of a remembered sign-in; a clear error for anything else."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= REMEMBER_DAYS_MAX:
        raise ValueError(
            f"ROLLCALL_REMEMBER_DAYS must be a whole number of days from 1 to {REMEMBER_DAYS_MAX}: {value!r}"
        )
    return timedelta(days=int(text))


# Proxies Rollcall may sit behind, each adding one X-Forwarded-For entry (nginx in front of gunicorn is one).
PROXY_HOPS_MAX = 5
LOG_FORMATS = ("text", "json")


def proxy_hops(value: str) -> int:
    """ROLLCALL_PROXY_HOPS read as how many proxies' X-Forwarded-* headers to trust; a clear error otherwise."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > PROXY_HOPS_MAX:
        raise ValueError(f"ROLLCALL_PROXY_HOPS must be a whole number from 0 to {PROXY_HOPS_MAX}: {value!r}")
    return int(text)


def log_format(value: str) -> str:
    """ROLLCALL_LOG_FORMAT: `text` (gunicorn's access log, as always) or `json` (one JSON line per request)."""
    text = value.strip().lower()
    if text not in LOG_FORMATS:
        raise ValueError(f"ROLLCALL_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}: {value!r}")
    return text


# Environments meant for one person's machine, where ROLLCALL_BASE_URL may be left out.
LOCAL_BASE_URL_ENVS = ("development", "demo", "test")
# What `rollcall serve` binds when told nothing (and gunicorn's port for a bind without one).
DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_PORT = "8000"
# Hosts that mean "every interface": not an address a phone can open.
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]", "*"}

BASE_URL_MISSING = (
    "ROLLCALL_BASE_URL is not set. Set it to the address people open Rollcall at, such as "
    "https://rollcall.example.org (QR codes and links carry it), or ROLLCALL_ENV=development for local use."
)


def _lan_address() -> str:
    """This machine's address on its network (the one it would reach the outside from), or loopback."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            # connect() on UDP only picks a route and a source address; no packet is sent.
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def base_url_for_bind(bind: str | None) -> str:
    """The address a local server's QR codes and links carry when ROLLCALL_BASE_URL is unset: the HOST:PORT it
    binds (`rollcall serve --bind`). Every-interface binds (0.0.0.0, [::]) become this machine's network address,
    so a phone on the same network can open the codes; a Unix socket or file descriptor means the default."""
    bind = (bind or DEFAULT_BIND).strip()
    if bind.startswith(("unix:", "fd://")):
        bind = DEFAULT_BIND
    if bind.startswith("["):
        host, _, rest = bind[1:].partition("]")
        host, port = f"[{host}]", rest.removeprefix(":")
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    else:
        host, port = bind, ""
    if host in WILDCARD_HOSTS:
        host = _lan_address()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port or DEFAULT_PORT}"


def base_url_problem(url: str) -> str | None:
    """Why url cannot be the address QR codes and links carry, or None: it needs http:// or https:// and a host."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or rest.startswith("/") or any(c.isspace() for c in url):
        return (
            f"ROLLCALL_BASE_URL must be an http:// or https:// address, such as https://rollcall.example.org: {url!r}"
        )
    return None


def base_url_from_env(env: os._Environ | dict) -> str:
    """ROLLCALL_BASE_URL without its trailing slash; unset in development or demo, the address `rollcall serve`
    binds (ROLLCALL_BIND, which it sets for its workers); unset in production, "" (create_app refuses to start)."""
    explicit = (env.get("ROLLCALL_BASE_URL") or "").strip().rstrip("/")
    if explicit or env.get("ROLLCALL_ENV", "production") not in LOCAL_BASE_URL_ENVS:
        return explicit
    return base_url_for_bind(env.get("ROLLCALL_BIND"))


def from_env(environ: os._Environ | dict | None = None) -> dict:
    """Build the settings of a running server from environment variables."""
    env = os.environ if environ is None else environ
    base_url = base_url_from_env(env)
    secure = base_url.startswith("https://")
    return {
        "ENV_NAME": env.get("ROLLCALL_ENV", "production"),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'rollcall.sqlite3'}"
        ),
        "BASE_URL": base_url,
        "DISTRICT_NAME": env.get("ROLLCALL_DISTRICT_NAME", "Maple Valley Unified"),
        "TIMEZONE": env.get("ROLLCALL_TIMEZONE", "America/Los_Angeles"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # The job queue: huey's SQLite storage in instance/ unless a redis:// URL names one every server shares.
        "QUEUE_URL": env.get("ROLLCALL_QUEUE_URL", ""),
        "QUEUE_NAME": env.get("ROLLCALL_QUEUE_NAME", "rollcall"),
        # Rate-limit keys in a shared Redis start with this, so two installs on one Redis count apart.
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", ""),
        # Operations (app.ops): proxies in front that set X-Forwarded-*, request logs, who may read /metrics.
        "PROXY_HOPS": proxy_hops(env.get("ROLLCALL_PROXY_HOPS") or "0"),
        "LOG_FORMAT": log_format(env.get("ROLLCALL_LOG_FORMAT") or "text"),
        "METRICS_ALLOW": env.get("ROLLCALL_METRICS_ALLOW", ""),
        "METRICS_TOKEN": env.get("ROLLCALL_METRICS_TOKEN", ""),
        "LOGIN_RATE_LIMIT": env.get("ROLLCALL_LOGIN_RATE_LIMIT", "10 per minute"),
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": remember_duration(env.get("ROLLCALL_REMEMBER_DAYS") or str(REMEMBER_DAYS_DEFAULT)),
        # Optional settings: unset means the built-in defaults. Report limits use Flask-Limiter's syntax
        # (";" between limits); the hourly rate costs technicians' time on repair tickets.
        **{
            key: env[name]
            for key, name in (
                ("REPORT_RATE_LIMIT_IP", "ROLLCALL_REPORT_LIMIT_IP"),
                ("REPORT_RATE_LIMIT_DEVICE", "ROLLCALL_REPORT_LIMIT_DEVICE"),
                ("REPORT_RATE_LIMIT_REPORTER", "ROLLCALL_REPORT_LIMIT_REPORTER"),
                ("REPORT_SYNC_LIMIT", "ROLLCALL_REPORT_SYNC_LIMIT"),
                ("REPAIR_HOURLY_RATE", "ROLLCALL_REPAIR_HOURLY_RATE"),
                # Webhooks out (app.services.webhooks): attempts before giving up, seconds to wait for an answer,
                # and whether private or loopback addresses are allowed for every endpoint.
                ("WEBHOOK_ATTEMPTS", "ROLLCALL_WEBHOOK_ATTEMPTS"),
                ("WEBHOOK_TIMEOUT", "ROLLCALL_WEBHOOK_TIMEOUT"),
                ("WEBHOOKS_ALLOW_PRIVATE", "ROLLCALL_WEBHOOKS_ALLOW_PRIVATE"),
                # Google's Directory API (app.integrations.google_directory): the service-account key file, the
                # administrator it acts for, the customer (my_customer unless set) and the API's address.
                ("GOOGLE_CREDENTIALS", "ROLLCALL_GOOGLE_CREDENTIALS"),
                ("GOOGLE_ADMIN_EMAIL", "ROLLCALL_GOOGLE_ADMIN_EMAIL"),
                ("GOOGLE_CUSTOMER", "ROLLCALL_GOOGLE_CUSTOMER"),
                ("GOOGLE_API_ENDPOINT", "ROLLCALL_GOOGLE_API_ENDPOINT"),
                # Mail and single sign-on (app.integrations.mail, app.integrations.oidc).
                ("SMTP_URL", "ROLLCALL_SMTP_URL"),
                ("MAIL_FROM", "ROLLCALL_MAIL_FROM"),
                ("OIDC_GOOGLE_CLIENT_ID", "ROLLCALL_OIDC_GOOGLE_CLIENT_ID"),
                ("OIDC_GOOGLE_CLIENT_SECRET", "ROLLCALL_OIDC_GOOGLE_SECRET"),
                ("OIDC_GOOGLE_ISSUER", "ROLLCALL_OIDC_GOOGLE_ISSUER"),
                ("OIDC_MICROSOFT_CLIENT_ID", "ROLLCALL_OIDC_MICROSOFT_CLIENT_ID"),
                ("OIDC_MICROSOFT_CLIENT_SECRET", "ROLLCALL_OIDC_MICROSOFT_SECRET"),
                ("OIDC_MICROSOFT_TENANT", "ROLLCALL_OIDC_MICROSOFT_TENANT"),
                ("OIDC_ISSUER", "ROLLCALL_OIDC_ISSUER"),
                ("OIDC_CLIENT_ID", "ROLLCALL_OIDC_CLIENT_ID"),
                ("OIDC_CLIENT_SECRET", "ROLLCALL_OIDC_SECRET"),
                ("OIDC_DOMAINS", "ROLLCALL_OIDC_DOMAINS"),
                ("OIDC_SIGNUP", "ROLLCALL_OIDC_SIGNUP"),
                ("OIDC_REQUIRED_FOR_ADMINS", "ROLLCALL_OIDC_REQUIRED_FOR_ADMINS"),
            )
            if env.get(name)
        },
    }


class Config:
    """Defaults shared by every environment."""

    ENV_NAME = "production"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # SQLite's page cache per connection, in KiB (filled only as pages are read). SQLite's own 2 MiB default is
    # smaller than a campus's devices and their indexes, so a batch of scans kept re-reading the pages it writes.
    SQLITE_CACHE_KB = 65536
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "10 per minute"
    # Request bodies (photos included) larger than this get 413.
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    # Import uploads only (/imports and the roster upload): large districts' Google exports run to tens of MB.
    IMPORT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A remembered sign-in lasts this long from signing in, used or not (its user_sessions row ends with it);
    # never extended by use, so a lost phone's session has an end.
    REMEMBER_COOKIE_DURATION = timedelta(days=REMEMBER_DAYS_DEFAULT)
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_HEADERS = ["X-CSRFToken", "X-CSRF-Token"]
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    DISTRICT_NAME = "Maple Valley Unified"
    # The district's time zone: district-wide lists show times in it (a campus's own pages use the campus's).
    TIMEZONE = "America/Los_Angeles"
    # The address QR codes and links carry (ROLLCALL_BASE_URL): none unless configured, which production refuses;
    # local environments without one use base_url_for_bind's.
    BASE_URL = ""
    # Job queue (app.jobs): "" is huey's SQLite storage at QUEUE_PATH; redis://… is shared by every server.
    QUEUE_URL = ""
    QUEUE_NAME = "rollcall"
    QUEUE_PATH = str(INSTANCE / "queue.db")
    # Run each job as it is enqueued, in the enqueuing process (huey's immediate mode): tests only.
    QUEUE_IMMEDIATE = False
    # Operations (app.ops): trusted proxy hops for ProxyFix (0: none), request log format, and who may read
    # /metrics: networks (comma-separated CIDR) and/or a bearer token; with neither, /metrics answers 404.
    PROXY_HOPS = 0
    LOG_FORMAT = "text"
    METRICS_ALLOW = ""
    METRICS_TOKEN = ""


class TestConfig(Config):
    """A throwaway database per test run; limits that tests can reach quickly."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    BASE_URL = "http://rollcall.test"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    LOGIN_RATE_LIMIT = "5 per minute"
    QUEUE_IMMEDIATE = True

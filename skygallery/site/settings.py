"""Django settings for SkyGallery, all taken from the environment.

SKYGALLERY_HOME       folder for the database, the file store and the secret key (default ~/.skygallery)
DATABASE_URL          any dj-database-url URL (default: SQLite in WAL mode under SKYGALLERY_HOME)
DEBUG                 "1"/"true" to enable Django's debug mode (off by default)
ALLOWED_HOSTS         comma-separated host names (default: localhost, 127.0.0.1, [::1])
SKYGALLERY_MAX_UPLOAD_MB   largest accepted request body in MB (default 200)
SKYGALLERY_CATALOG    ISDC GNRL-REFR-CAT FITS file or folder used to resolve names offline
SKYGALLERY_SIMBAD     "1" to allow online SIMBAD look-ups (off by default)
SKYGALLERY_AUTO_PREVIEW   "0" to not draw a PNG preview for products posted without one (on by default)
SKYGALLERY_REVNO, SKYGALLERY_RADDAT   revolution table files (else a built-in model)
SKYGALLERY_PAGE_CACHE "0" to turn off the page cache for anonymous visitors (on by default)
SKYGALLERY_COMPAT_PREFIX   URL path of the oda_api (MMODA dispatcher) gallery endpoints (default dispatch-data)
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


HOME = Path(os.environ.get("SKYGALLERY_HOME", Path.home() / ".skygallery")).expanduser()
HOME.mkdir(parents=True, exist_ok=True)
FILE_STORE = HOME / "files"


def _secret_key() -> str:
    key_file = HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = os.environ.get("SKYGALLERY_SECRET_KEY") or _secret_key()
DEBUG = _flag("DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "skygallery.gallery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "skygallery.gallery.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "skygallery.site.urls"
WSGI_APPLICATION = "skygallery.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


PG_SESSION_OPTIONS = os.environ.get("SKYGALLERY_PG_OPTIONS",
                                    "-c jit=off -c random_page_cost=1.1 -c max_parallel_workers_per_gather=0")


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(HOME / "skygallery.sqlite3")}
    if "postgresql" in db["ENGINE"]:
        # no JIT (it compiled the long OR lists of interval searches for longer than they ran), the
        # random-read cost of data in memory or on SSD, and no parallel workers (starting them took
        # ~5 ms of a 50-row page; a web server runs many short queries at once)
        options = db.setdefault("OPTIONS", {})
        options["options"] = " ".join(filter(None, [options.get("options", ""), PG_SESSION_OPTIONS]))
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("OPTIONS", {}).update({
            # 64 MiB page cache per connection and memory-mapped reads (the OS page cache, shared by the
            # server processes): a search touching a few thousand scattered rows then costs no system calls
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; "
                            "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;",
            "transaction_mode": "IMMEDIATE",
        })
    return db


DATABASES = {"default": _database()}
# Shared by all server processes: the anonymous page cache and its generation token (gallery/pagecache.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": str(HOME / "cache"), "OPTIONS": {"MAX_ENTRIES": 20000}}
          if _flag("SKYGALLERY_PAGE_CACHE", True) else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
REPO_DIR = Path(__file__).resolve().parents[2]


def _asset_dirs() -> list[tuple[str, str]]:
    """Front-end libraries served by us (never a CDN): JS9 from npm, BokehJS from the bokeh wheel."""
    from bokeh.util.paths import bokehjsdir
    dirs = [("bokeh", bokehjsdir())]
    js9 = Path(os.environ.get("SKYGALLERY_JS9_DIR", REPO_DIR / "node_modules" / "js9"))
    if js9.is_dir():
        dirs.append(("js9", str(js9)))
    return dirs


STATICFILES_DIRS = _asset_dirs()

MAX_UPLOAD_BYTES = int(float(os.environ.get("SKYGALLERY_MAX_UPLOAD_MB", "200")) * 1024 * 1024)
# Uploads are streamed to temporary files; the body-size check is done by our middleware.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000

SKYGALLERY = {
    "CATALOG": os.environ.get("SKYGALLERY_CATALOG") or None,
    "SIMBAD_ONLINE": _flag("SKYGALLERY_SIMBAD"),
    "SIMBAD_TIMEOUT_S": float(os.environ.get("SKYGALLERY_SIMBAD_TIMEOUT", "5")),
    "SOURCE_MATCH_RADIUS_ARCMIN": 1.0,
    "COUNT_CAP": 10000,
    "AUTO_PREVIEW": _flag("SKYGALLERY_AUTO_PREVIEW", True),
    "PUBLIC_URL": os.environ.get("SKYGALLERY_PUBLIC_URL", ""),
    # where the MMODA-dispatcher (oda_api) gallery endpoints are served; oda_api accepts [a-z0-9/-] in URL paths
    "COMPAT_PREFIX": os.environ.get("SKYGALLERY_COMPAT_PREFIX", "dispatch-data").strip("/"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SKYGALLERY_LOG_LEVEL", "WARNING")},
}

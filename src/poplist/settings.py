"""Django settings, built from poplist.config (environment variables and an optional TOML file)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from poplist import config
from poplist.core.discovery import locale_dirs

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()

SECRET_KEY = config.secret_key()
DEBUG = config.get("debug").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [host.strip() for host in config.get("allowed_hosts").split(",") if host.strip()]
BASE_URL = config.get("base_url").rstrip("/")
RELAY_URL = config.get("relay")
SITES_DOMAIN = config.get("sites_domain")
ADMIN_EMAIL = config.get("admin_email")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "poplist.core",
    "poplist.accounts",
    "poplist.lists",
    "poplist.delivery",
    "poplist.archive",
    "poplist.bounces",
    "poplist.inbound",
    "poplist.sites",
    "poplist.web",
    "poplist.portability",
    "poplist.exchange",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "poplist.exchange.middleware.StandbyMiddleware",  # a standby refuses changes: 503
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "poplist.web.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "poplist.web.middleware.PoplistErrorMiddleware",
]

ROOT_URLCONF = "poplist.urls"
WSGI_APPLICATION = "poplist.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict:
    if not url:
        url = f"sqlite:///{DATA_DIR / 'poplist.sqlite3'}"
    if url.startswith("sqlite"):
        parsed = dj_database_url.parse(url)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": parsed["NAME"],
            "OPTIONS": {
                # Several processes (web, inbound, workers) share one file: WAL lets readers run
                # beside the writer, IMMEDIATE takes the write lock at BEGIN so two writers never
                # deadlock on a lock upgrade, and the busy timeout makes them queue, not fail.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                    "PRAGMA temp_store=FILE; PRAGMA cache_size=-32000;"
                ),
            },
            "TEST": {"NAME": str(Path(parsed["NAME"]).with_suffix(".test.sqlite3"))},
            # Each server thread keeps its connection (opening one runs the pragmas above every time).
            "CONN_MAX_AGE": 60,
        }
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    database["ENGINE"] = "django.db.backends.postgresql"
    return database


DATABASES = {"default": _database(config.get("database_url"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
COMPILED_LOCALE_DIR = DATA_DIR / "locale"  # .mo files built from the .po catalogs at start-up (core/i18n.py)
# The main catalog (PACKAGE_DIR/locale) first, then each domain package's own (PACKAGE_DIR/<domain>/locale).
LOCALE_PATHS = [
    COMPILED_LOCALE_DIR / ("main" if source.parent == PACKAGE_DIR else source.parent.name)
    for source in locale_dirs(PACKAGE_DIR)
]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve the admin's and our static files without a collectstatic step
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [BASE_URL] if BASE_URL.startswith("http") else []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"poplist": {"level": "INFO"}},
}

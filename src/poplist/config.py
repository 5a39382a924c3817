"""Configuration: environment variables, then an optional TOML file, then defaults.

Every setting is declared once in SETTINGS; docs/configuration.md documents each one
(a test fails when one is missing there).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    "data_dir": Setting("POPLIST_DATA_DIR", "./var", "Folder for the SQLite database, caches and keys."),
    "database_url": Setting(
        "POPLIST_DATABASE_URL",
        "",
        "sqlite:///PATH or postgresql://user@host:port/db; default SQLite in the data dir.",
    ),
    "base_url": Setting("POPLIST_BASE_URL", "http://localhost:8000", "Public address of the web server."),
    "relay": Setting(
        "POPLIST_RELAY",
        "",
        "Outgoing relay: smtp://[user:pass@]host:port or smtps://…; empty: the local outbox.",
    ),
    "secret_key": Setting(
        "POPLIST_SECRET_KEY",
        "",
        "Secret for sessions and signed tokens; default: generated once in the data dir.",
    ),
    "debug": Setting("POPLIST_DEBUG", "false", "Django debug pages (never in production)."),
    "sites_domain": Setting("POPLIST_SITES_DOMAIN", "sites.localhost", "Parent domain of the default site hostnames."),
    "lmtp_host": Setting("POPLIST_LMTP_HOST", "127.0.0.1", "Address the LMTP server listens on."),
    "lmtp_port": Setting("POPLIST_LMTP_PORT", "8024", "Port of the LMTP server."),
    "admin_email": Setting("POPLIST_ADMIN_EMAIL", "postmaster@localhost", "Where the host's own notices go."),
    "allowed_hosts": Setting("POPLIST_ALLOWED_HOSTS", "*", "Comma-separated Host headers the web server answers."),
    "delivery_batch": Setting("POPLIST_DELIVERY_BATCH", "1000", "Members per delivery batch a worker claims."),
    "delivery_window": Setting(
        "POPLIST_DELIVERY_WINDOW", "200", "Copies in flight per worker between two commits (the duplicate bound)."
    ),
    "delivery_lease": Setting(
        "POPLIST_DELIVERY_LEASE", "180", "Seconds before a silent worker's batch goes to another (> smtp_timeout)."
    ),
    "smtp_timeout": Setting("POPLIST_SMTP_TIMEOUT", "60", "Seconds to wait for any relay reply."),
    "retry_days": Setting("POPLIST_RETRY_DAYS", "5", "How long a copy refused with 4xx is retried before it bounces."),
    "domain_concurrency": Setting(
        "POPLIST_DOMAIN_CONCURRENCY", "0", "Copies in flight per destination domain (0: no limit)."
    ),
    "bulk_recipients": Setting("POPLIST_BULK_RECIPIENTS", "100", "Most RCPT per transaction in bulk mode."),
    "dkim_required": Setting(
        "POPLIST_DKIM_REQUIRED", "false", "Hold a list's posts when its domain has no DKIM key (never send unsigned)."
    ),
    "api_rate": Setting("POPLIST_API_RATE", "20", "REST API: requests per second per token, per web worker."),
    "api_burst": Setting("POPLIST_API_BURST", "200", "REST API: requests a token may make at once before the rate."),
    "standby_keep_changes": Setting(
        "POPLIST_STANDBY_KEEP_CHANGES", "10000", "Changes the log keeps behind the slowest standby once pruned."
    ),
    "standby_forget_days": Setting(
        "POPLIST_STANDBY_FORGET_DAYS", "7", "Days after which a silent standby no longer holds back the change log."
    ),
    "export_retention_days": Setting(
        "POPLIST_EXPORT_RETENTION_DAYS", "90", "Days a closed tenant's export stays downloadable."
    ),
    "sites_nginx_config": Setting(
        "POPLIST_SITES_NGINX_CONFIG", "", "Where the worker keeps `poplist sites nginx-config` current (empty: off)."
    ),
    "sites_keep_deploys": Setting(
        "POPLIST_SITES_KEEP_DEPLOYS", "10", "Ready deploys each site keeps for rollback; older ones' files are freed."
    ),
    "sites_nginx_reload": Setting(
        "POPLIST_SITES_NGINX_RELOAD", "nginx -s reload", "Command the worker runs after rewriting that file."
    ),
}


def _toml_values() -> dict[str, str]:
    path = os.environ.get("POPLIST_CONFIG")
    if not path:
        candidate = Path(os.environ.get("POPLIST_DATA_DIR", "./var")) / "poplist.toml"
        if not candidate.exists():
            return {}
        path = str(candidate)
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return {key: str(value) for key, value in data.items()}


def get(name: str) -> str:
    """The value of one setting: environment first, then the TOML file, then the default."""
    setting = SETTINGS[name]
    if setting.env in os.environ:
        return os.environ[setting.env]
    return _toml_values().get(name, setting.default)


def data_dir() -> Path:
    path = Path(get("data_dir")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key() -> str:
    """The configured key, or one generated on first use and kept in the data dir."""
    configured = get("secret_key")
    if configured:
        return configured
    import secrets

    key_file = data_dir() / "secret_key"
    try:  # O_EXCL: when several processes start at once, exactly one writes the key
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):  # another process may be between open and write
        key = key_file.read_text().strip()
        if key:
            return key
        import time

        time.sleep(0.01)
    raise RuntimeError(f"{key_file} is empty")

"""Find what each domain package contributes, so adding a domain touches only its own folder.

A domain package (an app in INSTALLED_APPS under `poplist.`) may have:
  cli.py    `commands`: click commands and groups added to `poplist`
  api.py    `router` (django-ninja) and `PREFIX`, mounted under /api/v1/
  urls.py   `urlpatterns` included at the site root (web's own are included last)
  tasks.py  `worker_tasks()`: the periodic tasks it adds to `poplist worker`
  locale/   its own translation catalogs
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType


def domain_packages() -> list[str]:
    from django.conf import settings

    return [app for app in settings.INSTALLED_APPS if app.startswith("poplist.")]


def domain_modules(name: str) -> list[ModuleType]:
    """`<package>.<name>` of every domain package that has one, in INSTALLED_APPS order."""
    found = []
    for package in domain_packages():
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            found.append(importlib.import_module(f"{package}.{name}"))
    return found


def locale_dirs(package_dir: Path) -> list[Path]:
    """Every `locale/` folder of the package: the main catalog first, then each domain's."""
    return [package_dir / "locale", *sorted(p for p in package_dir.glob("*/locale") if p.is_dir())]

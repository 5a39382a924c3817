"""Poplist: mailing lists and static websites for a hosting company."""

__version__ = "0.1.0"


def setup() -> None:
    """Configure Django once, for the CLI, the servers and the benchmarks."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "poplist.settings")
    django.setup()

"""Fixtures the importers' tests share; each test module imports them (a second conftest.py would shadow
tests/conftest.py for the modules that import from it)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(name="data")
def data_fixture() -> Path:
    return DATA


@pytest.fixture(name="run_import")
def run_import_fixture(tenant):
    """Write a ListSource into the `acme` tenant; returns the report."""
    from poplist.portability.services import import_list

    def run(source, **options):
        return import_list(tenant, source, actor="test", **options)

    return run

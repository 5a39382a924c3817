"""Shared helpers for the importers' tests: the fixture files and an import that returns its report."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def run_import(tenant):
    """Write a ListSource into the `acme` tenant; returns the report."""
    from poplist.portability.services import import_list

    def run(source, **options):
        return import_list(tenant, source, actor="test", **options)

    return run

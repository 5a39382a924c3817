"""The importers' documentation cannot drift: every system, command and kept setting is described."""

from __future__ import annotations

from pathlib import Path

from poplist.portability.cli import import_from
from poplist.portability.deferred import KEYS
from poplist.portability.importers import SYSTEMS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_system_and_kept_setting_is_documented():
    text = (DOCS / "importing.md").read_text()
    for system in SYSTEMS:
        assert f"(`{system}`)" in text, system
    for key in KEYS:
        assert f"`{key}`" in text, key


def test_every_import_from_command_is_in_the_cli_reference():
    text = (DOCS / "cli.md").read_text()
    assert set(import_from.commands) == {*SYSTEMS, "report", "apply-pending"}
    for name in import_from.commands:
        assert f"poplist import-from {name}" in text, name

"""Documentation that cannot drift: every setting, list setting and command is documented."""

from pathlib import Path

import pytest

from poplist import config
from poplist.lists.models import SETTABLE_FIELDS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_configuration_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [s.env for s in config.SETTINGS.values() if f"`{s.env}`" not in text]
    assert missing == []


def test_every_list_setting_is_documented():
    text = (DOCS / "list-settings.md").read_text()
    assert [key for key in SETTABLE_FIELDS if f"`{key}`" not in text] == []


def command_paths(command, path=()):
    children = getattr(command, "commands", {})
    if not children:
        yield path
    for name, sub in children.items():
        yield from command_paths(sub, (*path, name))


@pytest.mark.django_db
def test_every_cli_command_is_documented():
    from poplist.cli import main

    # Each domain documents its commands on its own page (cli.md is the index).
    text = "\n".join(page.read_text() for page in DOCS.glob("*.md"))
    missing = [" ".join(p) for p in command_paths(main) if f"`poplist {' '.join(p)}" not in text]
    assert missing == []

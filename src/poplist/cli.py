"""The `poplist` command. Each domain package adds its own subcommands from its cli.py."""

from __future__ import annotations

import importlib

import click

from poplist.core.cli import PoplistGroup

# Domain packages whose cli.py defines `commands`: a list of click commands and groups.
CLI_MODULES = [
    "poplist.runtime.cli",
    "poplist.accounts.cli",
    "poplist.lists.cli",
    "poplist.delivery.cli",
    "poplist.portability.cli",
]


@click.group(cls=PoplistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poplist")
def main() -> None:
    """Poplist: mailing lists and static websites for a hosting company.

    Configuration comes from POPLIST_* environment variables (see docs/configuration.md).
    """


def _register() -> None:
    import poplist

    poplist.setup()
    for module_name in CLI_MODULES:
        for command in importlib.import_module(module_name).commands:
            main.add_command(command)


_register()

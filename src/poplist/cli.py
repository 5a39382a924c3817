"""The `poplist` command. Each domain package adds its own subcommands from its cli.py."""

from __future__ import annotations

import importlib

import click

from poplist.core.cli import PoplistGroup


@click.group(cls=PoplistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poplist")
def main() -> None:
    """Poplist: mailing lists and static websites for a hosting company.

    Configuration comes from POPLIST_* environment variables (see docs/configuration.md).
    """


def _register() -> None:
    import poplist
    from poplist.core.discovery import domain_modules

    poplist.setup()
    # `runtime` is not a Django app; every domain package's cli.py is found by core.discovery.
    for module in [importlib.import_module("poplist.runtime.cli"), *domain_modules("cli")]:
        for command in getattr(module, "commands", []):  # core/cli.py holds helpers only
            main.add_command(command)


_register()

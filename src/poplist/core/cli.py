"""What every `poplist` subcommand shares: errors, --json output, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import click

from poplist.core.errors import PoplistError

USER_ERROR_EXIT = 2


class PoplistGroup(click.Group):
    """A click group that turns a PoplistError into one sentence on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PoplistError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(USER_ERROR_EXIT)


def group(name: str | None = None, **kwargs) -> Callable:
    return click.group(name, cls=PoplistGroup, **kwargs)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def emit(data: Any, as_json: bool, text: Callable[[Any], Iterable[str] | str]) -> None:
    """Print `data` as JSON, or as the lines `text(data)` gives."""
    if as_json:
        click.echo(json.dumps(data, default=_default, ensure_ascii=False, indent=2))
        return
    lines = text(data)
    click.echo(lines if isinstance(lines, str) else "\n".join(lines))


def table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


class Progress:
    """A progress bar on a terminal (stderr), silence otherwise."""

    def __init__(self, total: int | None, label: str) -> None:
        self.enabled = sys.stderr.isatty()
        self.bar = click.progressbar(length=total or 0, label=label, file=sys.stderr) if self.enabled else None
        self.done = 0

    def __enter__(self) -> Progress:
        if self.bar:
            self.bar.__enter__()
        return self

    def update_to(self, done: int) -> None:
        if self.bar:
            self.bar.update(done - self.done)
        self.done = done

    def __exit__(self, *exc_info) -> None:
        if self.bar:
            self.bar.__exit__(*exc_info)

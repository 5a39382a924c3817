"""`poplist site …` (one site) and `poplist sites …` (the host's view)."""

from __future__ import annotations

import click

from poplist.accounts import services as accounts
from poplist.core.cli import emit, group, json_option, table
from poplist.sites import queries, services


@group("site")
def site() -> None:
    """A customer's website: create, deploy, roll back, hostnames."""


@site.command("create")
@click.argument("name")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant that owns the site.")
@click.option("--domain", "domains", multiple=True, help="A custom hostname (repeatable).")
@json_option
def site_create(name: str, tenant_slug: str, domains: tuple[str, ...], as_json: bool) -> None:
    """Create a site, answering at NAME.<sites domain> and its custom domains."""
    created = services.create_site(accounts.get_tenant(tenant_slug), name, domains)
    emit(queries.site_summary(created), as_json, lambda d: f"created site {d['name']}: {', '.join(d['hostnames'])}")


@site.command("deploy")
@click.argument("name")
@click.argument("path", type=click.Path(exists=True))
@json_option
def site_deploy(name: str, path: str, as_json: bool) -> None:
    """Publish a folder, a .zip or a .tar.gz; the live site switches to it at once when it is complete."""
    found = services.get_site(name)
    deploy = services.deploy_upload(found, path, via="cli", actor="cli")
    emit(
        queries.deploy_summary(deploy, deploy.id),
        as_json,
        lambda d: f"deploy {d['number']} of {name} is live: {d['files']} files, {d['bytes']} bytes",
    )


@site.command("rollback")
@click.argument("name")
@click.argument("number", type=int, required=False)
def site_rollback(name: str, number: int | None) -> None:
    """Make an earlier deploy live again (the previous one by default)."""
    deploy = services.rollback(services.get_site(name), number)
    click.echo(f"deploy {deploy.number} of {name} is live")


@site.command("deploys")
@click.argument("name")
@json_option
def site_deploys(name: str, as_json: bool) -> None:
    """The deploy history, newest first."""
    rows = queries.deploys_of(services.get_site(name))
    emit(
        rows,
        as_json,
        lambda rs: table(
            [
                [
                    r["number"],
                    r["status"] + (" (live)" if r["live"] else ""),
                    r["files"],
                    r["bytes"],
                    r["source"],
                    r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
                    r["error"],
                ]
                for r in rs
            ],
            ["deploy", "status", "files", "bytes", "via", "created", "error"],
        ),
    )


@site.command("domains")
@click.argument("name")
@click.argument("action", type=click.Choice(["add", "remove", "list"]), default="list")
@click.argument("host", required=False)
def site_domains(name: str, action: str, host: str | None) -> None:
    """List a site's hostnames, or add / remove a custom one."""
    found = services.get_site(name)
    if action != "list":
        if not host:
            raise click.UsageError("HOST is required")
        if action == "add":
            services.add_hostname(found, host)
        else:
            services.remove_hostname(found, host)
    click.echo("\n".join(h.name for h in found.hostnames.all()))


@group("sites")
def sites() -> None:
    """Every site of the host."""


@sites.command("nginx-config")
@click.option("--output", type=click.Path(dir_okay=False), help="Write here (default: standard output).")
@click.option("--upstream", default="127.0.0.1:8000", show_default=True, help="Where Poplist listens.")
@click.option("--listen", default="80", show_default=True, help="nginx's listen directive value.")
def sites_nginx_config(output: str | None, upstream: str, listen: str) -> None:
    """An nginx configuration serving every live deploy from disk, with Poplist behind it for the rest."""
    from poplist.sites.nginx import render_config

    text = render_config(upstream=upstream, listen=listen)
    if output:
        with open(output, "w") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@sites.command("sync-cache")
def sites_sync_cache() -> None:
    """Materialise every live deploy on this machine's disk (the worker also does it by itself)."""
    from poplist.sites.cache import sync_all

    click.echo(f"{sync_all()} sites relinked")


commands = [site, sites]

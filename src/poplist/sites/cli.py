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
@click.option("--verified", is_flag=True, help="Serve the custom hostnames at once: the host vouches for them.")
@json_option
def site_create(name: str, tenant_slug: str, domains: tuple[str, ...], verified: bool, as_json: bool) -> None:
    """Create a site, answering at NAME.<sites domain> and its custom domains (once proven in the DNS)."""
    created = services.create_site(accounts.get_tenant(tenant_slug), name, domains, verified=verified)
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
@click.argument("action", type=click.Choice(["add", "remove", "check", "list"]), default="list")
@click.argument("host", required=False)
@click.option("--verified", is_flag=True, help="With add: serve it at once, the host vouches for it (no DNS proof).")
@json_option
def site_domains(name: str, action: str, host: str | None, verified: bool, as_json: bool) -> None:
    """List a site's hostnames with their state; add, remove, or check a custom one in the DNS now."""
    found = services.get_site(name)
    if action != "list":
        if not host:
            raise click.UsageError("HOST is required")
        if action == "add":
            services.add_hostname(found, host, verified=verified)
        elif action == "check":
            services.check_hostname(found, host)
        else:
            services.remove_hostname(found, host)
    summary = queries.site_summary(found)
    emit(summary["domains"], as_json, lambda domains: _domain_lines(summary["hostnames"][0], domains))


def _domain_lines(default: str, domains: list[dict]) -> list[str]:
    lines = [f"{default}  default"]
    for d in domains:
        lines.append(f"{d['name']}  {d['status']}")
        if d["status"] == "pending":
            lines.append(f"  prove it: TXT {d['txt_record']['name']} = {d['txt_record']['value']}")
            lines.append(f"        or: CNAME {d['name']} -> {d['cname_target']}")
            if d["checked_at"]:
                lines.append(f"  last check {d['checked_at']:%Y-%m-%d %H:%M}: found {d['check_found']}")
    return lines


@group("sites")
def sites() -> None:
    """Every site of the host."""


@sites.command("nginx-config")
@click.option("--output", type=click.Path(dir_okay=False), help="Write here (default: standard output).")
@click.option("--upstream", default="127.0.0.1:8000", show_default=True, help="Where Poplist listens.")
@click.option("--listen", default="80", show_default=True, help="nginx's listen directive value.")
@click.option("--brotli", is_flag=True, help="Serve the .br variants (nginx must load ngx_http_brotli_static_module).")
def sites_nginx_config(output: str | None, upstream: str, listen: str, brotli: bool) -> None:
    """An nginx configuration serving every live deploy from disk, with Poplist behind it for the rest."""
    from poplist.sites.nginx import render_config

    text = render_config(upstream=upstream, listen=listen, brotli=brotli)
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


@sites.command("gc")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option(
    "--keep", type=click.IntRange(min=1), help="Ready deploys kept per site (default: POPLIST_SITES_KEEP_DEPLOYS)."
)
@click.option(
    "--grace", type=click.IntRange(min=0), default=3600, show_default=True, help="Seconds a new blob is safe."
)
@json_option
def sites_gc(dry_run: bool, keep: int | None, grace: int, as_json: bool) -> None:
    """Prune deploys past the ones each site keeps, delete the blobs nothing uses, tidy this machine's cache."""
    from datetime import timedelta

    from poplist.sites.gc import collect

    report = collect(keep=keep, grace=timedelta(seconds=grace), dry_run=dry_run)
    verb = "would be" if dry_run else "were"
    emit(
        report.as_dict(),
        as_json,
        lambda r: [
            f"deploys pruned: {r['deploys_pruned']}, pending deploys expired: {r['pending_expired']} ({verb})",
            f"blobs deleted: {r['blobs_deleted']} ({r['bytes_freed']} bytes) ({verb})",
            f"cache folders removed: {r['folders_removed']}, cache files removed: {r['files_removed']} ({verb})",
        ],
    )


commands = [site, sites]

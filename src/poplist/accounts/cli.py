"""`poplist tenant …`, `poplist user …`, `poplist token …`."""

from __future__ import annotations

import click

from poplist.accounts import queries, services
from poplist.core.cli import emit, group, json_option, table


@group("tenant")
def tenant() -> None:
    """The host's customers."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The customer's name.")
@click.option("--domain", "domains", multiple=True, help="A mail domain it owns (repeatable).")
@json_option
def tenant_create(slug: str, name: str, domains: tuple[str, ...], as_json: bool) -> None:
    """Create a tenant, with its domains."""
    created = services.create_tenant(slug, name, domains[0] if domains else None)
    for domain in domains[1:]:
        services.add_domain(created, domain)
    emit(queries.tenant_summary(created), as_json, lambda d: f"created tenant {d['slug']} ({d['name']})")


@tenant.command("ls")
@json_option
def tenant_list(as_json: bool) -> None:
    """Every tenant with its status and usage."""
    rows = queries.tenant_summaries()
    emit(
        rows,
        as_json,
        lambda rs: table(
            [[r["slug"], r["name"], r["status"], ", ".join(r["domains"]), r["lists"], r["members"]] for r in rs],
            ["slug", "name", "status", "domains", "lists", "members"],
        ),
    )


@tenant.command("show")
@click.argument("slug")
@json_option
def tenant_show(slug: str, as_json: bool) -> None:
    """One tenant: status, domains, usage against quotas."""
    data = queries.tenant_summary(services.get_tenant(slug))
    emit(data, as_json, lambda d: [f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in d.items()])


@tenant.command("domain-add")
@click.argument("slug")
@click.argument("domain")
def tenant_domain_add(slug: str, domain: str) -> None:
    """Give a tenant another domain."""
    created = services.add_domain(services.get_tenant(slug), domain)
    click.echo(f"added {created.name} to {slug}")


@group("user")
def user() -> None:
    """Logins: owners of a tenant, and the host's admins."""


@user.command("create")
@click.argument("email")
@click.option("--tenant", "tenant_slug", help="The tenant this owner manages.")
@click.option("--superuser", is_flag=True, help="One of the host's admins.")
@click.option("--password", help="Default: a generated one, printed once.")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en")
@json_option
def user_create(
    email: str, tenant_slug: str | None, superuser: bool, password: str | None, language: str, as_json: bool
) -> None:
    """Create a login and print its password."""
    owner_tenant = services.get_tenant(tenant_slug) if tenant_slug else None
    created, secret = services.create_user(
        email, tenant=owner_tenant, superuser=superuser, password=password, language=language
    )
    data = {"email": created.email, "tenant": tenant_slug, "superuser": superuser, "password": secret}
    emit(data, as_json, lambda d: [f"created user {d['email']}", f"password: {d['password']}"])


@group("token")
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", "tenant_slug", help="Scope the token to this tenant (default: the whole host).")
@click.option("--name", default="", help="A note to recognise it by.")
@json_option
def token_create(tenant_slug: str | None, name: str, as_json: bool) -> None:
    """Create an API token; its secret is printed once and never stored."""
    owner_tenant = services.get_tenant(tenant_slug) if tenant_slug else None
    created, secret = services.create_api_token(owner_tenant, name=name)
    emit({"id": created.pk, "tenant": tenant_slug, "token": secret}, as_json, lambda d: d["token"])


commands = [tenant, user, token]

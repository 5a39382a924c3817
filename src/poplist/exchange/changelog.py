"""The change log a standby follows: triggers that note (table, primary key) of every written row.

Triggers see every write, including bulk imports (COPY, executemany) and raw SQL, which Django
signals would miss. On PostgreSQL they are statement-level with transition tables (one INSERT
… SELECT per statement, however many rows it wrote); SQLite only has row-level triggers. They
need no superuser: the owner of the tables creates them. `poplist standby enable` installs them;
`poplist migrate` re-installs them on new tables when the feed is enabled.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection, models

from poplist.exchange.models import Change, Follow, Follower, Instance

SKIP = {Change, Follow, Follower, Instance}


def replicated_models() -> list[type[models.Model]]:
    """Every concrete model of the domain packages, parents before children (foreign keys)."""
    from poplist.core.discovery import domain_packages

    labels = {apps.get_app_config(p.rsplit(".", 1)[1]).label for p in domain_packages() if _is_app(p)}
    found = [
        m
        for m in apps.get_models()
        if m._meta.app_label in labels and not m._meta.proxy and m._meta.managed and m not in SKIP
    ]
    return _parents_first(found)


def _is_app(package: str) -> bool:
    return any(c.name == package for c in apps.get_app_configs())


def _parents_first(found: list[type[models.Model]]) -> list[type[models.Model]]:
    ordered: list[type[models.Model]] = []
    pending = sorted(found, key=lambda m: m._meta.db_table)
    while pending:
        progress = False
        for model in list(pending):
            parents = {
                f.related_model
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model is not model and getattr(f, "db_constraint", True)
            }
            if all(p in ordered or p not in found for p in parents):
                ordered.append(model)
                pending.remove(model)
                progress = True
        if not progress:  # a cycle: keep the rest in name order (constraints are deferred to commit)
            ordered.extend(pending)
            break
    return ordered


def model_for_table(table: str) -> type[models.Model] | None:
    return next((m for m in replicated_models() if m._meta.db_table == table), None)


def _pk_column(model: type[models.Model]) -> str:
    return model._meta.pk.column


def install() -> int:
    """Create (or re-create) the triggers on every replicated table; returns how many tables."""
    tables = replicated_models()
    with connection.cursor() as cursor:
        for model in tables:
            for statement in _trigger_sql(model):
                cursor.execute(statement)
    Instance.objects.filter(pk=_instance_pk()).update(feed_enabled=True)
    return len(tables)


def uninstall() -> None:
    with connection.cursor() as cursor:
        for model in replicated_models():
            table = model._meta.db_table
            for op in ("i", "u", "d"):
                if connection.vendor == "postgresql":
                    cursor.execute(f'DROP TRIGGER IF EXISTS "xchg_{table}_{op}" ON "{table}"')
                else:
                    cursor.execute(f'DROP TRIGGER IF EXISTS "xchg_{table}_{op}"')
    Instance.objects.filter(pk=_instance_pk()).update(feed_enabled=False)


def _instance_pk() -> int:
    from poplist.exchange.models import this_instance

    return this_instance().pk


def _trigger_sql(model: type[models.Model]) -> list[str]:
    from poplist.exchange.tenantfeed import tenant_sql

    table, pk = model._meta.db_table, _pk_column(model)
    # The row's tenant, looked up now: once the row is deleted, nothing else would say whose it was.
    if connection.vendor == "postgresql":
        function = f"xchg_{table}_fn"
        tenant = tenant_sql(model, "r")
        statements = [
            f"""CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO exchange_change (tbl, "row", at, tenant_id)
      SELECT '{table}', r."{pk}"::text, clock_timestamp(), {tenant} FROM old_rows r;
  ELSE
    INSERT INTO exchange_change (tbl, "row", at, tenant_id)
      SELECT '{table}', r."{pk}"::text, clock_timestamp(), {tenant} FROM new_rows r;
  END IF;
  RETURN NULL;
END $$"""
        ]
        for op, event, ref in (
            ("i", "INSERT", "NEW TABLE AS new_rows"),
            ("u", "UPDATE", "NEW TABLE AS new_rows"),
            ("d", "DELETE", "OLD TABLE AS old_rows"),
        ):
            statements.append(f'DROP TRIGGER IF EXISTS "xchg_{table}_{op}" ON "{table}"')
            statements.append(
                f'CREATE TRIGGER "xchg_{table}_{op}" AFTER {event} ON "{table}" REFERENCING {ref} '
                f'FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()'
            )
        return statements
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    statements = []
    for op, event, row in (("i", "INSERT", "NEW"), ("u", "UPDATE", "NEW"), ("d", "DELETE", "OLD")):
        statements.append(f'DROP TRIGGER IF EXISTS "xchg_{table}_{op}"')
        statements.append(
            f'CREATE TRIGGER "xchg_{table}_{op}" AFTER {event} ON "{table}" FOR EACH ROW BEGIN '
            f'INSERT INTO exchange_change (tbl, "row", at, tenant_id) '
            f"VALUES ('{table}', {row}.\"{pk}\", {now}, {tenant_sql(model, row)}); END"
        )
    return statements


def reinstall_after_migrate(**_kwargs) -> None:
    """post_migrate: tables created by a migration get their triggers when the feed is enabled."""
    if Instance.objects.filter(feed_enabled=True).exists():
        install()

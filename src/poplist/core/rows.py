"""Hand-written SQL for hot paths: the bounce processor (members, events, scores) and inbound's archive.

The ORM spends most of a small transaction compiling queries, not running them. Measured
on the bounce path (SQLite, CPU time per call, load average ~4): a member fetched with `select_related` 484 µs,
the same columns through a cursor 26 µs; `bulk_create` of one row 191 µs, an INSERT through a
cursor ~20 µs; `save(update_fields=...)` 125 µs, an UPDATE through a cursor 13 µs. These helpers
keep the ORM's own value conversions (each field's `get_db_prep_save` on the way in, the
backend's and the field's converters on the way out), so the instances they build are the ones
the ORM would have built, on SQLite and PostgreSQL alike. Statements are built once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Model


def _connection():
    return connections[DEFAULT_DB_ALIAS]


def quote(name: str) -> str:
    return _quote(name, _connection().vendor)


@cache
def _quote(name: str, vendor: str) -> str:
    return _connection().ops.quote_name(name)


@cache
def _columns(model: type[Model], names: tuple[str, ...], alias: str, vendor: str) -> tuple[str, list[str], list]:
    connection = _connection()
    wanted = {model._meta.get_field(name).attname for name in names}
    fields = [f for f in model._meta.concrete_fields if f.attname in wanted]  # the order from_db expects
    sql = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    converters = []  # only the columns that have some: (index, functions, expression)
    for index, field in enumerate(fields):
        expression = field.get_col(alias)
        found = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
        if found:
            converters.append((index, found, expression))
    return sql, [f.attname for f in fields], converters


def select_list(model: type[Model], names: tuple[str, ...], alias: str) -> str:
    """The SQL select list of these fields (in the model's order, which `build` reads them in)."""
    return _columns(model, names, alias, _connection().vendor)[0]


def build(model: type[Model], names: tuple[str, ...], alias: str, values: Sequence) -> Model:
    """An instance of `model` from a row of `select_list(model, names, alias)`, as the ORM builds it.

    Fields not in `names` are deferred (loaded on first access, as with `.only()`).
    """
    connection = _connection()
    _, attnames, converters = _columns(model, names, alias, connection.vendor)
    converted = list(values)
    for index, functions, expression in converters:
        value = converted[index]
        for function in functions:
            value = function(value, expression, connection)
        converted[index] = value
    return model.from_db(connection.alias, attnames, converted)


# A str in a CharField, an int in an IntegerField or foreign key, a float in a FloatField (or None)
# goes to the database as it is: their `get_db_prep_save` chain is skipped (~8 µs a field under
# the profiler, 16 fields an event). Any other value takes the ORM's way. Likewise `pre_save` is a
# plain attribute read for fields that do not override it (no auto_now).
def _plain_types(field) -> tuple[type, ...]:
    if isinstance(field, models.ForeignKey):
        return _plain_types(field.target_field)
    if isinstance(field, models.BooleanField):
        return ()
    if isinstance(field, (models.CharField, models.TextField)):
        return (str, type(None))
    if isinstance(field, models.IntegerField):  # and the auto fields, its subclasses
        return (int, type(None))
    if isinstance(field, models.FloatField):
        return (float, type(None))
    return ()


def _writers(fields: list) -> list[tuple]:
    out = []
    for field in fields:
        plain_read = type(field).pre_save is models.Field.pre_save or (
            isinstance(field, models.DateField) and not field.auto_now and not field.auto_now_add
        )
        out.append((field, field.attname, _plain_types(field), plain_read))
    return out


def _values(writers: list[tuple], obj: Model, add: bool, connection) -> list:
    out = []
    for field, attname, plain, plain_read in writers:
        value = getattr(obj, attname) if plain_read else field.pre_save(obj, add)
        out.append(value if type(value) in plain else field.get_db_prep_save(value, connection))
    return out


@cache
def _insert_parts(model: type[Model], vendor: str) -> tuple[list, list, str, str, str]:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return fields, _writers(fields), head, row, f" RETURNING {quote(meta.pk.column)}"


def insert(model: type[Model], objects: list[Model]) -> None:
    """INSERT the objects in as few statements as the database takes, setting each one's primary key.

    One row: ~20 µs through a cursor against 191 µs for `bulk_create([obj])` (see the module's note).
    """
    if not objects:
        return
    connection = _connection()
    if not connection.features.can_return_rows_from_bulk_insert:  # an old SQLite: the ORM's way
        model._default_manager.bulk_create(objects)
        return
    fields, writers, head, row, returning = _insert_parts(model, connection.vendor)
    size = max(connection.ops.bulk_batch_size(fields, objects), 1)
    for start in range(0, len(objects), size):
        chunk = objects[start : start + size]
        for obj in chunk:  # as bulk_create: a foreign key set to an object saved since takes its id
            obj._prepare_related_fields_for_save(operation_name="insert")
        params = [value for obj in chunk for value in _values(writers, obj, True, connection)]
        with connection.cursor() as cursor:
            cursor.execute(head + ", ".join([row] * len(chunk)) + returning, params)
            ids = [r[0] for r in cursor.fetchall()]
        for obj, pk in zip(chunk, ids, strict=True):  # in VALUES order, as bulk_create also relies on
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias


@cache
def _update_parts(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[list, str]:
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    return _writers(fields), f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"


def update(model: type[Model], objects: Iterable[Model], names: tuple[str, ...]) -> None:
    """UPDATE the fields `names` of each object by primary key, one prepared statement for them all.

    `bulk_update` builds a CASE WHEN per field and row and resolves each as an expression: it was
    a third of a 500-bounce batch's time in the profile; executemany of one UPDATE is not.
    """
    objects = list(objects)
    if not objects:
        return
    connection = _connection()
    writers, sql = _update_parts(model, names, connection.vendor)
    params = [[*_values(writers, obj, False, connection), obj.pk] for obj in objects]
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)

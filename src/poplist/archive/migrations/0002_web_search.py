"""Full-text search of the archive (web work): SQLite FTS5 kept by triggers, PostgreSQL a GIN index."""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE archive_fts USING fts5(subject, author_name, body_text, "
    "content='archive_archivedmessage', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER archive_fts_insert AFTER INSERT ON archive_archivedmessage BEGIN "
    "INSERT INTO archive_fts(rowid, subject, author_name, body_text) "
    "VALUES (new.id, new.subject, new.author_name, new.body_text); END",
    "CREATE TRIGGER archive_fts_delete AFTER DELETE ON archive_archivedmessage BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, subject, author_name, body_text) "
    "VALUES ('delete', old.id, old.subject, old.author_name, old.body_text); END",
    "CREATE TRIGGER archive_fts_update AFTER UPDATE OF subject, author_name, body_text ON archive_archivedmessage BEGIN "
    "INSERT INTO archive_fts(archive_fts, rowid, subject, author_name, body_text) "
    "VALUES ('delete', old.id, old.subject, old.author_name, old.body_text); "
    "INSERT INTO archive_fts(rowid, subject, author_name, body_text) "
    "VALUES (new.id, new.subject, new.author_name, new.body_text); END",
    "INSERT INTO archive_fts(archive_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS archive_fts_insert",
    "DROP TRIGGER IF EXISTS archive_fts_delete",
    "DROP TRIGGER IF EXISTS archive_fts_update",
    "DROP TABLE IF EXISTS archive_fts",
]
# 'simple': lists speak several languages; no stemming beats the wrong language's stemming.
POSTGRES = [
    "CREATE INDEX archive_fts ON archive_archivedmessage USING GIN "
    "(to_tsvector('simple', subject || ' ' || author_name || ' ' || body_text))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS archive_fts"]


def forwards(apps, schema_editor):
    statements = SQLITE if schema_editor.connection.vendor == "sqlite" else POSTGRES
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = SQLITE_DROP if schema_editor.connection.vendor == "sqlite" else POSTGRES_DROP
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]

"""The database itself refuses to change a paid payment (and PostgreSQL, to delete one).

Services never try; this catches anything else: a shell, a bulk update, a future bug. The
trigger is (re)installed after every ``migrate`` (``post_migrate``), so it also exists in
test databases built without migrations and survives SQLite rebuilding the table. SQLite
gets no delete trigger because Django's test flush empties tables with DELETE.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION projects_payment_paid_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'paid' THEN
        RAISE EXCEPTION 'A paid payment (id %) cannot be changed or deleted: record an adjustment.', OLD.id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = [
    "DROP TRIGGER IF EXISTS projects_payment_paid_is_final ON projects_payment",
    "CREATE TRIGGER projects_payment_paid_is_final BEFORE UPDATE OR DELETE ON projects_payment "
    "FOR EACH ROW EXECUTE FUNCTION projects_payment_paid_is_final()",
]
SQLITE_TRIGGER = [
    "DROP TRIGGER IF EXISTS projects_payment_paid_is_final",
    "CREATE TRIGGER projects_payment_paid_is_final BEFORE UPDATE ON projects_payment "
    "WHEN OLD.status = 'paid' "
    "BEGIN SELECT RAISE(ABORT, 'A paid payment cannot be changed: record an adjustment.'); END",
]


def install_paid_is_final(using: str = "default", **kwargs: Any) -> None:
    connection = connections[using]
    if "projects_payment" not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION)
            for statement in PG_TRIGGER:
                cursor.execute(statement)
        elif connection.vendor == "sqlite":
            for statement in SQLITE_TRIGGER:
                cursor.execute(statement)

"""The programme's data version, bumped by the database on every write, and figures cached under it.

The dashboard and the reports count a commissioner's whole programme: tens of milliseconds of
aggregates at national scale, asked again each time a lead opens a page. So their results are
cached under the version of the data they were counted from. The database keeps the version
itself, with triggers on every table the figures read (``TRACKED``), so no write is missed: a
service, a bulk ``update()``, the admin, a shell. A page asks for the version (one query) and
counts again only when it has moved.

- SQLite: a row-level trigger per table bumps ``DataVersion`` inside the writing transaction
  (SQLite has one writer at a time anyway).
- PostgreSQL: a statement-level trigger calls ``nextval`` on a sequence, which takes no lock, so
  writers never queue behind one another. A sequence moves before the writer commits: a reader in
  that instant could count the old data under the new version. The cache's timeout (5 minutes,
  ``CACHES["programme"]``) bounds how long such figures can live.

The triggers are (re)installed after every ``migrate`` (``post_migrate``), like the paid-payment
guard, so they exist in test databases and survive SQLite rebuilding a table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from django.apps import apps
from django.core.cache import caches
from django.db import connection, connections

T = TypeVar("T")

# Bumped when what is cached changes shape: old entries are then never read.
CACHE_VERSION = 1

# Every model whose rows the dashboard or a report counts or names.
TRACKED = (
    "practices.Commissioner",
    "practices.Pcn",
    "practices.Practice",
    "practices.EngagementChange",
    "projects.Project",
    "projects.TeamMember",
    "projects.SpecificAim",
    "projects.StepChange",
    "projects.Measure",
    "projects.Payment",
    "projects.FundingApplication",
    "coaching.CoachProfile",
    "coaching.TrainingRecord",
    "coaching.Mentoring",
    "coaching.CoachingAgreement",
    "coaching.Session",
    "coaching.SessionAttendance",
    "coaching.Action",
    "evaluation.FollowUp",
    "evaluation.FollowUpReview",
    "evaluation.EmbeddingAssessment",
)
SEQUENCE = "evaluation_data_version_seq"
PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION evaluation_bump_data_version() RETURNS trigger AS $$
BEGIN
    PERFORM nextval('{SEQUENCE}');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def tracked_tables() -> list[str]:
    return [apps.get_model(label)._meta.db_table for label in TRACKED]


def _sqlite_statements(table: str) -> list[str]:
    bump = (
        "INSERT INTO evaluation_dataversion (id, version) VALUES (1, 1) "
        "ON CONFLICT(id) DO UPDATE SET version = version + 1"
    )
    statements = []
    for operation in ("INSERT", "UPDATE", "DELETE"):
        name = f"evaluation_dv_{table}_{operation.lower()}"
        statements += [
            f'DROP TRIGGER IF EXISTS "{name}"',
            f'CREATE TRIGGER "{name}" AFTER {operation} ON "{table}" BEGIN {bump}; END',
        ]
    return statements


def _postgresql_statements(table: str) -> list[str]:
    name = f"evaluation_dv_{table}"
    return [
        f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"',
        f'CREATE TRIGGER "{name}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION evaluation_bump_data_version()",
    ]


def install_triggers(using: str = "default", **kwargs: Any) -> None:
    """Create (or replace) the triggers on every tracked table that exists; safe to run again."""
    conn = connections[using]
    existing = set(conn.introspection.table_names())
    if "evaluation_dataversion" not in existing:
        return
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
            cursor.execute(PG_FUNCTION)
            statements = _postgresql_statements
        elif conn.vendor == "sqlite":
            statements = _sqlite_statements
        else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
            return
        for table in tracked_tables():
            if table in existing:
                for statement in statements(table):
                    cursor.execute(statement)


def current() -> str:
    """The data version now: one query. Equal before and after means nothing tracked was written."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT last_value, is_called FROM {SEQUENCE}")  # noqa: S608  (a constant name)
            value, called = cursor.fetchone()
            return f"{value}.{int(called)}"
        cursor.execute("SELECT version FROM evaluation_dataversion WHERE id = 1")
        row = cursor.fetchone()
        return str(row[0] if row else 0)


def cached(what: str, scope_part: dict[str, Any], today: date, count: Callable[[], T]) -> T:
    """``count()``, or what it gave last time for the same figures, scope, day and data version.

    ``today`` is in the key because "due", "overdue" and "6 months ago" move with the date.
    """
    parts = f"v{CACHE_VERSION}:{what}:{sorted(scope_part.items())}:{today.isoformat()}:{current()}"
    key = f"{what}:{hashlib.sha256(parts.encode()).hexdigest()}"
    cache = caches["programme"]
    found = cache.get(key)
    if found is not None:
        result: T = found
        return result
    result = count()
    cache.set(key, result)
    return result

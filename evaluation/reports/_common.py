"""Small pieces the typology, adoption and sustainability reports share.

Counting is the database's job: ``grouped_counts`` runs one ``GROUP BY`` and hands back a
dictionary of counts per group, so a report's tables are built from a handful of aggregate rows
whose number depends on the categories (steps, typologies, outcomes), never on how many projects
there are. The wording helpers turn those figures into the sentences of a chart's alt text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.functions import ExtractYear

from evaluation.models import FollowUp
from evaluation.reporting import Scope, Table
from evaluation.reporting import Value as Cell

NO_PCN = "No PCN"
LONG_HEADER = ("Table", "Row", "Column", "Value")


def financial_year(field: str) -> Case:
    """The financial year (April to March, named by the year it starts) of a date column, worked out in the database."""
    year = ExtractYear(field)
    return Case(
        When(**{f"{field}__month__gte": 4}, then=year),
        default=year - Value(1),
        output_field=IntegerField(),
    )


def grouped_counts(queryset: QuerySet[Any], *fields: str, **expressions: Any) -> dict[tuple[Any, ...], int]:
    """How many rows fall in each group of ``fields`` (and named ``expressions``): one ``GROUP BY`` query.

    The key is the tuple of the group's values in the order given, fields first.
    """
    names = (*fields, *expressions)
    rows = queryset.order_by().values(*fields, **expressions).annotate(_n=Count("pk"))
    return {tuple(row[name] for name in names): row["_n"] for row in rows}


def follow_ups_in(scope: Scope) -> QuerySet[FollowUp]:
    """The follow-ups of the scope's projects: those due in the chosen year, any project start (or every one)."""
    follow_ups = FollowUp.objects.filter(project__practice__commissioner=scope.commissioner)
    if scope.pcn is not None:
        follow_ups = follow_ups.filter(project__practice__pcn=scope.pcn)
    if scope.bounds is not None:
        follow_ups = follow_ups.filter(due_on__range=scope.bounds)
    return follow_ups


# --- words for alt text ---------------------------------------------------------------------------


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 project", "3 projects"."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def share(part: int, whole: int) -> str:
    """ "31 (65%)": a count with its whole-number share of ``whole``."""
    return f"{part} ({round(100 * part / whole) if whole else 0}%)"


def listing(items: Sequence[str]) -> str:
    """ "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def largest(named: Iterable[tuple[str, int]]) -> tuple[str, int] | None:
    """The first of the biggest non-zero counts, or None when all are zero."""
    best: tuple[str, int] | None = None
    for name, n in named:
        if n > 0 and (best is None or n > best[1]):
            best = (name, n)
    return best


# --- the long CSV ---------------------------------------------------------------------------------


def long_rows(table: Table, *, labels: int = 1) -> list[tuple[Cell, ...]]:
    """A table as CSV rows of (table, row, column, value): one per figure, headed by ``LONG_HEADER``.

    The first ``labels`` columns name the row; each other column gives one CSV row.
    """
    rows: list[tuple[Cell, ...]] = []
    for row in table.rows:
        name = " · ".join(str(cell) for cell in row[:labels])
        for column, cell in zip(table.columns[labels:], row[labels:], strict=True):
            rows.append((table.title, name, column.label, cell))
    return rows

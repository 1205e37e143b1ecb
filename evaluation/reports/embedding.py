"""The embedding report: how practice teams score themselves on the ten characteristics of effective microsystems.

Each project's team scores itself 1 to 5 at its baseline and at the 6- and 12-month follow-ups
(``EmbeddingAssessment``). The programme's mean per characteristic and occasion is averaged by
the database over every assessment in scope. The change compares like with like: only projects
with a baseline and a follow-up count, each from its baseline to its latest follow-up (12 months
if held, else 6 months), averaged per practice and across the programme. Every average is one
``GROUP BY``; the number of rows a query returns depends on practices, never on assessments.
"""

from __future__ import annotations

from functools import reduce
from operator import add
from typing import Any

from django.db.models import Avg, Count, Exists, F, OuterRef, Q, QuerySet

from evaluation.models import CHARACTERISTICS, EmbeddingAssessment, EmbeddingOccasion
from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, labelled

from ._common import plural

SLUG = "embedding"
SHOWN = 200  # practices in the change table
CHART_EACH_END = 10  # with more than twice this many practices, the chart shows the top and bottom ten
NAMES = tuple(name for name, _ in CHARACTERISTICS)
LABELS = tuple(label for _, label in CHARACTERISTICS)
OCCASIONS = tuple(EmbeddingOccasion.values)
BASELINE, SIX, TWELVE = EmbeddingOccasion.BASELINE, EmbeddingOccasion.SIX_MONTHS, EmbeddingOccasion.TWELVE_MONTHS
SHORT: dict[str, str] = {BASELINE: "Baseline", SIX: "6 months", TWELVE: "12 months"}

CSV_HEADER = ("Practice", "ODS code", "PCN", "Project", "Occasion", "Date assessed", *LABELS, "Mean of the ten")

Row = tuple[Value, ...]


def build(scope: Scope) -> Report:
    assessments = EmbeddingAssessment.objects.filter(project__in=scope.projects())
    by_occasion = _by_occasion(assessments)
    matched = _matched(assessments)
    change = _matched_change(matched)
    practices = _practices(matched)
    csv_rows = _csv_rows(assessments)
    return Report(
        slug=SLUG,
        title="Embedding",
        intro=(
            "How practice teams score themselves on the ten characteristics of effective microsystems, from 1 (weak) "
            "to 5 (strong), at the start of their project and at the 6- and 12-month follow-ups. The change counts "
            "only projects with both a baseline and a follow-up: from the baseline to the latest follow-up."
        ),
        scope=scope,
        charts=(_occasion_chart(by_occasion), _practice_chart(practices)),
        tables=(_occasion_table(by_occasion, change), _practice_table(practices)),
        csv_header=CSV_HEADER,
        csv_rows=tuple(csv_rows),
        highlights=(
            ("Self-assessments", len(csv_rows)),
            ("Baseline assessments", by_occasion[BASELINE]["n"]),
            ("Follow-up assessments", by_occasion[SIX]["n"] + by_occasion[TWELVE]["n"]),
            ("Practices compared at a follow-up", len(practices)),
            ("Mean change (of 5)", _signed(change["mean"]) if change["projects"] else "—"),
        ),
    )


# --- queries --------------------------------------------------------------------------------------


def _total() -> Any:
    """The sum of the ten scores of an assessment, as a database expression."""
    return reduce(add, (F(name) for name in NAMES))


def _by_occasion(assessments: QuerySet[EmbeddingAssessment]) -> dict[str, dict[str, Any]]:
    """Per occasion: how many assessments, of how many practices, and the mean of each characteristic: one query."""
    rows = (
        assessments.order_by()
        .values("occasion")
        .annotate(
            n=Count("pk"),
            practices=Count("project__practice", distinct=True),
            total=Avg(_total()),
            **{f"avg_{name}": Avg(name) for name in NAMES},
        )
    )
    found = {row["occasion"]: row for row in rows}
    empty = {"n": 0, "practices": 0, "total": None, **{f"avg_{name}": None for name in NAMES}}
    return {occasion: found.get(occasion, empty) for occasion in OCCASIONS}


def _latest_follow_up() -> Q:
    """An assessment that is its project's latest follow-up: the 12-month one, or the 6-month one when there is none."""
    twelve = EmbeddingAssessment.objects.filter(project=OuterRef("project"), occasion=TWELVE)
    return Q(occasion=TWELVE) | (Q(occasion=SIX) & ~Q(Exists(twelve)))


def _matched(assessments: QuerySet[EmbeddingAssessment]) -> QuerySet[EmbeddingAssessment]:
    """The assessments of projects that have both a baseline and a follow-up."""
    same_project = EmbeddingAssessment.objects.filter(project=OuterRef("project"))
    return assessments.filter(
        Exists(same_project.filter(occasion=BASELINE)), Exists(same_project.filter(occasion__in=(SIX, TWELVE)))
    )


def _matched_change(matched: QuerySet[EmbeddingAssessment]) -> dict[str, Any]:
    """Across those projects: each characteristic's mean at the baseline and at the latest follow-up: one query."""
    baseline, latest = Q(occasion=BASELINE), _latest_follow_up()
    figures = matched.aggregate(
        projects=Count("project", distinct=True),
        base_total=Avg(_total(), filter=baseline),
        latest_total=Avg(_total(), filter=latest),
        **{f"base_{name}": Avg(name, filter=baseline) for name in NAMES},
        **{f"latest_{name}": Avg(name, filter=latest) for name in NAMES},
    )
    change = {name: _difference(figures[f"latest_{name}"], figures[f"base_{name}"]) for name in NAMES}
    mean = _difference(figures["latest_total"], figures["base_total"])
    return {"projects": figures["projects"], "mean": mean / len(NAMES) if mean is not None else None, **change}


def _practices(matched: QuerySet[EmbeddingAssessment]) -> list[dict[str, Any]]:
    """Per practice with a compared project: the mean of the ten at the baseline and the latest follow-up.

    One query, one row per practice; sorted by the change, largest rise first.
    """
    rows = (
        matched.order_by()
        .values("project__practice", "project__practice__name", "project__practice__pcn__name")
        .annotate(
            projects=Count("project", distinct=True),
            twelve=Count("pk", filter=Q(occasion=TWELVE)),
            base_total=Avg(_total(), filter=Q(occasion=BASELINE)),
            latest_total=Avg(_total(), filter=_latest_follow_up()),
        )
    )
    practices = []
    for row in rows:
        base, latest = row["base_total"] / len(NAMES), row["latest_total"] / len(NAMES)
        practices.append(
            {
                "name": row["project__practice__name"],
                "pcn": row["project__practice__pcn__name"] or "",
                "projects": row["projects"],
                "latest": _latest_label(row["twelve"], row["projects"]),
                "base": base,
                "latest_mean": latest,
                "change": latest - base,
            }
        )
    return sorted(practices, key=lambda p: (-p["change"], p["name"]))


def _csv_rows(assessments: QuerySet[EmbeddingAssessment]) -> list[Row]:
    rows = assessments.order_by("project__practice__name", "project__title", "project_id", "assessed_on", "pk")
    values = rows.values_list(
        "project__practice__name", "project__practice__ods_code", "project__practice__pcn__name",
        "project__title", "occasion", "assessed_on", *NAMES,
    )  # fmt: skip
    return [
        (practice, ods, pcn or "", title, labelled(EmbeddingOccasion.choices, occasion), on, *scores,
         round(sum(scores) / len(NAMES), 2))
        for practice, ods, pcn, title, occasion, on, *scores in values
    ]  # fmt: skip


def _difference(after: float | None, before: float | None) -> float | None:
    return after - before if after is not None and before is not None else None


def _latest_label(twelve: int, projects: int) -> str:
    if twelve == 0:
        return "6 months"
    return "12 months" if twelve == projects else "6 or 12 months"


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    rounded = round(value, 2)
    return f"+{rounded:.2f}" if rounded > 0 else f"{rounded:.2f}"


def _mean(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


# --- tables ---------------------------------------------------------------------------------------


def _occasion_table(by_occasion: dict[str, dict[str, Any]], change: dict[str, Any]) -> Table:
    rows: list[Row] = [
        (label, *(_mean(by_occasion[o][f"avg_{name}"]) for o in OCCASIONS), _signed(change[name]))
        for name, label in CHARACTERISTICS
    ]
    rows.append(
        (
            "Mean of the ten",
            *(_mean(by_occasion[o]["total"] / len(NAMES)) if by_occasion[o]["total"] is not None else None
              for o in OCCASIONS),
            _signed(change["mean"]),
        )
    )  # fmt: skip
    rows.append(("Assessments", *(by_occasion[o]["n"] for o in OCCASIONS), plural(change["projects"], "project")))
    rows.append(("Practices", *(by_occasion[o]["practices"] for o in OCCASIONS), ""))
    return Table(
        title="Programme means by occasion",
        columns=(
            Column("Characteristic"),
            *(Column(SHORT[o], numeric=True) for o in OCCASIONS),
            Column("Change to the latest follow-up", numeric=True),
        ),
        rows=tuple(rows),
        note="Means of every assessment at each occasion. The change is over the projects with both a baseline and "
        "a follow-up, from the baseline to the latest follow-up.",
        empty="No self-assessments yet.",
    )


def _practice_table(practices: list[dict[str, Any]]) -> Table:
    shown = practices[:SHOWN]
    note = "Mean of the ten characteristics; the largest rise first."
    if len(practices) > SHOWN:
        note = f"Showing the {SHOWN} of {len(practices)} practices with the largest rise. The CSV has every assessment."
    return Table(
        title="Change per practice",
        columns=(
            Column("Practice"),
            Column("PCN"),
            Column("Projects compared", numeric=True),
            Column("Baseline", numeric=True),
            Column("Latest follow-up"),
            Column("Follow-up", numeric=True),
            Column("Change", numeric=True),
        ),
        rows=tuple(
            (
                p["name"],
                p["pcn"],
                p["projects"],
                _mean(p["base"]),
                p["latest"],
                _mean(p["latest_mean"]),
                _signed(p["change"]),
            )
            for p in shown
        ),  # fmt: skip
        note=note,
        empty="No practice has a baseline and a follow-up self-assessment yet.",
    )


# --- charts ---------------------------------------------------------------------------------------


def _occasion_chart(by_occasion: dict[str, dict[str, Any]]) -> ChartSpec:
    series = tuple(
        ChartSeries(SHORT[o], tuple(_mean(by_occasion[o][f"avg_{name}"]) or 0.0 for name in NAMES))
        for o in OCCASIONS
        if by_occasion[o]["n"]
    )
    return ChartSpec(
        slug="embedding-occasions",
        title="Mean score per characteristic, by occasion",
        kind="grouped",
        categories=LABELS if series else (),
        series=series,
        alt=_occasion_alt(by_occasion),
        y_label="Mean score (1 to 5)",
    )


def _occasion_alt(by_occasion: dict[str, dict[str, Any]]) -> str:
    if not by_occasion[BASELINE]["n"] and not by_occasion[SIX]["n"] and not by_occasion[TWELVE]["n"]:
        return "No self-assessments yet."
    parts = []
    for o in OCCASIONS:
        row = by_occasion[o]
        if not row["n"]:
            parts.append(f"no {SHORT[o].lower()} assessments yet")
            continue
        means = sorted(((row[f"avg_{name}"], label) for name, label in CHARACTERISTICS), key=lambda m: -m[0])
        (high, high_label), (low, low_label) = means[0], means[-1]
        parts.append(
            f"{SHORT[o].lower()} ({plural(row['n'], 'assessment')}): mean {row['total'] / len(NAMES):.1f}, highest "
            f"{high_label.lower()} at {high:.1f}, lowest {low_label.lower()} at {low:.1f}"
        )
    text = "; ".join(parts)
    return f"Mean self-assessment scores out of 5 for the ten characteristics. {text[0].upper()}{text[1:]}."


def _practice_chart(practices: list[dict[str, Any]]) -> ChartSpec:
    chosen = practices
    trimmed = len(practices) > 2 * CHART_EACH_END
    if trimmed:
        chosen = practices[:CHART_EACH_END] + practices[-CHART_EACH_END:]
    return ChartSpec(
        slug="embedding-practices",
        title="Change in the mean score per practice, baseline to latest follow-up",
        kind="barh",
        categories=tuple(p["name"] for p in chosen),
        series=(ChartSeries("Change", tuple(round(p["change"], 2) for p in chosen)),),
        alt=_practice_alt(practices, trimmed),
        x_label="Change in the mean score (of 5)",
    )


def _practice_alt(practices: list[dict[str, Any]], trimmed: bool) -> str:
    if not practices:
        return "No practice has a baseline and a follow-up self-assessment yet, so there is no change to show."
    rose = sum(1 for p in practices if p["change"] > 0)
    fell = sum(1 for p in practices if p["change"] < 0)
    top, bottom = practices[0], practices[-1]
    shown = (
        f"The chart shows the {CHART_EACH_END} practices with the largest rise and the {CHART_EACH_END} with the "
        f"smallest (or a fall) of {len(practices)}. "
        if trimmed
        else ""
    )
    return (
        f"{shown}Of {plural(len(practices), 'practice')} compared, {rose} rose, {fell} fell and "
        f"{len(practices) - rose - fell} stayed the same. The largest change was {top['name']} at "
        f"{_signed(top['change'])}; the smallest was {bottom['name']} at {_signed(bottom['change'])}."
    )

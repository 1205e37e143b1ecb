"""Measures and their values: the writes (each in a transaction, audited, asking for new charts) and the reads.

A value belongs to a period (the Monday of its week or the 1st of its month), one per period.
An import adds values only: a period that already has one is refused, so nothing the team
typed in the table is overwritten by a paste (see ``measure_csv``).

Every change asks ``chart_cache.request_charts`` for new charts; it waits for the commit itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from microsystems.audit import audit
from microsystems.compiled import CompiledQuery
from microsystems.models import User

from .analysis import CONCERN, IMPROVEMENT, RunChart, XmrChart, xmr_chart
from .measure_csv import (
    NOTE_LIMIT,
    REASON_LIMIT,
    Parsed,
    RowError,
    parse_values,
    period_label,
    plain_number,
    rounded,
    value_problem,
)
from .models import Direction, Frequency, Measure, MeasureKind, MeasureValue, Project, SpecificAim, Unit
from .models.improvement import ImprovementSignal, period_start
from .series import Series, baseline_count, run_analysis, series_of, xmr_analysis
from .services import ProjectError

MAX_BASELINE_POINTS = 500
SIGNAL_MIN_POINTS = 2  # an XmR chart needs a moving range before its latest point can say anything


class ImportRefused(ProjectError):
    """The pasted or uploaded data has bad rows: nothing was saved."""

    def __init__(self, errors: list[RowError]) -> None:
        count = len(errors)
        super().__init__(
            f"Nothing was saved: {count} row{'s' if count != 1 else ''} need{'' if count != 1 else 's'} fixing."
        )
        self.errors = errors


def _request_charts(measure: Measure) -> None:
    from .chart_cache import request_charts  # the chart cache imports the models; import it when used

    request_charts(measure.pk)


# Measures


@dataclass(frozen=True)
class MeasureDetails:
    name: str
    kind: str
    definition: str
    unit: str
    direction: str = Direction.NEITHER
    frequency: str = Frequency.WEEKLY
    target: Decimal | None = None
    baseline_points: int | None = None
    baseline_from: date | None = None
    baseline_to: date | None = None
    specific_aim: SpecificAim | None = None


def _check_measure(project: Project, details: MeasureDetails, measure: Measure | None = None) -> dict[str, Any]:
    name = " ".join(details.name.split())
    if not name:
        raise ProjectError("Give the measure a name.", field="name")
    taken = project.measures.filter(name__iexact=name)
    if measure is not None:
        taken = taken.exclude(pk=measure.pk)
    if taken.exists():
        raise ProjectError(f"The project already has a measure called “{name}”. Choose another name.", field="name")
    for field, value, choices in (
        ("kind", details.kind, MeasureKind.values),
        ("unit", details.unit, Unit.values),
        ("direction", details.direction, Direction.values),
        ("frequency", details.frequency, Frequency.values),
    ):
        if value not in choices:
            raise ProjectError("Choose an option from the list.", field=field)
    if not details.definition.strip():
        raise ProjectError("Say exactly what is counted, how and when.", field="definition")
    if details.target is not None and (problem := value_problem(details.target, details.unit)):
        raise ProjectError(f"The target cannot be used: {problem}.", field="target")
    _check_baseline(details)
    if details.specific_aim is not None and details.specific_aim.project_id != project.pk:
        raise ProjectError("Choose one of this project's specific aims.", field="specific_aim")
    return {
        "name": name,
        "kind": details.kind,
        "definition": details.definition.strip(),
        "unit": details.unit,
        "direction": details.direction,
        "frequency": details.frequency,
        "target": rounded(details.target) if details.target is not None else None,
        "baseline_points": details.baseline_points,
        "baseline_from": details.baseline_from,
        "baseline_to": details.baseline_to,
        "specific_aim": details.specific_aim,
    }


def _check_baseline(details: MeasureDetails) -> None:
    points, start, end = details.baseline_points, details.baseline_from, details.baseline_to
    if points is not None and (start or end):
        raise ProjectError("Use either the first points or a date range as the baseline, not both.", field="baseline")
    if points is not None and not 2 <= points <= MAX_BASELINE_POINTS:
        raise ProjectError(f"A baseline is between 2 and {MAX_BASELINE_POINTS} points.", field="baseline_points")
    if (start is None) != (end is None):
        field = "baseline_to" if end is None else "baseline_from"
        raise ProjectError("Give both the first and the last date of the baseline.", field=field)
    if start and end and end <= start:
        raise ProjectError("The end of the baseline must be after its start.", field="baseline_to")


def _check_unit_fits_values(measure: Measure, unit: str) -> None:
    """A change of unit must suit the values already entered (a percentage over 100 is no percentage)."""
    if unit == measure.unit:
        return
    values = measure.values.all()
    if unit == Unit.PERCENTAGE:
        values = values.filter(Q(value__lt=0) | Q(value__gt=100))
    elif unit in (Unit.COUNT, Unit.DAYS, Unit.HOURS, Unit.MINUTES, Unit.RATE):
        values = values.filter(value__lt=0)
    else:
        return
    if bad := values.first():
        problem = value_problem(bad.value, unit)
        raise ProjectError(
            f"The values do not suit that unit: {problem} ({period_label(bad.period, measure.frequency)}).",
            field="unit",
        )


def create_measure(*, project: Project, details: MeasureDetails, by: User) -> Measure:
    fields = _check_measure(project, details)
    try:
        with transaction.atomic():
            measure = Measure.objects.create(project=project, created_by=by, **fields)
            audit(measure, "measure.created", by=by, summary=measure.name, changes=_audited(fields))
            _request_charts(measure)
    except IntegrityError:
        raise ProjectError("The project already has a measure with that name.", field="name") from None
    return measure


def update_measure(*, measure: Measure, details: MeasureDetails, by: User) -> Measure:
    fields = _check_measure(measure.project, details, measure)
    if fields["frequency"] != measure.frequency and measure.values.exists():
        raise ProjectError(
            "The frequency cannot change once there are values: each is filed under its week or month. "
            "Start a new measure instead.",
            field="frequency",
        )
    _check_unit_fits_values(measure, fields["unit"])
    changes = {
        name: [_plain(getattr(measure, name)), _plain(value)]
        for name, value in fields.items()
        if getattr(measure, name) != value
    }
    try:
        with transaction.atomic():
            for name, value in fields.items():
                setattr(measure, name, value)
            measure.updated_at = timezone.now()
            measure.improvement_signal = _signal(measure)
            measure.save(update_fields=[*fields, "updated_at", "improvement_signal"])
            audit(measure, "measure.updated", by=by, summary=measure.name, changes=changes)
            _request_charts(measure)
    except IntegrityError:
        raise ProjectError("The project already has a measure with that name.", field="name") from None
    return measure


def remove_measure(*, measure: Measure, by: User) -> int:
    """Remove the measure, its values and its charts; returns how many values went with it."""
    with transaction.atomic():
        count = measure.values.count()
        audit(
            measure.project,
            "measure.removed",
            by=by,
            summary=f"{measure.name} ({count} value{'s' if count != 1 else ''})",
            changes={"measure": measure.pk, "values": count},
        )
        measure.delete()
    return count


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, SpecificAim):
        return value.pk
    return value


def _audited(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in fields.items()}


# Values


@dataclass(frozen=True)
class ValueDetails:
    on: date
    value: Decimal
    note: str = ""
    astronomical: bool = False
    astronomical_reason: str = ""
    follow_up_kind: str = ""  # set by ``evaluation.services.record_review``: the run chart marks the point


def _check_value(measure: Measure, details: ValueDetails, value: MeasureValue | None = None) -> dict[str, Any]:
    if details.on > timezone.localdate():
        raise ProjectError("The date cannot be in the future.", field="on")
    period = period_start(details.on, measure.frequency)
    others = measure.values.filter(period=period)
    clash = (others.exclude(pk=value.pk) if value is not None else others).first()
    if clash is not None:
        raise ProjectError(
            f"The {period_label(period, measure.frequency)} already has a value ({plain_number(clash.value)}). "
            "Change that one instead.",
            field="on",
        )
    if problem := value_problem(details.value, measure.unit):
        raise ProjectError(f"{problem[0].upper()}{problem[1:]}.", field="value")
    note, reason = details.note.strip(), details.astronomical_reason.strip()
    if len(note) > NOTE_LIMIT:
        raise ProjectError(f"The note can be up to {NOTE_LIMIT} characters.", field="note")
    if details.astronomical and not reason:
        raise ProjectError("Say why this point is astronomical.", field="astronomical_reason")
    if len(reason) > REASON_LIMIT:
        raise ProjectError(f"The reason can be up to {REASON_LIMIT} characters.", field="astronomical_reason")
    return {
        "on": details.on,
        "period": period,
        "value": rounded(details.value),
        "note": note,
        "astronomical": details.astronomical,
        "astronomical_reason": reason if details.astronomical else "",
        "follow_up_kind": details.follow_up_kind or (value.follow_up_kind if value is not None else ""),  # kept on edit
    }


def _clash(measure: Measure) -> ProjectError:
    return ProjectError("Someone has just entered a value for that period. Reload the page.", field="on")


def add_value(*, measure: Measure, details: ValueDetails, by: User) -> MeasureValue:
    fields = _check_value(measure, details)
    try:
        with transaction.atomic():
            value = MeasureValue.objects.create(measure=measure, entered_by=by, **fields)
            _touch(measure)
            audit(measure, "measure.value_added", by=by, summary=_described(measure, value), changes=_audited(fields))
            _request_charts(measure)
    except IntegrityError:
        raise _clash(measure) from None
    return value


def update_value(*, value: MeasureValue, details: ValueDetails, by: User) -> MeasureValue:
    measure = value.measure
    fields = _check_value(measure, details, value)
    changes = {
        name: [_plain(getattr(value, name)), _plain(new)] for name, new in fields.items() if getattr(value, name) != new
    }
    try:
        with transaction.atomic():
            for name, new in fields.items():
                setattr(value, name, new)
            value.save(update_fields=list(fields))
            _touch(measure)
            audit(measure, "measure.value_updated", by=by, summary=_described(measure, value), changes=changes)
            _request_charts(measure)
    except IntegrityError:
        raise _clash(measure) from None
    return value


def remove_value(*, value: MeasureValue, by: User) -> None:
    measure = value.measure
    with transaction.atomic():
        audit(
            measure,
            "measure.value_removed",
            by=by,
            summary=_described(measure, value),
            changes=_audited({"on": value.on, "value": value.value, "note": value.note}),
        )
        value.delete()
        _touch(measure)
        _request_charts(measure)


def parse_import(*, measure: Measure, text: str) -> Parsed:
    """Check pasted or uploaded text against the measure and the values it already has."""
    existing = dict(measure.values.values_list("period", "value"))
    return parse_values(
        text, unit=measure.unit, frequency=measure.frequency, existing=existing, today=timezone.localdate()
    )


def import_values(*, measure: Measure, text: str, by: User) -> list[MeasureValue]:
    """Add every row of ``text``, or none: any bad row refuses the whole import with every reason."""
    with transaction.atomic():
        Measure.objects.select_for_update().filter(pk=measure.pk).first()  # one import at a time per measure
        parsed = parse_import(measure=measure, text=text)
        if parsed.errors:
            raise ImportRefused(parsed.errors)
        rows = [
            MeasureValue(
                measure=measure,
                on=row.on,
                period=period_start(row.on, measure.frequency),
                value=row.value,
                note=row.note,
                astronomical=row.astronomical,
                astronomical_reason=row.astronomical_reason,
                entered_by=by,
            )
            for row in parsed.rows
        ]
        try:
            with transaction.atomic():
                created = MeasureValue.objects.bulk_create(rows)
        except IntegrityError:
            raise ImportRefused(
                [RowError(0, "Someone has just entered values for these periods. Try again.")]
            ) from None
        _touch(measure)
        first, last = min(r.on for r in rows), max(r.on for r in rows)
        audit(
            measure,
            "measure.values_imported",
            by=by,
            summary=f"{len(rows)} value{'s' if len(rows) != 1 else ''} from {first:%d/%m/%Y} to {last:%d/%m/%Y}",
            changes={"count": len(rows), "from": first.isoformat(), "to": last.isoformat()},
        )
        _request_charts(measure)
    return created


def _touch(measure: Measure) -> None:
    """Mark the measure changed and recompute its improvement signal from the values now saved."""
    measure.updated_at = timezone.now()
    measure.improvement_signal = _signal(measure)
    measure.save(update_fields=["updated_at", "improvement_signal"])


# The improvement signal the reports count


def improvement_signal_of(values: list[float], *, direction: str, baseline: int | None) -> str:
    """What the XmR chart's latest point says, as an ``ImprovementSignal``: the page's "Special cause variation".

    Empty when there is no direction of improvement (a change is then neither better nor worse)
    or fewer than ``SIGNAL_MIN_POINTS`` values. ``values`` are in period order; ``baseline`` is
    the number of leading points the limits are drawn from (None for all of them).
    """
    if direction not in (Direction.UP, Direction.DOWN) or len(values) < SIGNAL_MIN_POINTS:
        return ImprovementSignal.UNKNOWN
    variation = xmr_chart(values, improvement=direction, baseline=baseline).variation
    if variation == IMPROVEMENT:
        return ImprovementSignal.IMPROVING
    if variation == CONCERN:
        return ImprovementSignal.WORSENING
    return ImprovementSignal.NONE


def _signal(measure: Measure) -> str:
    rows = list(measure.values.order_by("period").values_list("on", "value"))
    dates = [on for on, _ in rows]
    return improvement_signal_of(
        [float(v) for _, v in rows], direction=measure.direction, baseline=baseline_count(measure, dates)
    )


def _described(measure: Measure, value: MeasureValue) -> str:
    return f"{measure.name}: {plain_number(value.value)} for the {period_label(value.period, measure.frequency)}"


# Reads


def _measures_with_latest(fields: tuple[str, ...]) -> CompiledQuery[Measure]:
    latest = MeasureValue.objects.filter(measure=OuterRef("pk")).order_by("-period")

    def build(project_id: int) -> Any:
        measures = Measure.objects.filter(project_id=project_id)
        measures = measures.only(*fields) if fields else measures.select_related("specific_aim")
        return measures.annotate(
            points=Count("values"),
            latest_value=Subquery(latest.values("value")[:1]),
            latest_on=Subquery(latest.values("on")[:1]),
        ).order_by("kind", "name", "pk")  # an aggregate drops Meta.ordering: the order would be the database's

    return CompiledQuery(build)


_WITH_LATEST: dict[tuple[str, ...], CompiledQuery[Measure]] = {}


def measures_with_latest(project: Project, *, fields: tuple[str, ...] = ()) -> list[Measure]:
    """The project's measures, each with ``points`` (how many values), ``latest_value``, ``latest_on``
    and ``latest_shown`` (the value with its unit, "6.5 days").

    One query whatever the number of measures and values, compiled once per process for each ``fields``.
    """
    if fields not in _WITH_LATEST:
        _WITH_LATEST[fields] = _measures_with_latest(fields)
    rows = _WITH_LATEST[fields](project.pk)
    for m in rows:
        latest_value = m.latest_value  # type: ignore[attr-defined]
        shown = amount(latest_value, m.unit, places=3) if latest_value is not None else ""
        m.latest_shown = shown  # type: ignore[attr-defined]
    return rows


def measures_for_overview(project: Project) -> list[Measure]:
    """For the project overview's summary: name, kind, count of points and latest value, in one query."""
    return measures_with_latest(project, fields=("project_id", "name", "kind", "unit"))


# The analysis in plain words


@dataclass(frozen=True)
class Summary:
    run: list[str]
    xmr: list[str]


UNIT_WORDS = {
    Unit.DAYS: ("day", "days"),
    Unit.HOURS: ("hour", "hours"),
    Unit.MINUTES: ("minute", "minutes"),
}


def amount(number: float | Decimal, unit: str, *, places: int = 2) -> str:
    """``6.5 days``, ``42%``, ``3.25 per 1,000``, ``12``: to two decimal places at most (or ``places``)."""
    text = plain_number(Decimal(f"{float(number):.{places}f}"))
    if text == "-0":
        text = "0"
    if unit in UNIT_WORDS:
        one, many = UNIT_WORDS[Unit(unit)]
        return f"{text} {one if text == '1' else many}"
    if unit == Unit.PERCENTAGE:
        return f"{text}%"
    if unit == Unit.RATE:
        return f"{text} per 1,000"
    return text


def _on(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def analysis_summary(measure: Measure, values: list[MeasureValue]) -> Summary:
    """What the run chart and the XmR chart say, in sentences; both empty without values."""
    series = series_of(measure, values)
    run, xmr = run_analysis(series), xmr_analysis(series)
    if run is None or xmr is None:
        return Summary([], [])
    return Summary(_run_sentences(measure, series, run), _xmr_sentences(measure, xmr))


def _run_sentences(measure: Measure, series: Series, run: RunChart) -> list[str]:
    word = "months" if measure.frequency == Frequency.MONTHLY else "weeks"
    if run.baseline and run.baseline < len(series):
        baseline = f"baseline: first {run.baseline} {word}"
    else:
        baseline = f"all {len(series)} point{'s' if len(series) != 1 else ''}"
    sentences = [f"Median {amount(run.centre, measure.unit)} ({baseline})."]
    for start, end in run.shifts:
        useful = sum(1 for v in series.values[start : end + 1] if v != run.centre)
        side = "above" if series.values[start] > run.centre else "below"
        sentences.append(
            f"A shift of {useful} points {side} the median from {_on(series.dates[start])}{_meaning(measure, side)}."
        )
    for start, end in run.trends:
        rising = series.values[end] > series.values[start]
        sentences.append(
            f"A trend of {end - start + 1} points {'rising' if rising else 'falling'} from {_on(series.dates[start])}"
            f"{_meaning(measure, 'above' if rising else 'below')}."
        )
    if not run.shifts and not run.trends:
        sentences.append("No shift or trend: no sign of change yet.")
    sentences.append(_runs_sentence(run))
    marked = sum(series.astronomical)
    if marked:
        sentences.append(f"{marked} point{'s' if marked != 1 else ''} marked astronomical by the team.")
    return sentences


def _meaning(measure: Measure, side: str) -> str:
    if not measure.direction:
        return ""
    better = (side == "above") == (measure.direction == Direction.UP)
    return ": a sign of improvement" if better else ": a sign of things getting worse"


def _runs_sentence(run: RunChart) -> str:
    counted = f"Runs: {run.runs} of {run.useful} useful point{'s' if run.useful != 1 else ''}"
    if run.runs_signal:
        return f"{counted} — {run.runs_signal}, a sign of change."
    if run.useful < 10:
        return f"{counted} — too few points to judge the runs (it takes 10)."
    if run.useful > 40:
        return f"{counted} — the runs are not judged beyond 40 useful points."
    return f"{counted} — as many as chance would give."


VARIATION_WORDS = {
    "common cause": "Common cause variation: the latest point shows no special cause.",
    "improvement": "Special cause variation: improvement.",
    "concern": "Special cause variation: concern.",
    "neutral": "Special cause variation (no direction of improvement is set, so neither better nor worse).",
}

SIGNAL_WORDS = {"improvement": "improvement", "concern": "concern", "neutral": "change (no direction is set)"}


def _xmr_sentences(measure: Measure, xmr: XmrChart) -> list[str]:
    unit = measure.unit
    limits = f"Mean {amount(xmr.mean, unit)}; process limits {amount(xmr.lower, unit)} to {amount(xmr.upper, unit)}"
    trial = xmr.segments[-1].trial
    sentences = [f"{limits}{' (trial limits: fewer than 12 points)' if trial else ''}."]
    sentences.append(VARIATION_WORDS.get(xmr.variation, f"Variation: {xmr.variation}."))
    flagged = [
        f"{count} point{'s' if count != 1 else ''} of {words}"
        for kind, words in SIGNAL_WORDS.items()
        if (count := xmr.signals.count(kind))
    ]
    if flagged:
        sentences.append(f"Special cause across the series: {', '.join(flagged)}.")
    if measure.target is None:
        return sentences
    target = amount(measure.target, unit)
    if xmr.assurance == "pass":
        sentences.append(f"The process will consistently meet the target of {target}.")
    elif xmr.assurance == "fail":
        sentences.append(f"The process will not meet the target of {target} unless it changes.")
    elif xmr.assurance == "hit and miss":
        sentences.append(f"The process will meet the target of {target} only some of the time: hit and miss.")
    else:
        sentences.append(f"Set a direction of improvement to judge the target of {target}.")
    return sentences

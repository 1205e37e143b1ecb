"""Change ideas and the PDSA cycles that test them: the rules for writing them, and the reads their pages need.

A cycle is numbered within its project (PDSA 1, 2, 3…) by ``add_cycle``, under a lock on the
project row, and retried if the database's unique constraint still finds the number taken.
A cycle may follow an earlier cycle of the same project (a lower number), so the cycles form
trees without loops: ``ramps_of`` lays each tree out as chains (see ``Ramp``). A save names
the ``version`` the user's page was showing: a save against an older version is refused with
``CycleConflict`` and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateformat import format as format_date

from microsystems.audit import audit
from microsystems.compiled import CompiledQuery
from microsystems.models import User

from .models import ActDecision, ChangeIdea, Measure, PdsaCycle, Project, SpecificAim
from .services import ProjectError

TASK_COLUMNS = ("who", "what", "when", "where")
TASK_LIMITS = {"who": 100, "what": 300, "when": 100, "where": 100}
TASK_LABELS = {"who": "Who", "what": "What", "when": "When", "where": "Where"}
MAX_TASKS = 30
NUMBER_ATTEMPTS = 3

# The cycle's text fields, in the order the form asks for them (Plan, Do, Study, Act).
CYCLE_TEXTS = ("objective", "questions", "predictions", "data_to_collect", "observations", "problems", "results")
CYCLE_TEXTS_ACT = ("next_steps",)


def _limit(model: Any, name: str) -> int:
    return int(model._meta.get_field(name).max_length)


def _check_length(model: Any, name: str, value: str) -> None:
    limit = _limit(model, name)
    if len(value) > limit:
        label = str(model._meta.get_field(name).verbose_name)
        raise ProjectError(
            f"{label[0].upper()}{label[1:]} must be {limit:,} characters or fewer (it has {len(value):,}).",
            field=name,
        )


# The fishbone's causes, for linking an idea to one


def fishbone_causes(project: Project) -> list[tuple[str, str]]:
    """Each cause on the project's fishbone as (its text, "Heading: its text"), each text once."""
    section = project.sections.filter(key="fishbone").first()
    fishbone = (section.data if section is not None else {}).get("fishbone")
    if not isinstance(fishbone, dict):
        return []
    causes: list[tuple[str, str]] = []
    seen: set[str] = set()
    for category in fishbone.get("categories") or []:
        if not isinstance(category, dict):
            continue
        heading = str(category.get("name") or "").strip()
        for cause in category.get("causes") or []:
            text = str(cause.get("text") or "").strip() if isinstance(cause, dict) else ""
            if text and text not in seen:
                seen.add(text)
                causes.append((text, f"{heading}: {text}" if heading else text))
    return causes


# Change ideas


@dataclass(frozen=True)
class IdeaDetails:
    title: str
    description: str = ""
    fishbone_cause: str = ""
    specific_aim: SpecificAim | None = None


def _check_idea(project: Project, details: IdeaDetails) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": details.title.strip(),
        "description": details.description.strip(),
        "fishbone_cause": details.fishbone_cause.strip(),
        "specific_aim": details.specific_aim,
    }
    if not values["title"]:
        raise ProjectError("Give the change idea a name.", field="title")
    for name in ("title", "description", "fishbone_cause"):
        _check_length(ChangeIdea, name, values[name])
    if details.specific_aim is not None and details.specific_aim.project_id != project.pk:
        raise ProjectError("Choose one of this project's specific aims.", field="specific_aim")
    return values


def add_change_idea(*, project: Project, details: IdeaDetails, by: User) -> ChangeIdea:
    values = _check_idea(project, details)
    with transaction.atomic():
        idea = ChangeIdea.objects.create(project=project, created_by=by, **values)
        audit(project, "project.change_idea_added", by=by, summary=idea.title, changes={"change_idea": idea.pk})
    return idea


def update_change_idea(*, idea: ChangeIdea, details: IdeaDetails, by: User) -> ChangeIdea:
    values = _check_idea(idea.project, details)
    with transaction.atomic():
        changed = [name for name, value in values.items() if getattr(idea, name) != value]
        for name, value in values.items():
            setattr(idea, name, value)
        idea.save(update_fields=list(values))
        audit(
            idea.project,
            "project.change_idea_updated",
            by=by,
            summary=idea.title,
            changes={"change_idea": idea.pk, "fields": changed},
        )
    return idea


def remove_change_idea(*, idea: ChangeIdea, by: User) -> None:
    """Remove an idea nobody has tested yet; one with cycles stays, as the record of what was tried."""
    with transaction.atomic():
        numbers = list(idea.cycles.select_for_update().order_by("number").values_list("number", flat=True))
        if numbers:
            cycles = _numbers(numbers)
            raise ProjectError(
                f"This change idea has been tested in {cycles}. Remove the cycles first if it really must go."
            )
        project, pk = idea.project, idea.pk
        idea.delete()
        audit(project, "project.change_idea_removed", by=by, summary=idea.title, changes={"change_idea": pk})


def _numbers(numbers: Sequence[int]) -> str:
    """'PDSA 1', 'PDSA 1 and PDSA 3', 'PDSA 1, PDSA 2 and PDSA 3'."""
    names = [f"PDSA {n}" for n in numbers]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# PDSA cycles


@dataclass(frozen=True)
class CycleDetails:
    """Everything a cycle's form holds: its Plan, Do, Study and Act."""

    change_idea: ChangeIdea
    objective: str
    planned_start: date
    planned_end: date
    follows: PdsaCycle | None = None
    questions: str = ""
    predictions: str = ""
    tasks: Sequence[dict[str, str]] = ()
    data_to_collect: str = ""
    actual_start: date | None = None
    actual_end: date | None = None
    as_planned: bool | None = None
    observations: str = ""
    problems: str = ""
    results: str = ""
    measures: Sequence[Measure] = ()
    decision: str = ""
    next_steps: str = ""


class CycleConflict(ProjectError):
    """Someone saved the cycle since this user loaded it: nothing was written."""

    def __init__(self, cycle: PdsaCycle) -> None:
        who = cycle.updated_by.get_full_name() if cycle.updated_by is not None else "Someone"
        when = ""
        if cycle.updated_at is not None:
            local = timezone.localtime(cycle.updated_at)
            when = f" at {format_date(local, 'H:i')} on {format_date(local, 'j F Y')}"
        super().__init__(
            f"{who} saved PDSA {cycle.number}{when}, while you were editing it. Your changes are not saved yet: "
            "they are kept in the form below. Check their version, then save yours again."
        )
        self.cycle = cycle


def clean_tasks(tasks: Iterable[Any]) -> list[dict[str, str]]:
    """The plan's tasks as rows of who, what, when and where; empty rows are dropped, long ones refused."""
    rows = []
    for task in tasks:
        if not isinstance(task, dict):
            raise ProjectError("Each task needs who, what, when and where.", field="tasks")
        row = {c: str(task.get(c) or "").strip() for c in TASK_COLUMNS}
        if any(row.values()):
            rows.append(row)
    if len(rows) > MAX_TASKS:
        raise ProjectError(f"A plan can list up to {MAX_TASKS} tasks (it has {len(rows)}).", field="tasks")
    for number, row in enumerate(rows, start=1):
        for column, limit in TASK_LIMITS.items():
            if len(row[column]) > limit:
                raise ProjectError(
                    f"Task {number}: {TASK_LABELS[column]} must be {limit:,} characters or fewer "
                    f"(it has {len(row[column]):,}).",
                    field="tasks",
                )
        if not row["what"]:
            raise ProjectError(f"Task {number}: say what is to be done.", field="tasks")
    return rows


def _check_cycle(project: Project, details: CycleDetails, *, number: int | None) -> dict[str, Any]:
    """The cycle's values once the rules allow them; ``number`` is the cycle's own (None for a new one)."""
    texts = {name: str(getattr(details, name)).strip() for name in (*CYCLE_TEXTS, *CYCLE_TEXTS_ACT)}
    if not texts["objective"]:
        raise ProjectError("Say what this cycle is for: its objective.", field="objective")
    if details.change_idea.project_id != project.pk:
        raise ProjectError("Choose one of this project's change ideas.", field="change_idea")
    _check_follows(project, details.follows, number=number)
    if details.planned_end < details.planned_start:
        raise ProjectError("The planned end must be on or after the planned start.", field="planned_end")
    today = timezone.localdate()
    if details.actual_start is not None and details.actual_start > today:
        raise ProjectError("The actual start cannot be in the future. Leave it empty until it starts.", "actual_start")
    if details.actual_end is not None:
        if details.actual_start is None:
            raise ProjectError("Enter the actual start as well as the actual end.", field="actual_start")
        if details.actual_end < details.actual_start:
            raise ProjectError("The actual end must be on or after the actual start.", field="actual_end")
        if details.actual_end > today:
            raise ProjectError("The actual end cannot be in the future. Leave it empty until it ends.", "actual_end")
    for name, value in texts.items():
        _check_length(PdsaCycle, name, value)
    tasks = clean_tasks(details.tasks)
    if any(m.project_id != project.pk for m in details.measures):
        raise ProjectError("Link only this project's measures.", field="measures")
    if details.decision not in ("", *ActDecision.values):
        raise ProjectError("Choose adopt, adapt or abandon.", field="decision")
    if details.decision and not texts["results"]:
        raise ProjectError(
            "Write what you found before deciding: the results against your predictions.", field="decision"
        )
    return texts | {
        "change_idea": details.change_idea,
        "follows": details.follows,
        "tasks": tasks,
        "planned_start": details.planned_start,
        "planned_end": details.planned_end,
        "actual_start": details.actual_start,
        "actual_end": details.actual_end,
        "as_planned": details.as_planned,
        "decision": details.decision,
    }


def _check_follows(project: Project, follows: PdsaCycle | None, *, number: int | None) -> None:
    if follows is None:
        return
    if follows.project_id != project.pk:
        raise ProjectError("A cycle can only follow another cycle of the same project.", field="follows")
    if number is not None and follows.number >= number:
        raise ProjectError(
            f"PDSA {number} can only follow an earlier cycle (a lower number), so a ramp never loops back.",
            field="follows",
        )


def _next_number(project: Project) -> int:
    highest = PdsaCycle.objects.filter(project=project).aggregate(highest=Max("number"))["highest"]
    return (highest or 0) + 1


def add_cycle(*, project: Project, details: CycleDetails, by: User) -> PdsaCycle:
    """Plan a new cycle with the project's next number (two people adding at once get two numbers)."""
    values = _check_cycle(project, details, number=None)
    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        with transaction.atomic():
            Project.objects.select_for_update().only("pk").get(pk=project.pk)  # numbers are handed out in turn
            cycle = PdsaCycle(project=project, number=_next_number(project), created_by=by, **values)
            cycle._history_user = by  # type: ignore[attr-defined]
            try:
                with transaction.atomic():
                    cycle.save()
            except IntegrityError:
                if attempt == NUMBER_ATTEMPTS:
                    raise ProjectError("Someone else added a cycle at the same moment. Save again.") from None
                continue
            _link_measures(cycle, details.measures, first_version=True)
            audit(
                project,
                "project.cycle_added",
                by=by,
                summary=f"PDSA {cycle.number}: {cycle.change_idea.title}",
                changes={"cycle": cycle.pk, "number": cycle.number},
            )
        return cycle
    raise AssertionError("unreachable")  # pragma: no cover


def _link_measures(cycle: PdsaCycle, measures: Sequence[Measure], *, first_version: bool = False) -> None:
    """Link the measures without a history record of their own: one save is one version in the history.

    The first version's record exists before its measures can be linked, so they are added to it.
    """
    cycle.skip_history_when_saving = True  # type: ignore[attr-defined]
    try:
        cycle.measures.set(measures)
    finally:
        del cycle.skip_history_when_saving  # type: ignore[attr-defined]
    if first_version and measures:
        record = cycle.history.first()  # type: ignore[attr-defined]
        snapshot = PdsaCycle.history.model.measures.model  # type: ignore[attr-defined]
        links: Any = PdsaCycle.measures.through
        rows = links.objects.filter(pdsacycle=cycle)
        snapshot.objects.bulk_create(
            [snapshot(history=record, id=r.pk, pdsacycle_id=r.pdsacycle_id, measure_id=r.measure_id) for r in rows]
        )


def _stored(cycle: PdsaCycle, name: str) -> Any:
    """A field's value as stored: a linked row by its id, so comparing costs no query."""
    return getattr(cycle, f"{name}_id") if name in ("change_idea", "follows") else getattr(cycle, name)


def _stored_value(value: Any) -> Any:
    return value.pk if isinstance(value, ChangeIdea | PdsaCycle) else value


def update_cycle(*, cycle: PdsaCycle, details: CycleDetails, base_version: int, by: User) -> PdsaCycle:
    """Save the cycle if nobody saved it since ``base_version``; otherwise raise ``CycleConflict``."""
    values = _check_cycle(cycle.project, details, number=cycle.number)
    with transaction.atomic():
        locked = PdsaCycle.objects.select_for_update(of=("self",)).select_related("updated_by")
        current = locked.filter(pk=cycle.pk).first()
        if current is None:
            raise ProjectError(f"Someone removed PDSA {cycle.number} while you were editing it. Nothing was saved.")
        if current.version != base_version:
            raise CycleConflict(current)
        before_measures = set(current.measures.values_list("pk", flat=True))
        changed = [name for name, value in values.items() if _stored(current, name) != _stored_value(value)]
        if before_measures != {m.pk for m in details.measures}:
            changed.append("measures")
        for name, value in values.items():
            setattr(current, name, value)
        current.version += 1
        current.updated_at, current.updated_by = timezone.now(), by
        _link_measures(current, details.measures)  # before the save, so its history record holds them
        current._history_user = by  # type: ignore[attr-defined]
        current.save()
        audit(
            cycle.project,
            "project.cycle_updated",
            by=by,
            summary=f"PDSA {current.number}: {current.stage}",
            changes={"cycle": current.pk, "version": [base_version, current.version], "fields": changed},
        )
    return current


def remove_cycle(*, cycle: PdsaCycle, by: User) -> None:
    """Remove a cycle no other cycle follows: a ramp is never broken or silently re-linked."""
    with transaction.atomic():
        followers = list(
            PdsaCycle.objects.select_for_update()
            .filter(follows=cycle)
            .order_by("number")
            .values_list("number", flat=True)
        )
        if followers:
            verb = "follows" if len(followers) == 1 else "follow"
            raise ProjectError(
                f"{_numbers(followers)} {verb} this cycle. Remove {'it' if len(followers) == 1 else 'them'} "
                "first, or make it follow another cycle."
            )
        project, pk, number = cycle.project, cycle.pk, cycle.number
        cycle._history_user = by  # type: ignore[attr-defined]
        cycle.delete()
        audit(
            project, "project.cycle_removed", by=by, summary=f"PDSA {number}", changes={"cycle": pk, "number": number}
        )


# Ramps: the cycles laid out as chains


@dataclass(frozen=True)
class Ramp:
    """A chain of cycles, each following the one before it.

    A ramp starts at a cycle that follows none (``branch_of`` is None), or at a cycle that
    follows one outside the chain: a second follower of a cycle starts a branch, whose
    ``branch_of`` is the cycle it grows from. ``ramps_of`` lists them depth first: a chain,
    then the branches off it (in cycle order), then the next chain.
    """

    cycles: list[PdsaCycle]
    branch_of: PdsaCycle | None = None

    def __iter__(self) -> Iterator[PdsaCycle]:
        return iter(self.cycles)

    def __len__(self) -> int:
        return len(self.cycles)

    @property
    def first(self) -> PdsaCycle:
        return self.cycles[0]


def ramps_of(cycles: Iterable[PdsaCycle], *, known: dict[int, PdsaCycle] | None = None) -> list[Ramp]:
    """The cycles laid out as chains, with no queries: a cycle continues the chain of the cycle it follows.

    ``known`` names cycles outside ``cycles`` that a chain may branch off (a cycle of the
    same project testing another idea); without it, such a chain shows no ``branch_of``.
    """
    ordered = sorted(cycles, key=lambda c: c.number)
    present = {c.pk for c in ordered}
    known = {**(known or {}), **{c.pk: c for c in ordered}}
    followers: dict[int, list[PdsaCycle]] = {}
    for c in ordered:
        if c.follows_id in present:
            followers.setdefault(c.follows_id, []).append(c)  # type: ignore[arg-type]
    ramps: list[Ramp] = []

    def chain_from(start: PdsaCycle, branch_of: PdsaCycle | None) -> None:
        chain, branches = [start], list[tuple[PdsaCycle, PdsaCycle]]()
        current = start
        while followers.get(current.pk):
            first, *others = followers[current.pk]
            branches.extend((other, current) for other in others)
            chain.append(first)
            current = first
        ramps.append(Ramp(chain, branch_of))
        for other, parent in branches:
            chain_from(other, parent)

    for c in ordered:
        if c.follows_id not in present:
            chain_from(c, known.get(c.follows_id) if c.follows_id else None)  # type: ignore[arg-type]
    return ramps


_OVERVIEW_CYCLES = CompiledQuery(  # only what ``stage`` and the badges read
    lambda project_id: PdsaCycle.objects.filter(project_id=project_id)
    .select_related("change_idea")
    .only(
        "project_id", "number", "follows_id", "change_idea_id", "results", "decision", "actual_start",
        "observations", "as_planned", "change_idea__title",
    )
)  # fmt: skip


def ramps_for(project: Project) -> list[Ramp]:
    """The project's cycles as ramps (see ``Ramp``), in one query: for the project overview."""
    return ramps_of(_OVERVIEW_CYCLES(project.pk))


@dataclass(frozen=True)
class IdeaRamps:
    """One change idea with its cycles as ramps, for the cycles page."""

    idea: ChangeIdea
    ramps: list[Ramp] = field(default_factory=list)

    @property
    def cycle_count(self) -> int:
        return sum(len(r) for r in self.ramps)


def ideas_with_ramps(project: Project) -> list[IdeaRamps]:
    """Each change idea with its cycles as ramps, in two queries whatever the number of cycles."""
    ideas = list(project.change_ideas.select_related("specific_aim"))
    cycles = list(project.cycles.all())
    by_idea: dict[int, list[PdsaCycle]] = {}
    everything = {c.pk: c for c in cycles}
    for idea in ideas:
        by_idea[idea.pk] = []
    for c in cycles:
        by_idea.setdefault(c.change_idea_id, []).append(c)
    ideas_by_pk = {idea.pk: idea for idea in ideas}
    for c in cycles:
        c.change_idea = ideas_by_pk[c.change_idea_id]  # shown without a query per cycle
    return [IdeaRamps(idea, ramps_of(by_idea[idea.pk], known=everything)) for idea in ideas]


def ramp_of(cycle: PdsaCycle, ramps: list[Ramp]) -> Ramp | None:
    return next((r for r in ramps if any(c.pk == cycle.pk for c in r)), None)

"""Forms for change ideas and PDSA cycles: they read the input's shape; ``projects.cycles`` decides what is allowed.

A cycle's plan lists its tasks as a small table posted as repeated inputs
(``tasks-0-who``, ``tasks-0-what``, ...). Rows left blank are dropped, so the spare blank
rows the page shows for people without JavaScript never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from microsystems.forms import CrispyForm, date_field
from microsystems.forms import required as _required

from .cycles import TASK_COLUMNS, TASK_LABELS, TASK_LIMITS, CycleDetails, IdeaDetails, fishbone_causes
from .models import ActDecision, ChangeIdea, Measure, PdsaCycle, Project, SpecificAim

SPARE_TASK_ROWS = 3
NEW_ROW = "__row__"
_TASK_INPUT = re.compile(rf"tasks-(\d{{1,3}})-({'|'.join(TASK_COLUMNS)})")


def _date(label: str, **kwargs: Any) -> forms.DateField:
    kwargs.setdefault("error_messages", {})
    kwargs["error_messages"].setdefault("invalid", f"Enter the {label.lower()} as a date, for example 3/3/2025.")
    return date_field(label, **kwargs)


def _text(model: Any, name: str, label: str, *, rows: int = 3, **kwargs: Any) -> forms.CharField:
    """A text area as long as the model allows (its ``maxlength`` becomes the counter)."""
    limit = model._meta.get_field(name).max_length
    kwargs.setdefault("required", False)
    messages = {
        "max_length": f"{label.removesuffix(' (optional)')} must be {limit:,} characters or fewer."
    } | kwargs.pop("error_messages", {})
    widget = forms.Textarea(attrs={"rows": rows})
    return forms.CharField(label=label, max_length=limit, widget=widget, error_messages=messages, **kwargs)


class _Form(CrispyForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.disable_csrf = True  # the page's form carries the token


# Change ideas


class AimChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SpecificAim) -> str:  # type: ignore[override]
        return f"{obj.measure}: from {obj.baseline} to {obj.target} by {obj.target_date:%-d %B %Y}"


class IdeaForm(_Form):
    title = forms.CharField(
        max_length=200,
        label="Change idea",
        help_text="A short name for the change, for example 'A buddy GP actions results when the requester is away'.",
        error_messages=_required("Give the change idea a name.")
        | {"max_length": "The change idea must be 200 characters or fewer."},
    )
    description = _text(
        ChangeIdea, "description", "Description (optional)", rows=4, help_text="What the change is and how it works."
    )
    fishbone_cause = forms.ChoiceField(
        label="The cause on the fishbone it addresses (optional)",
        required=False,
        error_messages={"invalid_choice": "Choose a cause from the fishbone."},
    )
    specific_aim = AimChoiceField(
        queryset=SpecificAim.objects.none(),
        required=False,
        label="The specific aim it serves (optional)",
        empty_label="Not linked to a specific aim",
        error_messages={"invalid_choice": "Choose one of the project's specific aims."},
    )

    def __init__(self, *args: Any, project: Project, idea: ChangeIdea | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        causes = fishbone_causes(project)
        current = idea.fishbone_cause if idea is not None else ""
        if current and current not in {text for text, _ in causes}:
            causes.append((current, f"{current} (no longer on the fishbone)"))
        field = self.fields["fishbone_cause"]
        field.choices = [("", "Not linked to a cause")] + causes  # type: ignore[attr-defined]
        if len(causes) == 0:
            field.help_text = "The fishbone has no causes yet. Add them in the Diagnose step of the workbook."
        self.fields["specific_aim"].queryset = project.specific_aims.all()  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(idea: ChangeIdea) -> dict[str, Any]:
        return {
            "title": idea.title,
            "description": idea.description,
            "fishbone_cause": idea.fishbone_cause,
            "specific_aim": idea.specific_aim_id,
        }

    def details(self) -> IdeaDetails:
        return IdeaDetails(**self.cleaned_data)


# PDSA cycles


@dataclass(frozen=True)
class TaskCell:
    name: str
    id: str
    value: str
    limit: int
    label: str


def task_row(index: str, values: dict[str, str]) -> list[TaskCell]:
    """One row of inputs; each is labelled with its column and row for screen readers ("Who, task 2")."""
    row = f"task {int(index) + 1}" if index.isdigit() else "new task"
    return [
        TaskCell(
            f"tasks-{index}-{c}", f"id_tasks-{index}-{c}", values.get(c, ""), TASK_LIMITS[c], f"{TASK_LABELS[c]}, {row}"
        )
        for c in TASK_COLUMNS
    ]


def posted_tasks(data: QueryDict | dict[str, Any]) -> list[dict[str, str]]:
    """The task rows as posted, in row order, blank rows left out."""
    cells: dict[int, dict[str, str]] = {}
    for name in data:
        match = _TASK_INPUT.fullmatch(name)
        if match:
            cells.setdefault(int(match.group(1)), {})[match.group(2)] = str(data.get(name) or "")
    rows = [{c: cells[i].get(c, "") for c in TASK_COLUMNS} for i in sorted(cells)]
    return [row for row in rows if any(v.strip() for v in row.values())]


class TasksWidget(forms.Widget):
    """Reads the task table's inputs; the page draws the table itself (``cycles/_tasks.html``)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, str]]:
        return posted_tasks(data)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class TasksField(forms.Field):
    widget = TasksWidget

    def to_python(self, value: Any) -> list[dict[str, str]]:
        return list(value) if isinstance(value, list) else []


class CycleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PdsaCycle) -> str:  # type: ignore[override]
        return f"PDSA {obj.number}: {obj.change_idea.title}"


class MeasureChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Measure) -> str:  # type: ignore[override]
        return f"{obj.name} ({obj.get_kind_display().lower()})"


AS_PLANNED = [("yes", "Yes"), ("no", "No"), ("", "Not yet")]
DECISIONS = [("", "Not decided yet"), *ActDecision.choices]


class CycleForm(_Form):
    """One form for the whole cycle, in four parts: Plan, Do, Study, Act."""

    PLAN = ("change_idea", "follows", "objective", "questions", "predictions")
    PLAN_AFTER_TASKS = ("data_to_collect", "planned_start", "planned_end")
    DO = ("actual_start", "actual_end", "as_planned", "observations", "problems")
    STUDY = ("results", "measures")
    ACT = ("decision", "next_steps")

    change_idea = forms.ModelChoiceField(
        queryset=ChangeIdea.objects.none(),
        label="The change idea it tests",
        empty_label="Choose a change idea",
        error_messages={
            "required": "Choose the change idea this cycle tests.",
            "invalid_choice": "Choose one of the project's change ideas.",
        },
    )
    follows = CycleChoiceField(
        queryset=PdsaCycle.objects.none(),
        required=False,
        label="Follows on from (optional)",
        empty_label="No earlier cycle: it starts a ramp",
        help_text="The cycle this one builds on. Cycles that follow each other make a ramp.",
        error_messages={"invalid_choice": "Choose an earlier cycle of this project."},
    )
    objective = _text(
        PdsaCycle,
        "objective",
        "Objective",
        help_text="What this cycle is for, for example 'Test a buddy list with two GPs for one week'.",
        required=True,
        error_messages=_required("Say what this cycle is for: its objective."),
    )
    questions = _text(PdsaCycle, "questions", "Questions you want answered")
    predictions = _text(PdsaCycle, "predictions", "What you predict will happen")
    tasks = TasksField(required=False, label="Tasks: who does what, when and where")
    data_to_collect = _text(
        PdsaCycle, "data_to_collect", "Data to collect", help_text="What you will count or record, and who records it."
    )
    planned_start = _date("Planned start", error_messages=_required("Enter the planned start."))
    planned_end = _date("Planned end", error_messages=_required("Enter the planned end."))
    actual_start = _date("Actual start", required=False, help_text="Leave empty until the cycle starts.")
    actual_end = _date("Actual end", required=False)
    as_planned = forms.TypedChoiceField(
        label="Was it carried out as planned?",
        choices=AS_PLANNED,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    observations = _text(PdsaCycle, "observations", "What you observed", rows=4)
    problems = _text(PdsaCycle, "problems", "Problems and surprises")
    results = _text(
        PdsaCycle,
        "results",
        "Results against your predictions",
        rows=4,
        help_text="What you found, compared with what you predicted. Write this before you decide.",
    )
    measures = MeasureChoiceField(
        queryset=Measure.objects.none(),
        required=False,
        label="Measures that show the results (optional)",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Choose the project's own measures.",
            "invalid_pk_value": "Choose a measure.",
        },
    )
    decision = forms.ChoiceField(
        label="Decision",
        choices=DECISIONS,
        required=False,
        widget=forms.RadioSelect,
        help_text="Adopt the change, adapt it and test again, or abandon it.",
        error_messages={"invalid_choice": "Choose adopt, adapt or abandon."},
    )
    next_steps = _text(PdsaCycle, "next_steps", "What next", help_text="For example, the next cycle of the ramp.")

    def __init__(self, *args: Any, project: Project, cycle: PdsaCycle | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["change_idea"].queryset = project.change_ideas.all()  # type: ignore[attr-defined]
        earlier: QuerySet[PdsaCycle] = project.cycles.select_related("change_idea")
        if cycle is not None:
            earlier = earlier.filter(number__lt=cycle.number)
        self.fields["follows"].queryset = earlier  # type: ignore[attr-defined]
        self.fields["measures"].queryset = project.measures.all()  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(cycle: PdsaCycle) -> dict[str, Any]:
        names = (*CycleForm.PLAN, *CycleForm.PLAN_AFTER_TASKS, *CycleForm.DO, "results", *CycleForm.ACT)
        initial: dict[str, Any] = {name: getattr(cycle, name) for name in names}
        initial["change_idea"], initial["follows"] = cycle.change_idea_id, cycle.follows_id
        initial["as_planned"] = {True: "yes", False: "no", None: ""}[cycle.as_planned]
        initial["tasks"] = list(cycle.tasks or [])
        initial["measures"] = [m.pk for m in cycle.measures.all()]
        return initial

    def task_rows(self) -> list[list[TaskCell]]:
        """The tasks as the table shows them: those written so far, then spare blank rows."""
        value = self["tasks"].value()
        rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
        shown = [task_row(str(i), {c: str(r.get(c) or "") for c in TASK_COLUMNS}) for i, r in enumerate(rows)]
        shown += [task_row(str(i), {}) for i in range(len(rows), len(rows) + SPARE_TASK_ROWS)]
        return shown

    def new_task_row(self) -> list[TaskCell]:
        return task_row(NEW_ROW, {})

    def next_task_index(self) -> int:
        return len(self.task_rows())

    def details(self) -> CycleDetails:
        data = self.cleaned_data
        return CycleDetails(
            change_idea=data["change_idea"],
            follows=data["follows"],
            objective=data["objective"],
            questions=data["questions"],
            predictions=data["predictions"],
            tasks=data["tasks"],
            data_to_collect=data["data_to_collect"],
            planned_start=data["planned_start"],
            planned_end=data["planned_end"],
            actual_start=data["actual_start"],
            actual_end=data["actual_end"],
            as_planned=data["as_planned"],
            observations=data["observations"],
            problems=data["problems"],
            results=data["results"],
            measures=list(data["measures"]),
            decision=data["decision"],
            next_steps=data["next_steps"],
        )


def posted_version(post: QueryDict) -> int:
    """The version the user's page was showing; a missing or garbled one can only conflict."""
    try:
        return int(post.get("version", ""))
    except ValueError:
        return -1

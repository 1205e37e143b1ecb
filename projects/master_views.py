"""The master file: a blank workbook to print, a worked example, and a project's own workbook.

Each is an HTML page styled for printing and, with ``?format=pdf``, a PDF download made
by xhtml2pdf from the same template (the PDF layout carries its own stylesheet, because
xhtml2pdf reads CSS only from the document). Any signed-in user may print the blank and
the example; a project's workbook follows the project's scope, so outside it is a 404.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404

from .models import MeetingRole, MemberKind, ProcessSubtheme, Project, Step, TeamMember, Typology
from .selectors import projects_for
from .workbook import FISHBONE, SECTIONS, SECTIONS_BY_KEY, TABLE, TEXT, Field, blank_value, global_aim_sentence
from .workbook import is_written as written

log = logging.getLogger(__name__)

HTML_LAYOUT, PDF_LAYOUT = "projects/print/page.html", "projects/print/pdf.html"
LINES = {TEXT: 1, "textarea": 4}
BLANK_TABLE_ROWS, BLANK_TEAM_ROWS, BLANK_AIM_ROWS, BLANK_CAUSE_LINES = 5, 8, 5, 4
# Arial is the NHS fallback font; Liberation Sans has its metrics and covers far more characters
# than the PDF's built-in Helvetica. Used when the server has it, Helvetica otherwise.
PDF_FONT_DIR = Path("/usr/share/fonts/truetype/liberation")

STEP_GUIDANCE = {
    Step.ORGANISE: "Form an improvement team with someone from every role in the microsystem, a champion who keeps "
    "the work going between meetings, and patients from the outset. Agree who leads, facilitates, keeps time "
    "and records each meeting, and rotate the roles.",
    Step.ASSESS: "Look at your microsystem through the 5Ps: its purpose, patients, professionals, processes and "
    "patterns. Describe groups of patients, never individuals: no names, no NHS numbers.",
    Step.DIAGNOSE: "Say what works and what does not, find the causes of one problem with a fishbone, then choose "
    "a theme and write the global aim.",
    Step.TREAT: "Turn the global aim into specific aims you can measure, then test change ideas in small "
    "plan-do-study-act (PDSA) cycles, one after another.",
    Step.FOLLOW_UP: "Make what works the normal way of working, keep measuring, and review the change formally at "
    "6 and 12 months.",
}
ORGANISE_CHECKS = (
    "A champion, named on the team.",
    "A team of at least three, with clinical and non-clinical members.",
    "A patient representative, or a note of why the team has none.",
    "A senior sponsor, if the project crosses organisational boundaries.",
)
PDSA_PROMPTS = (
    ("objective", "Objective of this cycle"),
    ("change_idea", "Change idea we will test"),
    ("predictions", "Questions and predictions"),
    ("plan", "Plan: who, what, when, where, and the data to collect"),
    ("do", "Do: what happened, problems and surprises"),
    ("study", "Study: the results against the predictions"),
    ("act", "Act: adopt, adapt or abandon, and the next cycle"),
)
FOLLOW_UP_PROMPTS = (
    ("standardise", "What we will standardise, and where it is written down"),
    ("monitor", "How we will keep measuring, and who looks at the results"),
    ("review_6", "Review at 6 months: sustained, partly sustained or not sustained, and why"),
    ("review_12", "Review at 12 months: sustained, partly sustained or not sustained, and why"),
)
ABOUT_LABELS = (
    ("practice", "Practice"),
    ("title", "Project title"),
    ("scope", "Scope: what is in and what is out"),
    ("dates", "Start date and planned end (about 13 weeks)"),
    ("category", "Category: process-driven, health outputs or patient-centred care"),
    ("resources", "Ongoing resources the change will need"),
    ("boundaries", "Other organisations involved, and the senior sponsor"),
    ("coaches", "Coach and co-coach"),
)


# The worked example: an invented practice working on test results, as in the SECTIONS examples.

EXAMPLE_PRACTICE = "Northgate Surgery (an invented practice)"
EXAMPLE_ABOUT = {
    "practice": EXAMPLE_PRACTICE,
    "title": "Test results handling",
    "scope": "Blood and urine results from the laboratory, from arrival in the clinical system to the patient "
    "knowing what happens next. Imaging and hospital letters are out of scope.",
    "dates": "6 January 2025 to 7 April 2025",
    "category": "Process-driven: administrative systems",
    "resources": "None: the change uses existing staff time.",
    "boundaries": "None: the work stays within the practice.",
    "coaches": "Lead coach: Priya Shah. Co-coach: Sam Fletcher (first project).",
}
EXAMPLE_TEAM = (
    {"name": "Jo Barnes", "role": "Practice manager", "kind": "Practice staff", "clinical": False,
     "champion": True, "meeting_role": "Leader"},
    {"name": "Dr Amir Hassan", "role": "GP partner", "kind": "Practice staff", "clinical": True,
     "champion": False, "meeting_role": ""},
    {"name": "Sarah Lee", "role": "Practice nurse", "kind": "Practice staff", "clinical": True,
     "champion": False, "meeting_role": "Facilitator"},
    {"name": "Kerry Moss", "role": "Receptionist", "kind": "Practice staff", "clinical": False,
     "champion": False, "meeting_role": "Timekeeper"},
    {"name": "Dan Price", "role": "Results administrator", "kind": "Practice staff", "clinical": False,
     "champion": False, "meeting_role": "Recorder"},
    {"name": "Margaret Hill", "role": "Patient representative (patient participation group)",
     "kind": "Patient representative", "clinical": False, "champion": False, "meeting_role": ""},
)  # fmt: skip
EXAMPLE_AIMS = (
    ("Results waiting more than 2 working days for action", "18%", "0%", date(2025, 3, 31)),
    ("Calls from patients chasing a result, a week", "25", "5", date(2025, 3, 31)),
    ("Results filed to an absent GP with no buddy named", "12 a month", "0", date(2025, 2, 28)),
)
EXAMPLE_PDSA = {
    "objective": "Find out whether a buddy system stops results waiting when a GP is away.",
    "change_idea": "Each GP names a buddy who acts on their results while they are away.",
    "predictions": "No result will wait more than 2 working days in the week we test it.",
    "plan": "Week 3, when two GPs are on leave. Dan lists the waiting results each morning and counts any over "
    "2 working days; the buddies act on them the same day.",
    "do": "The buddies cleared results every day. On Friday one buddy was also off and 3 results waited.",
    "study": "Results waiting over 2 working days fell from 9 the week before to 1. The prediction held except "
    "on Friday.",
    "act": "Adapt: name a second buddy for Fridays and test for two more weeks.",
}
EXAMPLE_FOLLOW_UP = {
    "standardise": "The buddy rota is on the shared calendar; the results workflow is in the practice handbook.",
    "monitor": "Dan counts the results waiting over 2 working days every Monday; the clinical meeting looks at "
    "the run chart monthly.",
    "review_6": "Sustained: no result waited over 2 working days in 5 of the 6 months.",
    "review_12": "Partly sustained: results slipped when a GP left, and the rota was restored within a week.",
}


# Building what the templates print ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a workbook's content comes from: nothing (blank), the worked examples, or a project's rows."""

    kind: str  # "blank", "example" or "project"
    data: dict[str, dict[str, Any]]  # section key → the section's data

    def value(self, section_key: str, f: Field) -> Any:
        return self.data.get(section_key, {}).get(f.name, blank_value(f))


def _lines(n: int) -> range:
    return range(n)


def _printed_field(f: Field, value: Any) -> dict[str, Any]:
    """One field as the templates print it: its value if written, lines or empty rows to write on if not."""
    item: dict[str, Any] = {"label": f.label, "hint": f.hint, "kind": f.kind, "written": written(value)}
    if f.kind == TABLE:
        rows = value if item["written"] else []
        item["columns"] = [c.label for c in f.columns]
        item["rows"] = [[str(row.get(c.name, "")) for c in f.columns] for row in rows]
        item["blank_rows"] = _lines(0 if rows else BLANK_TABLE_ROWS)
    elif f.kind == FISHBONE:
        item["fishbone"] = _fishbone(value if isinstance(value, dict) else blank_value(f))
    else:
        item["value"] = value if item["written"] else ""
        item["lines"] = _lines(0 if item["written"] else LINES.get(f.kind, 4))
    return item


def _fishbone(value: dict[str, Any]) -> dict[str, Any]:
    """The fishbone as a grid: half the headings above the spine, half below, the problem at the head."""
    categories = value.get("categories") or blank_value(SECTIONS_BY_KEY["fishbone"].fields[0])["categories"]
    bones = [
        {
            "name": c.get("name", ""),
            "causes": [x.get("text", "") for x in c.get("causes", []) if str(x.get("text", "")).strip()],
        }
        for c in categories
    ]
    for bone in bones:
        bone["lines"] = _lines(0 if bone["causes"] else BLANK_CAUSE_LINES)
    half = (len(bones) + 1) // 2
    top, bottom = bones[:half], bones[half:]
    problem = str(value.get("problem", "")).strip()
    return {
        "problem": problem,
        "problem_lines": _lines(0 if problem else 3),
        "top": top,
        "bottom": bottom + [None] * (len(top) - len(bottom)),
        "width": len(top),
    }


def _printed_section(key: str, source: Source) -> dict[str, Any]:
    section = SECTIONS_BY_KEY[key]
    fields = [_printed_field(f, source.value(key, f)) for f in section.fields]
    item: dict[str, Any] = {"key": key, "title": section.title, "guidance": section.guidance, "fields": fields}
    if key == "global_aim":
        data = {f.name: source.value(key, f) for f in section.fields}
        complete = all(written(v) for v in data.values())
        item["template"] = global_aim_sentence({})
        item["sentence"] = global_aim_sentence(data) if complete else ""
    return item


def _steps(source: Source) -> list[dict[str, Any]]:
    steps = []
    for number, step in enumerate((Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT, Step.FOLLOW_UP), 1):
        keys = [s.key for s in SECTIONS if s.step == step]
        steps.append(
            {
                "key": str(step),
                "number": number,
                "label": step.label,
                "guidance": STEP_GUIDANCE[step],
                "sections": [_printed_section(key, source) for key in keys],
            }
        )
    return steps


def _prompts(prompts: tuple[tuple[str, str], ...], values: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": values.get(name, ""), "lines": _lines(0 if values.get(name) else 3)}
        for name, label in prompts
    ]


def _about(values: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": values.get(name, ""), "lines": _lines(0 if values.get(name) else 1)}
        for name, label in ABOUT_LABELS
    ]


def _workbook(source: Source, **extra: Any) -> dict[str, Any]:
    context = {
        "kind": source.kind,
        "steps": _steps(source),
        "organise_checks": ORGANISE_CHECKS,
        "meeting_roles": [r.label for r in MeetingRole if r],
        "team_blank_rows": _lines(BLANK_TEAM_ROWS),
        "aim_blank_rows": _lines(BLANK_AIM_ROWS),
        "printed_on": timezone.localdate(),
    }
    return context | extra


def blank_context() -> dict[str, Any]:
    return _workbook(
        Source("blank", {}),
        document_title="Blank workbook",
        about=_about({}),
        team=[],
        aims=[],
        pdsa=_prompts(PDSA_PROMPTS, {}),
        follow_up=_prompts(FOLLOW_UP_PROMPTS, {}),
    )


def example_context() -> dict[str, Any]:
    aims = [{"measure": m, "baseline": b, "target": t, "target_date": d} for m, b, t, d in EXAMPLE_AIMS]
    return _workbook(
        Source("example", {s.key: s.example for s in SECTIONS}),
        document_title="Worked example workbook",
        about=_about(EXAMPLE_ABOUT),
        team=list(EXAMPLE_TEAM),
        aims=aims,
        pdsa=_prompts(PDSA_PROMPTS, EXAMPLE_PDSA),
        follow_up=_prompts(FOLLOW_UP_PROMPTS, EXAMPLE_FOLLOW_UP),
    )


def _category(project: Project) -> str:
    text = Typology(project.typology).label if project.typology else ""
    if project.process_subtheme:
        text += f": {ProcessSubtheme(project.process_subtheme).label.lower()}"
    if project.secondary_typology:
        text += f" (overlaps with {Typology(project.secondary_typology).label.lower()})"
    return text


def _project_about(project: Project) -> dict[str, str]:
    practice = project.practice
    coaches = []
    if project.lead_coach:
        coaches.append(f"Lead coach: {project.lead_coach.get_full_name()}.")
    if project.co_coach:
        coaches.append(f"Co-coach: {project.co_coach.get_full_name()}.")
    boundaries = "None: the work stays within the practice."
    if project.crosses_boundaries:
        sponsor = project.senior_sponsor or "not named yet"
        boundaries = f"{project.other_organisations}. Senior sponsor: {sponsor}."
    return {
        "practice": f"{practice.name} ({practice.ods_code})" + (f", {practice.pcn.name}" if practice.pcn else ""),
        "title": project.title,
        "scope": project.scope,
        "dates": f"{_nhs_date(project.starts_on)} to {_nhs_date(project.planned_end_on)} (planned)",
        "category": _category(project),
        "resources": project.ongoing_resources if project.needs_ongoing_resources else "None needed.",
        "boundaries": boundaries,
        "coaches": " ".join(coaches),
    }


def _nhs_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _team_row(member: TeamMember) -> dict[str, Any]:
    kind = MemberKind(member.kind).label
    return {
        "name": member.display_name,
        "role": member.team_role,
        "kind": kind + (f", {member.organisation}" if member.organisation else ""),
        "clinical": member.is_clinical,
        "champion": member.is_champion,
        "meeting_role": MeetingRole(member.meeting_role).label if member.meeting_role else "",
    }


def project_context(project: Project) -> dict[str, Any]:
    data = {s.key: s.data for s in project.sections.all()}
    return _workbook(
        Source("project", data),
        document_title=project.title,
        project=project,
        about=_about(_project_about(project)),
        team=[_team_row(m) for m in project.team.all()],
        aims=list(project.specific_aims.all()),
        pdsa=_prompts(PDSA_PROMPTS, {}),  # PDSA cycles and reviews are not recorded online yet: room to write
        follow_up=_prompts(FOLLOW_UP_PROMPTS, {}),
    )


def printable_projects(user: Any) -> QuerySet[Project]:
    """The user's projects with everything the printed workbook shows, in a fixed number of queries."""
    return (
        projects_for(user)
        .select_related("practice", "practice__pcn", "lead_coach", "co_coach")
        .prefetch_related(
            Prefetch("team", queryset=TeamMember.objects.select_related("user")), "sections", "specific_aims"
        )
    )


# Responses ---------------------------------------------------------------------------------


def _pdf_fonts() -> dict[str, str] | None:
    regular, bold = PDF_FONT_DIR / "LiberationSans-Regular.ttf", PDF_FONT_DIR / "LiberationSans-Bold.ttf"
    return {"regular": str(regular), "bold": str(bold)} if regular.exists() and bold.exists() else None


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    html = render_to_string(template, {**context, "layout": PDF_LAYOUT, "pdf_fonts": _pdf_fonts()})
    out = io.BytesIO()
    # Nothing remote, and local reads only from the font directory: the document holds user text.
    policy = ResourceAccessPolicy.server(base_dir=PDF_FONT_DIR, allow_remote=False)
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=policy)
    if result.err:
        log.error("xhtml2pdf could not render %s (%s errors)", template, result.err)
        raise RuntimeError(f"The PDF of {template} could not be made.")
    return out.getvalue()


def _respond(request: AuthenticatedRequest, template: str, context: dict[str, Any], filename: str) -> HttpResponseBase:
    if request.GET.get("format") == "pdf":
        pdf = render_pdf(template, context)
        return FileResponse(
            io.BytesIO(pdf), as_attachment=True, filename=f"{filename}.pdf", content_type="application/pdf"
        )
    return render(request, template, {**context, "layout": HTML_LAYOUT, "pdf_url": f"{request.path}?format=pdf"})


@login_required
def blank_workbook(request: AuthenticatedRequest) -> HttpResponseBase:
    return _respond(request, "projects/print/blank_workbook.html", blank_context(), "microsystems-workbook-blank")


@login_required
def example_workbook(request: AuthenticatedRequest) -> HttpResponseBase:
    return _respond(request, "projects/print/example_workbook.html", example_context(), "microsystems-workbook-example")


@login_required
def project_workbook(request: AuthenticatedRequest, pk: int) -> HttpResponseBase:
    project = get_in_scope_or_404(printable_projects(request.user), request, pk=pk)
    filename = f"workbook-{project.practice.ods_code}-{slugify(project.title)[:60] or project.pk}"
    return _respond(request, "projects/print/project_workbook.html", project_context(project), filename)

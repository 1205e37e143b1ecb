"""The workbook's sections: what each asks, the guidance beside it and a worked example.

Sections are data, not models: each is stored as one ``WorkbookSection`` row whose
``data`` holds the values of the fields defined here. The guidance and examples follow
the Dartmouth microsystems workbook and the West Kent programme's practice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Step

TEXT, TEXTAREA, TABLE, FISHBONE = "text", "textarea", "table", "fishbone"
TEXT_LIMIT, TEXTAREA_LIMIT, CELL_LIMIT = 200, 2000, 200
MAX_ROWS, MAX_CATEGORIES, MAX_CAUSES = 40, 10, 20
PROBLEM_LIMIT, HEADING_LIMIT = 300, 60  # the fishbone's problem statement and headings


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    limit: int = CELL_LIMIT


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = TEXTAREA
    hint: str = ""
    columns: tuple[Column, ...] = ()

    @property
    def limit(self) -> int:
        return TEXT_LIMIT if self.kind == TEXT else TEXTAREA_LIMIT


@dataclass(frozen=True)
class Section:
    key: str
    step: str
    title: str
    guidance: str
    fields: tuple[Field, ...]
    example: dict[str, Any] = field(default_factory=dict)

    def empty(self) -> dict[str, Any]:
        return {f.name: blank_value(f) for f in self.fields}


def blank_value(f: Field) -> Any:
    if f.kind == TABLE:
        return []
    if f.kind == FISHBONE:
        return {
            "problem": "",
            "categories": [
                {"id": f"c{i}", "name": n, "causes": []} for i, n in enumerate(DEFAULT_FISHBONE_CATEGORIES, 1)
            ],
        }
    return ""


DEFAULT_FISHBONE_CATEGORIES = ("People", "Processes", "Equipment and IT", "Environment", "Communication")

SECTIONS: tuple[Section, ...] = (
    Section(
        key="purpose",
        step=Step.ASSESS,
        title="Purpose",
        guidance="Why does your microsystem exist? Agree one or two sentences the whole team recognises.",
        fields=(Field("purpose", "Our system exists to…"),),
        example={
            "purpose": "Our system exists to give the people of Northgate safe, timely care close to home, "
            "and to help them stay well."
        },
    ),
    Section(
        key="patients",
        step=Step.ASSESS,
        title="Patients",
        guidance="Who do you care for? Describe groups, never individual patients: no names, no NHS numbers.",
        fields=(
            Field("who", "Who are your patients?"),
            Field("subpopulations", "Subpopulations", hint="For example, care home residents, people with diabetes."),
            Field("common_conditions", "Most common conditions"),
            Field(
                "other_microsystems",
                "Other microsystems your patients use",
                hint="For example, district nursing, the community pharmacy.",
            ),
            Field("satisfaction", "What patients say about you", hint="Survey results, the Friends and Family Test."),
        ),
        example={
            "who": "9,800 registered patients; a growing share over 75.",
            "subpopulations": "Three care homes; a large student population in term time.",
            "common_conditions": "Hypertension, diabetes, COPD, anxiety and depression.",
            "other_microsystems": "District nurses, the community pharmacy, the hospital's diabetes clinic.",
            "satisfaction": "88% would recommend us; getting through on the phone is the main complaint.",
        },
    ),
    Section(
        key="professionals",
        step=Step.ASSESS,
        title="Professionals",
        guidance="Who provides and supports care? List roles, not names, with their sessions each week.",
        fields=(
            Field(
                "staff",
                "Roles in the team",
                kind=TABLE,
                columns=(Column("role", "Role"), Column("sessions", "Sessions a week", 20), Column("skills", "Skills")),
            ),
            Field("morale", "Morale", hint="How does it feel to work here? What would make it better?"),
        ),
        example={
            "staff": [
                {"role": "GP partner", "sessions": "24", "skills": "Minor surgery, diabetes lead"},
                {"role": "Practice nurse", "sessions": "16", "skills": "Asthma and COPD reviews"},
                {"role": "Receptionist", "sessions": "40", "skills": "Care navigation"},
            ],
            "morale": "Good within teams; reception feel the pressure of the 8am rush.",
        },
    ),
    Section(
        key="processes",
        step=Step.ASSESS,
        title="Processes",
        guidance="How is care delivered? Map one process step by step, with who does each step.",
        fields=(
            Field("core_processes", "Core processes"),
            Field("supporting_processes", "Supporting processes"),
            Field("process_map", "Process map", kind=TABLE, columns=(Column("step", "Step"), Column("role", "Who"))),
            Field("failures", "Failures and near misses"),
        ),
        example={
            "core_processes": "Appointments, repeat prescribing, test results, long-term condition reviews.",
            "supporting_processes": "Registration, document workflow, rota planning.",
            "process_map": [
                {"step": "Result arrives in the clinical system", "role": "Laboratory"},
                {"step": "Result filed to the requesting GP", "role": "Administrator"},
                {"step": "GP reviews and sets an action", "role": "GP"},
                {"step": "Patient told the outcome", "role": "Receptionist"},
            ],
            "failures": "Results waiting over a week when the requesting GP is away.",
        },
    ),
    Section(
        key="patterns",
        step=Step.ASSESS,
        title="Patterns",
        guidance="What patterns do you see in outcomes, costs and how the team works together?",
        fields=(
            Field("outcomes", "Outcomes", hint="QOF, prescribing, referrals."),
            Field("costs", "Costs"),
            Field("meetings", "How the team meets and communicates"),
            Field("recurring_patterns", "Recurring patterns"),
        ),
        example={
            "outcomes": "Diabetes reviews below the PCN average.",
            "costs": "Locum spend rises every winter.",
            "meetings": "A weekly clinical meeting; reception meets monthly.",
            "recurring_patterns": "Monday mornings overwhelm the phones.",
        },
    ),
    Section(
        key="strengths",
        step=Step.DIAGNOSE,
        title="Strengths",
        guidance="What does the team do well that the change can build on?",
        fields=(Field("strengths", "Strengths"),),
        example={"strengths": "A stable team that knows its patients; good links with the district nurses."},
    ),
    Section(
        key="weaknesses",
        step=Step.DIAGNOSE,
        title="Weaknesses and opportunities",
        guidance="Where does the system let patients or staff down? What could be better?",
        fields=(Field("weaknesses", "Weaknesses and opportunities"),),
        example={"weaknesses": "Results handling depends on one GP being in; no cover when they are away."},
    ),
    Section(
        key="fishbone",
        step=Step.DIAGNOSE,
        title="Fishbone",
        guidance="State the problem, then list its causes under each heading. Rename the headings to suit.",
        fields=(Field("fishbone", "Fishbone", kind=FISHBONE),),
        example={
            "fishbone": {
                "problem": "Test results wait more than 5 days for action",
                "categories": [
                    {"id": "c1", "name": "People", "causes": [{"id": "x1", "text": "Part-time GPs"}]},
                    {"id": "c2", "name": "Processes", "causes": [{"id": "x2", "text": "No buddy system for absence"}]},
                    {"id": "c3", "name": "Equipment and IT", "causes": [{"id": "x3", "text": "Workflow not shared"}]},
                ],
            }
        },
    ),
    Section(
        key="theme",
        step=Step.DIAGNOSE,
        title="Theme",
        guidance="Choose one theme for improvement: small, clear and within the team's control.",
        fields=(Field("theme", "The theme we will work on", kind=TEXT),),
        example={"theme": "Test results handling"},
    ),
    Section(
        key="global_aim",
        step=Step.DIAGNOSE,
        title="Global aim",
        guidance="Complete each part of the sentence. It says where the process starts and ends, and why now.",
        fields=(
            Field("improve", "We aim to improve", kind=TEXT),
            Field("begins", "The process begins with", kind=TEXT),
            Field("ends", "and ends with", kind=TEXT),
            Field("expect", "By working on it we expect"),
            Field("important", "It is important now because"),
        ),
        example={
            "improve": "the handling of test results",
            "begins": "a result arriving in the clinical system",
            "ends": "the patient knowing what happens next",
            "expect": "no result to wait more than 2 working days for action",
            "important": "patients ring to chase results and two were missed last year",
        },
    ),
)

SECTIONS_BY_KEY = {s.key: s for s in SECTIONS}
FIVE_PS = tuple(s.key for s in SECTIONS if s.step == Step.ASSESS)


def sections_for(step: str) -> tuple[Section, ...]:
    return tuple(s for s in SECTIONS if s.step == step)


def is_written(value: Any) -> bool:
    """Whether a field has content: text with something in it, a table or fishbone with an entry."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(any(str(v).strip() for v in row.values()) for row in value if isinstance(row, dict))
    if isinstance(value, dict):
        return bool(str(value.get("problem", "")).strip()) or any(c.get("causes") for c in value.get("categories", []))
    return False


def global_aim_sentence(data: dict[str, Any]) -> str:
    return (
        f"We aim to improve {data.get('improve', '___')}. The process begins with {data.get('begins', '___')} "
        f"and ends with {data.get('ends', '___')}. By working on it we expect {data.get('expect', '___')}. "
        f"It is important now because {data.get('important', '___')}."
    )

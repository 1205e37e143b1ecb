"""The typology report: what kind of improvement the projects were, as in the evaluation's Figure 3.

Every project has a primary category (process-driven, health outputs, patient-centred care); a
process-driven one has a sub-theme (administrative systems, patient flow, communication) and any
project may overlap a second category. The report counts the scope's projects (those started in
the year, when one is chosen), whatever their step, by those three and by financial year of
start and PCN: four ``GROUP BY`` queries whose rows number the categories, years and PCNs, never
the projects.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, labelled, percent
from projects.models import ProcessSubtheme, Project, Typology
from projects.models.payments import financial_year_label

from ._common import NO_PCN, financial_year, grouped_counts, largest, listing, plural, share

SLUG = "typology"
CATEGORIES: tuple[str, ...] = tuple(Typology.values)
SUBTHEMES: tuple[str, ...] = (
    ProcessSubtheme.ADMINISTRATIVE,
    ProcessSubtheme.PATIENT_FLOW,
    ProcessSubtheme.COMMUNICATION,
    ProcessSubtheme.NONE,
)
NO_OVERLAP = "No overlap"

Kinds = dict[tuple[Any, ...], int]  # (typology, sub-theme, overlapping category) → projects


def build(scope: Scope) -> Report:
    projects = scope.projects()
    kinds = grouped_counts(projects, "typology", "process_subtheme", "secondary_typology")
    by_pcn = _by_pcn(projects)
    by_year = grouped_counts(projects, "typology", year=financial_year("starts_on"))
    detail = grouped_counts(
        projects, "typology", "process_subtheme", "secondary_typology", "practice__pcn__name",
        year=financial_year("starts_on"),
    )  # fmt: skip
    all_projects = sum(kinds.values())
    return Report(
        slug=SLUG,
        title="Typology",
        intro=(
            "What kind of improvement the projects were, using the evaluation's typology (its Figure 3): "
            "process-driven (administrative systems, patient flow, communication), health outputs or "
            "patient-centred care, and whether a project overlapped a second category. It counts every "
            "project started in this selection, whatever its step."
        ),
        scope=scope,
        charts=(_figure_chart(kinds), _year_chart(by_year, scope)),
        tables=(
            _subtheme_table(kinds, all_projects),
            _overlap_table(kinds),
            _category_table("Projects by PCN", "PCN", by_pcn, sorted({pcn for _, pcn in by_pcn}, key=_pcn_order)),
            _category_table(
                "Projects by financial year of start",
                "Financial year",
                {(t, financial_year_label(y)): n for (t, y), n in by_year.items()},
                [financial_year_label(y) for y in _years(by_year, scope)] if by_year else [],
            ),
        ),
        csv_header=("Financial year", "PCN", "Primary category", "Sub-theme", "Overlapping category", "Projects"),
        csv_rows=_csv_rows(detail),
        highlights=_highlights(kinds, all_projects),
    )


# --- figures --------------------------------------------------------------------------------------


def _by_pcn(projects: QuerySet[Project]) -> Kinds:
    counts = grouped_counts(projects, "typology", "practice__pcn__name")
    return {(typology, pcn or NO_PCN): n for (typology, pcn), n in counts.items()}


def _pcn_order(name: str) -> tuple[bool, str]:
    return (name == NO_PCN, name.lower())


def _years(by_year: Kinds, scope: Scope) -> list[int]:
    """Every financial year from the first with a project to the last, gaps included (or the one chosen)."""
    if scope.year is not None:
        return [scope.year]
    years = [year for _, year in by_year]
    return list(range(min(years), max(years) + 1))


def _in_category(kinds: Kinds, category: str) -> int:
    return sum(n for (typology, _, _), n in kinds.items() if typology == category)


def _kind_label(category: str, subtheme: str) -> str:
    """ "Health outputs"; "Process-driven: patient flow"; "Process-driven: no sub-theme"."""
    name = labelled(Typology.choices, category)
    if category != Typology.PROCESS_DRIVEN and not subtheme:
        return name
    return f"{name}: {labelled(ProcessSubtheme.choices, subtheme).lower() if subtheme else 'no sub-theme'}"


def _subthemes_of(kinds: Kinds, category: str) -> list[str]:
    """The sub-themes a category's rows show: all three for process-driven, then any other found, in order."""
    found = {subtheme for (typology, subtheme, _), n in kinds.items() if typology == category and n}
    standard = [s for s in SUBTHEMES if s] if category == Typology.PROCESS_DRIVEN else []
    known = [s for s in SUBTHEMES if s in found and s not in standard]
    others = sorted(found - set(SUBTHEMES))
    if category != Typology.PROCESS_DRIVEN and not found:
        known = [ProcessSubtheme.NONE]
    return [*standard, *known, *others]


def _figure_kinds(kinds: Kinds) -> list[tuple[str, str]]:
    """(category, sub-theme) pairs the figure and the sub-theme table show, in the typology's order."""
    return [(c, s) for c in _categories(kinds) for s in _subthemes_of(kinds, c)]


def _categories(kinds: Kinds) -> list[str]:
    """The three categories, then any unknown one found in the data."""
    return [*CATEGORIES, *sorted({t for t, _, _ in kinds} - set(CATEGORIES))]


def _count(kinds: Kinds, category: str, subtheme: str, overlap: str | None = None) -> int:
    return sum(
        n
        for (t, s, o), n in kinds.items()
        if t == category and (s or "") == subtheme and (overlap is None or (o or "") == overlap)
    )


# --- charts ---------------------------------------------------------------------------------------


def _figure_chart(kinds: Kinds) -> ChartSpec:
    pairs = _figure_kinds(kinds)
    overlaps = [o for o in CATEGORIES if any(n for (_, _, oo), n in kinds.items() if oo == o)]
    series = [ChartSeries(NO_OVERLAP, tuple(float(_count(kinds, c, s, "")) for c, s in pairs))]
    series += [
        ChartSeries(
            f"Also {labelled(Typology.choices, o).lower()}", tuple(float(_count(kinds, c, s, o)) for c, s in pairs)
        )
        for o in overlaps
    ]
    return ChartSpec(
        slug="typology",
        title="Projects by category and sub-theme",
        kind="stacked",
        categories=tuple(_kind_label(c, s) for c, s in pairs),
        series=tuple(series),
        alt=_figure_alt(kinds),
        y_label="Projects",
    )


def _figure_alt(kinds: Kinds) -> str:
    all_projects = sum(kinds.values())
    if not all_projects:
        return "No projects in this selection, so there is no typology to show."
    parts = []
    for category in _categories(kinds):
        n = _in_category(kinds, category)
        name = labelled(Typology.choices, category)
        part = f"{share(n, all_projects)} were {name.lower()}"
        if category == Typology.PROCESS_DRIVEN and n:
            top = largest(
                (labelled(ProcessSubtheme.choices, s).lower(), _count(kinds, category, s))
                for s in _subthemes_of(kinds, category)
                if s
            )
            if top is not None:
                part += f", most about {top[0]} ({top[1]})"
        parts.append(part)
    sentence = f"Of {plural(all_projects, 'project')}, {'; '.join(parts)}."
    overlapping = sum(n for (_, _, o), n in kinds.items() if o)
    if overlapping:
        top = largest(
            (labelled(Typology.choices, o).lower(), sum(n for (_, _, oo), n in kinds.items() if oo == o))
            for o in CATEGORIES
        )
        often = f", most often with {top[0]} ({top[1]})" if top else ""
        sentence += f" {share(overlapping, all_projects)} overlapped a second category{often}."
    else:
        sentence += " None overlapped a second category."
    return sentence


def _year_chart(by_year: Kinds, scope: Scope) -> ChartSpec:
    years = _years(by_year, scope) if by_year else []
    labels = tuple(financial_year_label(y) for y in years)
    series = tuple(
        ChartSeries(labelled(Typology.choices, c), tuple(float(by_year.get((c, y), 0)) for y in years))
        for c in CATEGORIES
    )
    return ChartSpec(
        slug="typology-years",
        title="Projects by financial year of start and category",
        kind="stacked",
        categories=labels,
        series=series,
        alt=_year_alt(by_year, years),
        x_label="Financial year of start",
        y_label="Projects",
    )


def _year_alt(by_year: Kinds, years: list[int]) -> str:
    if not by_year:
        return "No projects in this selection, so there is nothing to show by year."
    per_year = [(y, sum(n for (_, yy), n in by_year.items() if yy == y)) for y in years]
    counts = listing([f"{n} in {financial_year_label(y)}" for y, n in per_year])
    sentence = f"Projects started per financial year, by primary category: {counts}."
    leaders = [largest((c, by_year.get((c, y), 0)) for c in CATEGORIES) for y, _ in per_year]
    led = [top[0] for top in leaders if top is not None]
    if led:
        most = max(set(led), key=lambda c: (led.count(c), -CATEGORIES.index(c)))
        name = labelled(Typology.choices, most)
        sentence += f" {name} was the largest category in {led.count(most)} of {plural(len(led), 'year')}."
    return sentence


# --- tables ---------------------------------------------------------------------------------------


def _subtheme_table(kinds: Kinds, all_projects: int) -> Table:
    rows: list[tuple[Value, ...]] = []
    if all_projects:
        for category in _categories(kinds):
            in_category = _in_category(kinds, category)
            for subtheme in _subthemes_of(kinds, category):
                n = _count(kinds, category, subtheme)
                sub = labelled(ProcessSubtheme.choices, subtheme) if subtheme else "—"
                name = labelled(Typology.choices, category)
                rows.append((name, sub, n, percent(n, in_category), percent(n, all_projects)))
        rows.append(("All categories", "", all_projects, 100.0, 100.0))
    return Table(
        title="Projects by category and sub-theme",
        columns=(
            Column("Primary category"),
            Column("Sub-theme"),
            Column("Projects", numeric=True),
            Column("% of category", numeric=True),
            Column("% of all projects", numeric=True),
        ),
        rows=tuple(rows),
        note="Only process-driven projects have a sub-theme.",
        empty="No projects started in this selection.",
    )


def _overlap_table(kinds: Kinds) -> Table:
    rows: list[tuple[Value, ...]] = []
    if kinds:
        for category in _categories(kinds):
            overlaps = [
                sum(n for (t, _, o), n in kinds.items() if t == category and (o or "") == other)
                for other in ("", *CATEGORIES)
            ]
            in_category = sum(overlaps)
            rows.append(
                (
                    labelled(Typology.choices, category),
                    *overlaps,
                    in_category,
                    percent(in_category - overlaps[0], in_category),
                )
            )
    return Table(
        title="Overlaps: primary and overlapping category",
        columns=(
            Column("Primary category"),
            Column(NO_OVERLAP, numeric=True),
            *(Column(f"Also {labelled(Typology.choices, c).lower()}", numeric=True) for c in CATEGORIES),
            Column("Projects", numeric=True),
            Column("% overlapping", numeric=True),
        ),
        rows=tuple(rows),
        note="A process-driven project that also improves patient-centred care, say, overlaps a second category.",
        empty="No projects started in this selection.",
    )


def _category_table(title: str, label: str, counts: Kinds, names: list[str]) -> Table:
    """Rows ``names`` (PCNs or years), a column per primary category, and their total."""
    rows: list[tuple[Value, ...]] = []
    for name in names:
        per_category = [counts.get((c, name), 0) for c in CATEGORIES]
        rows.append((name, *per_category, sum(per_category)))
    return Table(
        title=title,
        columns=(
            Column(label),
            *(Column(labelled(Typology.choices, c), numeric=True) for c in CATEGORIES),
            Column("Projects", numeric=True),
        ),
        rows=tuple(rows),
        empty="No projects started in this selection.",
    )


def _csv_rows(detail: Kinds) -> tuple[tuple[Value, ...], ...]:
    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        typology, subtheme, overlap, pcn, year = key
        return (
            year,
            _pcn_order(pcn or NO_PCN),
            CATEGORIES.index(typology) if typology in CATEGORIES else len(CATEGORIES),
            SUBTHEMES.index(subtheme) if subtheme in SUBTHEMES else len(SUBTHEMES),
            ("", *CATEGORIES).index(overlap) if overlap in ("", *CATEGORIES) else len(CATEGORIES) + 1,
        )

    return tuple(
        (
            financial_year_label(year),
            pcn or NO_PCN,
            labelled(Typology.choices, typology),
            labelled(ProcessSubtheme.choices, subtheme) if subtheme else "",
            labelled(Typology.choices, overlap) if overlap else "None",
            detail[(typology, subtheme, overlap, pcn, year)],
        )
        for typology, subtheme, overlap, pcn, year in sorted(detail, key=order)
    )


def _highlights(kinds: Kinds, all_projects: int) -> tuple[tuple[str, Value], ...]:
    overlapping = sum(n for (_, _, o), n in kinds.items() if o)
    return (
        ("Projects", all_projects),
        *((labelled(Typology.choices, c), share(_in_category(kinds, c), all_projects)) for c in CATEGORIES),
        ("Overlapping a second category", share(overlapping, all_projects)),
    )

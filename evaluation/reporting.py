"""What every programme report is made of, and whose data it covers.

A report is a plain value: a title, charts described as ``ChartSpec`` (drawn by the worker,
see ``report_charts``), tables and the rows of its CSV. Each report module in
``evaluation/reports/`` builds one from a ``Scope`` with a few aggregate queries; the same value
is shown on the report's page, written as its CSV and printed in the programme report's PDF, so
the three can never disagree.

A ``Scope`` is one commissioner (the lead's or finance's own; a staff admin picks any),
optionally narrowed to a PCN and a financial year (April to March, named by the year it
starts). With a year, project figures count the projects *started* in that year, money counts
payments falling due in it and follow-ups those due in it; without one, everything so far.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from importlib import import_module
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from microsystems.access import deny
from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.models import Commissioner, Pcn, Practice, ProgrammeRoleKind
from practices.permissions import roles_of
from practices.selectors import pcns_of
from projects.models import Project
from projects.models.payments import financial_year_bounds, financial_year_label, financial_year_of

REPORT_ROLES = (ProgrammeRoleKind.LEAD, ProgrammeRoleKind.FINANCE)
FIRST_YEAR = 2015  # the programme's financial years start here at the earliest

Value = str | int | float | Decimal | date | None


# --- whose data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The data a dashboard or report covers: a commissioner, maybe one PCN, maybe one financial year."""

    commissioner: Commissioner
    pcn: Pcn | None = None
    year: int | None = None
    q: str = ""  # free-text search, for the reports that have one (outcomes)

    @property
    def bounds(self) -> tuple[date, date] | None:
        """The first and last day of the chosen financial year; None for all years."""
        return financial_year_bounds(self.year) if self.year is not None else None

    @property
    def year_label(self) -> str:
        return financial_year_label(self.year) if self.year is not None else "All years"

    def practices(self) -> QuerySet[Practice]:
        """The commissioner's practices, or the PCN's."""
        practices = Practice.objects.filter(commissioner=self.commissioner)
        return practices.filter(pcn=self.pcn) if self.pcn is not None else practices

    def projects(self) -> QuerySet[Project]:
        """The projects of those practices, started in the chosen year if there is one."""
        projects = Project.objects.filter(practice__commissioner=self.commissioner)
        if self.pcn is not None:
            projects = projects.filter(practice__pcn=self.pcn)
        if self.bounds is not None:
            projects = projects.filter(starts_on__range=self.bounds)
        return projects

    def describe(self) -> str:
        """How the page names the scope: "NHS Example ICB · Riverside PCN · 2025/26"."""
        parts = [self.commissioner.name]
        if self.pcn is not None:
            parts.append(self.pcn.name)
        parts.append(self.year_label)
        return " · ".join(parts)

    def params(self) -> dict[str, str]:
        """The query parameters that choose this scope again (for links and downloads)."""
        params = {"commissioner": str(self.commissioner.pk)}
        if self.pcn is not None:
            params["pcn"] = str(self.pcn.pk)
        if self.year is not None:
            params["year"] = str(self.year)
        if self.q:
            params["q"] = self.q
        return params

    def query_string(self) -> str:
        return urlencode(self.params())

    def cache_part(self) -> dict[str, Any]:
        """What distinguishes this scope's figures from another's, for data keys."""
        return {"c": self.commissioner.pk, "p": self.pcn.pk if self.pcn else None, "y": self.year, "q": self.q}


def commissioners_reported_on(user: User | AnonymousUser) -> QuerySet[Commissioner]:
    """The commissioners whose programme the user may see: lead's and finance's own, every one for an admin."""
    if not user.is_authenticated:
        return Commissioner.objects.none()
    roles = roles_of(user)
    if roles.is_admin:
        return Commissioner.objects.order_by("name")
    return Commissioner.objects.filter(pk__in=roles.commissioners_with(*REPORT_ROLES)).order_by("name")


_COMMISSIONERS = CompiledQuery(lambda ids: Commissioner.objects.filter(pk__in=ids).order_by("name"))


def commissioner_list(user: User | AnonymousUser) -> list[Commissioner]:
    """``commissioners_reported_on`` read once as a list (by a query compiled once per process): every
    programme page offers them and checks the one asked for against them."""
    roles = roles_of(user) if user.is_authenticated else None
    if roles is None or roles.is_admin:
        return list(commissioners_reported_on(user))
    return _COMMISSIONERS(sorted(roles.commissioners_with(*REPORT_ROLES)))


def years_offered(today: date | None = None) -> list[int]:
    """The financial years the filters offer, newest first, from ``FIRST_YEAR`` to the current one."""
    current = financial_year_of(today or timezone.localdate())
    return list(range(current, FIRST_YEAR - 1, -1))


class QuickSelect(forms.Select):
    """A ``<select>`` written in Python: the template-per-option renderer cost ~15 ms for a commissioner's PCNs.

    Same markup as Django's (values and labels escaped, the chosen one ``selected``); no option groups.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None}
        attributes = flatatt(self.build_attrs(self.attrs, {**(attrs or {}), "name": name}))
        options = [
            f'<option value="{escape(str(option))}"{" selected" if str(option) in chosen else ""}>'
            f"{escape(str(label))}</option>"
            for option, label in self.choices
        ]
        return mark_safe(f"<select{attributes}>{''.join(options)}</select>")  # noqa: S308  (every part escaped)


class ScopeForm(forms.Form):
    """The filters every programme page shares. Bad values are ignored, not an error page."""

    commissioner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=QuickSelect)
    # The commissioner's PCNs as (id, name) rows, not model instances: a large ICB has a hundred of them.
    pcn = forms.TypedChoiceField(label="PCN", coerce=int, required=False, empty_value=None, widget=QuickSelect)
    year = forms.TypedChoiceField(
        label="Financial year", coerce=int, required=False, empty_value=None, widget=QuickSelect
    )
    q = forms.CharField(label="Search", max_length=100, required=False)

    def __init__(self, data: Any, *, commissioners: list[Commissioner], chosen: Commissioner) -> None:
        super().__init__(data)
        commissioner_field: Any = self.fields["commissioner"]
        commissioner_field.choices = [(c.pk, str(c)) for c in commissioners]
        self.chosen = chosen
        self.pcn_names = dict(pcns_of([chosen.pk]))
        pcn_field: Any = self.fields["pcn"]
        pcn_field.choices = [("", "All PCNs")] + [(str(pk), name) for pk, name in self.pcn_names.items()]
        year_field: Any = self.fields["year"]
        year_field.choices = [("", "All years")] + [(y, financial_year_label(y)) for y in years_offered()]
        for name in ("commissioner", "pcn", "year"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["q"].widget.attrs["class"] = "form-control form-control-sm"

    def chosen_pcn(self) -> Pcn | None:
        """The PCN chosen (one of the commissioner's), built from the row already read; None for all."""
        pk = self.cleaned_data.get("pcn")
        if pk is None:
            return None
        return Pcn(pk=pk, name=self.pcn_names[pk], commissioner=self.chosen)


def scope_from_request(request: HttpRequest, *, default_year: int | None = None) -> tuple[Scope, ScopeForm]:
    """The scope the request asks for, within what the user may see; a 404 for anyone who may see none.

    ``commissioner`` defaults to the user's first; a PCN of another commissioner, an unknown year
    or anything malformed is ignored (the filter falls back to "all") rather than shown as an error.
    """
    commissioners = commissioner_list(request.user)
    wanted = request.GET.get("commissioner", "")
    chosen = next((c for c in commissioners if wanted.isdigit() and c.pk == int(wanted)), None)
    if chosen is None:
        chosen = commissioners[0] if commissioners else None
    if chosen is None:
        raise deny(request, "evaluation.see_programme")
    data = request.GET.copy()
    data["commissioner"] = str(chosen.pk)
    if "year" not in request.GET and default_year is not None:
        data["year"] = str(default_year)
    form = ScopeForm(data, commissioners=commissioners, chosen=chosen)
    form.is_valid()
    cleaned = form.cleaned_data
    scope = Scope(
        commissioner=chosen,
        pcn=form.chosen_pcn(),
        year=cleaned.get("year"),
        q=(cleaned.get("q") or "").strip(),
    )
    return scope, form


# --- what a report holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class ChartSpec:
    """Everything a report chart draws, as data: the worker draws it, its hash names the file.

    ``kind``: "bar" (one series, vertical bars), "barh" (one series, horizontal bars),
    "stacked" (series stacked per category), "grouped" (series side by side per category) or
    "line" (one line per series over the categories, e.g. years). ``alt`` is the alt text,
    written from the figures by the report (what the chart shows, its largest and smallest
    parts, the change), never just the title.
    """

    slug: str
    title: str
    kind: str
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    alt: str
    x_label: str = ""
    y_label: str = ""
    percent: bool = False  # values are percentages: the axis runs 0–100

    KINDS = ("bar", "barh", "stacked", "grouped", "line")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"Unknown chart kind {self.kind!r}")
        for series in self.series:
            if len(series.values) != len(self.categories):
                count = len(series.values)
                raise ValueError(f"Series {series.name!r} has {count} values for {len(self.categories)} categories")

    @property
    def is_empty(self) -> bool:
        return not self.categories or not any(v for s in self.series for v in s.values)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ChartSpec:
        series = tuple(ChartSeries(s["name"], tuple(s["values"])) for s in data["series"])
        return cls(**{**data, "categories": tuple(data["categories"]), "series": series})


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    """A table of a report as shown: a title, its columns, its rows (plain values) and a note on how to read it."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Value, ...], ...]
    note: str = ""
    empty: str = "Nothing to show for this selection."


@dataclass(frozen=True)
class Report:
    """One report for one scope: what its page, its CSV and its chapter of the programme report show."""

    slug: str
    title: str
    intro: str
    scope: Scope
    charts: tuple[ChartSpec, ...] = ()
    tables: tuple[Table, ...] = ()
    csv_header: tuple[str, ...] = ()
    csv_rows: tuple[tuple[Value, ...], ...] = ()
    highlights: tuple[tuple[str, Value], ...] = field(default=())  # headline figures: (label, value)

    def data_key(self) -> str:
        """A hash of every figure in the report: equal for unchanged data, different otherwise."""
        payload = {
            "slug": self.slug,
            "scope": self.scope.cache_part(),
            "charts": [c.as_data() for c in self.charts],
            "tables": [[t.title, [c.label for c in t.columns], t.rows] for t in self.tables],
            "csv": [self.csv_header, self.csv_rows],
            "highlights": self.highlights,
        }
        return hashlib.sha256(json.dumps(payload, default=str, sort_keys=True).encode()).hexdigest()


# --- the reports --------------------------------------------------------------------------------

# slug → (menu title, module). Each module defines ``build(scope: Scope) -> Report``.
REPORTS: dict[str, tuple[str, str]] = {
    "typology": ("Typology", "evaluation.reports.typology"),
    "adoption": ("Adoption", "evaluation.reports.adoption"),
    "sustainability": ("Sustainability", "evaluation.reports.sustainability"),
    "outcomes": ("Outcomes", "evaluation.reports.outcomes"),
    "embedding": ("Embedding", "evaluation.reports.embedding"),
    "coaching": ("Coaching", "evaluation.reports.coaching"),
}


def builder(slug: str) -> Callable[[Scope], Report]:
    """The ``build`` function of the report ``slug``; KeyError for an unknown one."""
    _, module = REPORTS[slug]
    build: Callable[[Scope], Report] = import_module(module).build
    return build


def build_report(slug: str, scope: Scope) -> Report:
    return builder(slug)(scope)


def cached_report(slug: str, scope: Scope) -> Report:
    """The report as ``build_report`` counts it, kept until the programme's data changes (``data_version``)."""
    from .data_version import cached

    return cached(f"report:{slug}", scope.cache_part(), timezone.localdate(), lambda: build_report(slug, scope))


def percent(part: int | float, whole: int | float) -> float:
    """``part`` as a percentage of ``whole``, to one decimal place; 0 when there is no whole."""
    return round(100 * part / whole, 1) if whole else 0.0


def labelled(choices: Sequence[tuple[str, str]], value: str) -> str:
    """The label of ``value`` among ``choices`` (a TextChoices' ``choices``), or the value itself."""
    return dict(choices).get(value, value or "—")

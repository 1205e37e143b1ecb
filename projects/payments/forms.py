"""Forms and filters for the funding pages: they check the shape of input; the payment services decide the rules.

A form acting on a payment or an application carries the status the user saw
(``seen_status``), so the service refuses it if someone else acted first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from microsystems.filtering import PlainSelectsMixin
from microsystems.forms import CrispyForm as _Form
from microsystems.forms import date_field as _date
from microsystems.forms import required as _required

from ..models import (
    MILESTONE_ORDER,
    ApplicationStatus,
    FundingApplication,
    FundingRoute,
    Milestone,
    Payment,
    PaymentStatus,
    Project,
    financial_year_label,
)
from .applications import ApplicationDetails
from .lifecycle import AdjustmentDetails

LARGEST = Decimal("99999999.99")  # the amount columns hold ten digits, two after the point


class MoneyField(forms.DecimalField):
    """An amount in pounds: "£1,500", "1500.00" and "1 500" all read as 1500; pence at most two places."""

    def __init__(self, *, label: str, negative: bool = False, **kwargs: Any) -> None:
        messages = {
            "invalid": "Enter an amount in pounds and pence, like 1500.00.",
            "max_decimal_places": "Give the amount in pounds and pence: at most two digits after the point.",
            "max_value": f"Enter an amount of at most £{LARGEST:,}.",
            "min_value": f"Enter an amount of at least −£{LARGEST:,}.",
            "max_digits": f"Enter an amount of at most £{LARGEST:,}.",
            "max_whole_digits": f"Enter an amount of at most £{LARGEST:,}.",
        }
        messages |= kwargs.pop("error_messages", {})
        super().__init__(
            label=label,
            max_value=LARGEST,
            min_value=-LARGEST if negative else None,
            decimal_places=2,
            error_messages=messages,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            **kwargs,
        )

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str):
            value = value.replace("£", "").replace(",", "").replace(" ", "").replace("−", "-")
        return super().to_python(value)


def _text(label: str, *, max_length: int, message: str = "", rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=bool(message),
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
        error_messages=_required(message) if message else {},
    )


def _seen_status(choices: list[tuple[str, str]]) -> forms.TypedChoiceField:
    """The status the page showed: the service acts only if it is still that."""
    return forms.TypedChoiceField(choices=choices, widget=forms.HiddenInput, empty_value=None)


# Filters


class PaymentFilter(PlainSelectsMixin, django_filters.FilterSet):
    """The payment list's filters; the financial year defaults to the current one."""

    ALL_YEARS = "all"

    year = django_filters.ChoiceFilter(method="in_year", label="Financial year", empty_label=None)
    status = django_filters.ChoiceFilter(choices=PaymentStatus.choices, empty_label="Any status")
    route = django_filters.ChoiceFilter(choices=FundingRoute.choices, empty_label="Any route", label="Funded as")
    pcn = django_filters.ChoiceFilter(field_name="project__practice__pcn_id", label="PCN", empty_label="All PCNs")
    practice = django_filters.CharFilter(method="at_practice", label="Practice name or ODS code")

    SELECTS = ("year", "status", "route", "pcn")

    class Meta:
        model = Payment
        fields = ["year", "status", "route", "pcn", "practice"]

    def __init__(
        self, data: Any, *, years: list[int], current_year: int, pcns: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        data = data.copy()
        if not data.get("year"):
            data["year"] = str(current_year)
        super().__init__(data, **kwargs)
        self.filters["year"].extra["choices"] = [(str(y), financial_year_label(y)) for y in years] + [
            (self.ALL_YEARS, "All years")
        ]
        self.filters["pcn"].extra["choices"] = pcns

    def in_year(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        return queryset if value == self.ALL_YEARS else queryset.filter(financial_year=int(value))

    def at_practice(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(project__practice__name__icontains=value) | Q(project__practice__ods_code__iexact=value)
        )


class ApplicationFilter(PlainSelectsMixin, django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApplicationStatus.choices, empty_label="Any status")

    SELECTS = ("status",)

    class Meta:
        model = FundingApplication
        fields = ["status"]


# A payment's actions


class ApproveForm(_Form):
    seen_status = _seen_status(PaymentStatus.choices)


class PayForm(_Form):
    seen_status = _seen_status(PaymentStatus.choices)
    paid_on = _date("Date paid", error_messages=_required("Enter the date it was paid."))
    reference = forms.CharField(
        label="Payment or purchase-order reference",
        max_length=60,
        error_messages=_required("Enter the payment or purchase-order reference."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()


class CancelForm(_Form):
    seen_status = _seen_status(PaymentStatus.choices)
    reason = _text("Why is it cancelled?", max_length=2000, message="Say why the payment is cancelled.")


class AdjustForm(_Form):
    amount = MoneyField(
        label="Adjustment (£)",
        negative=True,
        help_text="Positive to pay more, negative (for example −250.00) to recover money.",
        error_messages=_required("Enter the adjustment's amount."),
    )
    reason = _text("Why is it adjusted?", max_length=2000, message="Say why the payment is adjusted.")
    above_tariff_justification = _text(
        "Why more than the funding (only if it is)",
        max_length=2000,
        help_text="Needed when the project would be paid more than its funding.",
    )

    def details(self) -> AdjustmentDetails:
        return AdjustmentDetails(
            amount=self.cleaned_data["amount"],
            reason=self.cleaned_data["reason"],
            above_tariff_justification=self.cleaned_data["above_tariff_justification"],
        )


# Tariffs


def share_field_name(milestone: str) -> str:
    """The form field of a milestone's share: the name the tariff service's errors point at."""
    return f"share_{milestone}"


class TariffForm(_Form):
    """The first-project amount and one percentage per milestone; a blank share means it pays nothing there."""

    first_project_amount = MoneyField(
        label="Amount for a first project (£)", error_messages=_required("Enter the amount for a first project.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for milestone in MILESTONE_ORDER:
            self.fields[share_field_name(milestone)] = forms.DecimalField(
                label=f"{Milestone(milestone).label} (%)",
                required=False,
                decimal_places=2,
                max_digits=5,
                error_messages={
                    "invalid": "Enter the share as a percentage, like 50.",
                    "max_decimal_places": "Give the share with at most two digits after the point.",
                    # Django formats these two with the validator's values: %% is a percent sign.
                    "max_digits": "Each share is between 0%% and 100%%.",
                    "max_whole_digits": "Each share is between 0%% and 100%%.",
                },
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )

    def shares(self) -> dict[str, Decimal]:
        return {m: self.cleaned_data[share_field_name(m)] for m in MILESTONE_ORDER}


# Funding applications


YES_NO = [("yes", "Yes"), ("no", "No")]


class ApplicationForm(_Form):
    why = _text("Why does the project need funding?", max_length=2000, message="Say why the project needs funding.")
    amount_requested = MoneyField(label="Amount requested (£)", error_messages=_required("Enter the amount requested."))
    pays_for = _text(
        "What will it pay for?",
        max_length=1000,
        message="Say what the funding will pay for, for example staff time.",
        help_text="For example, staff time to run the change.",
    )
    needs_ongoing_resources = forms.TypedChoiceField(
        label="Will the change need ongoing resources after the project?",
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages=_required("Answer yes or no: will the change need ongoing resources after the project?"),
    )
    ongoing_resources_plan = _text(
        "What resources, and how will they be met?", max_length=1000, help_text="Only if it will."
    )

    @classmethod
    def initial_for(cls, project: Project) -> dict[str, Any]:
        """What the project said at the outset about ongoing resources."""
        return {
            "needs_ongoing_resources": "yes" if project.needs_ongoing_resources else "no",
            "ongoing_resources_plan": project.ongoing_resources,
        }

    def details(self) -> ApplicationDetails:
        data = self.cleaned_data
        return ApplicationDetails(
            why=data["why"],
            amount_requested=data["amount_requested"],
            pays_for=data["pays_for"],
            needs_ongoing_resources=data["needs_ongoing_resources"],
            ongoing_resources_plan=data["ongoing_resources_plan"],
        )


class ApproveApplicationForm(_Form):
    amount_approved = MoneyField(label="Amount approved (£)", error_messages=_required("Enter the amount approved."))
    decision_reason = _text("Reason (optional)", max_length=2000, help_text="The practice reads it.")
    above_tariff_justification = _text(
        "Why more than the tariff (only if it is)",
        max_length=2000,
        help_text="Needed when the amount is more than the tariff for a first project.",
    )


class RejectApplicationForm(_Form):
    decision_reason = _text(
        "Why is it rejected?",
        max_length=2000,
        message="Say why the application is rejected: the practice will read it.",
        help_text="The practice reads it.",
    )

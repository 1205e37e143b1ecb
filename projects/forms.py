"""Forms for the project pages: they check the shape of input; the services decide what the method allows.

Every text field carries its model's length limit as ``maxlength``, which ``static/js/counters.js``
turns into a counter beside the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from microsystems.forms import CrispyForm as _Form
from microsystems.forms import date_field as _date
from microsystems.forms import required as _required
from microsystems.models import User
from practices.models import Practice, PracticeMembership, ProgrammeRoleKind

from .models import PLANNED_WEEKS, ClinicalArea, MemberKind, ProcessSubtheme, Project, TeamMember, Typology
from .services import AimDetails, MemberDetails, Outcome, ProjectDetails

YES_NO = [("yes", "Yes"), ("no", "No")]


def _yes_no(label: str, help_text: str = "") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": f"Answer yes or no: {label[0].lower()}{label[1:].rstrip('?')}?"},
    )


class ProjectForm(_Form):
    title = forms.CharField(
        max_length=120,
        label="Project title",
        help_text="A short name the team will recognise, for example 'Test results handling'.",
        error_messages=_required("Give the project a title."),
    )
    scope = forms.CharField(
        max_length=1000,
        label="Scope",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What is in the project and what is not. Keep it small enough to finish in 13 weeks.",
        error_messages=_required("Describe the project's scope."),
    )
    starts_on = _date("Start date", error_messages=_required("Enter the start date."))
    planned_end_on = _date(
        "Planned end",
        required=False,
        help_text=f"Leave blank for {PLANNED_WEEKS} weeks after the start date.",
    )
    typology = forms.ChoiceField(
        label="Primary category",
        choices=[("", "Choose a category")] + Typology.choices,
        error_messages=_required("Choose the project's primary category."),
    )
    process_subtheme = forms.ChoiceField(
        label="Kind of process",
        choices=ProcessSubtheme.choices,
        required=False,
        help_text="Only for a process-driven project.",
    )
    secondary_typology = forms.ChoiceField(
        label="Overlapping category (optional)",
        choices=[("", "None")] + Typology.choices,
        required=False,
    )
    clinical_area = forms.ChoiceField(
        label="Clinical area (optional)",
        choices=ClinicalArea.choices,
        required=False,
        help_text="So a coach is never matched to a project in an area they commission.",
    )
    needs_ongoing_resources = _yes_no(
        "Will the change need ongoing resources after the project ends?",
        "For example, staff time, equipment or a subscription. The programme needs to know now.",
    )
    ongoing_resources = forms.CharField(
        max_length=1000,
        required=False,
        label="What resources, and how they will be met",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only if the answer above is yes.",
    )
    crosses_boundaries = _yes_no(
        "Does the project cross organisational boundaries?",
        "It involves another practice, district nursing, a care home or community services.",
    )
    other_organisations = forms.CharField(
        max_length=300, required=False, label="Other organisations involved", help_text="Only if it crosses boundaries."
    )
    senior_sponsor = forms.CharField(
        max_length=200,
        required=False,
        label="Senior sponsor",
        help_text="Someone senior in the other organisations. Needed before a cross-boundary project leaves Organise.",
    )

    @classmethod
    def initial_for(cls, project: Project) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(project, name) for name in cls.base_fields}
        for name in ("needs_ongoing_resources", "crosses_boundaries"):
            initial[name] = "yes" if initial[name] else "no"
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts_on, planned_end_on = data.get("starts_on"), data.get("planned_end_on")
        if starts_on and planned_end_on and planned_end_on <= starts_on:
            self.add_error("planned_end_on", "The planned end must be after the start date.")
        return data

    def details(self) -> ProjectDetails:
        data = self.cleaned_data
        return ProjectDetails(**{name: data[name] for name in ProjectDetails.__dataclass_fields__})


class NewProjectForm(ProjectForm):
    practice = forms.ModelChoiceField(
        queryset=Practice.objects.none(),
        to_field_name="ods_code",
        label="Practice",
        empty_label="Choose a practice",
        error_messages={"required": "Choose the practice.", "invalid_choice": "Choose a practice from the list."},
    )
    field_order = ["practice"]

    def __init__(self, *args: Any, practices: QuerySet[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = practices  # type: ignore[attr-defined]
        self.fields["starts_on"].initial = timezone.localdate()


def _coaches_of(project: Project) -> QuerySet[User]:
    return (
        User.objects.filter(
            programme_roles__commissioner_id=project.practice.commissioner_id,
            programme_roles__role=ProgrammeRoleKind.COACH,
        )
        .distinct()
        .order_by("full_name", "email")
    )


class CoachesForm(_Form):
    lead_coach = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="No lead coach", label="Lead coach"
    )
    co_coach = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="No co-coach",
        label="Co-coach",
        help_text="A coach on their first project needs a co-coach or mentor.",
    )
    over_capacity_reason = forms.CharField(
        max_length=500,
        required=False,
        label="Why go over the coach's limit",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only when a coach would hold more projects than their limit. It is kept with the change.",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        coaches = _coaches_of(project)
        for name in ("lead_coach", "co_coach"):
            self.fields[name].queryset = coaches  # type: ignore[attr-defined]
            self.fields[name].error_messages["invalid_choice"] = "Choose a coach from the list."


class StepForm(_Form):
    override_reason = forms.CharField(
        max_length=1000,
        required=False,
        label="Why move on before the step is done",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The reason is kept in the project's history with what was missing.",
    )

    def __init__(self, *args: Any, may_override: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]


class CompletionForm(_Form):
    """The outcome of a project as it leaves Treat, with one yes/no per specific aim."""

    completed_on = _date("Date of completion", error_messages=_required("Enter the date the project completed."))
    staff_benefits = forms.CharField(
        max_length=2000,
        label="Benefits for staff",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example, time saved, fewer interruptions, clearer roles.",
        error_messages=_required("Say what the project changed for staff."),
    )
    patient_benefits = forms.CharField(
        max_length=2000,
        label="Benefits for patients",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example, quicker results, fewer wasted journeys. No patient-identifiable details.",
        error_messages=_required("Say what the project changed for patients."),
    )
    confirm_not_patient_data = forms.BooleanField(
        required=False, label="I have checked: this text does not identify a patient"
    )
    override_reason = forms.CharField(
        max_length=1000,
        required=False,
        label="Why complete it before its cycles and measures are recorded",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The reason is kept in the project's history with what was missing.",
    )

    def __init__(self, *args: Any, aims: list[Any], may_override: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].initial = timezone.localdate()
        self.aims = aims
        for aim in aims:
            self.fields[f"aim_{aim.pk}"] = _yes_no(
                f"Was the aim met? {aim.measure}: from {aim.baseline} to {aim.target} by {aim.target_date:%-d %B %Y}"
            )
        if not may_override:
            del self.fields["override_reason"]

    def outcome(self) -> Outcome:
        data = self.cleaned_data
        return Outcome(
            completed_on=data["completed_on"],
            staff_benefits=data["staff_benefits"],
            patient_benefits=data["patient_benefits"],
            aims_met={aim.pk: data[f"aim_{aim.pk}"] for aim in self.aims},
        )


class WithdrawForm(_Form):
    on = _date("Date of withdrawal", error_messages=_required("Enter the date the project was withdrawn."))
    reason = forms.CharField(
        max_length=1000,
        label="Why was it withdrawn?",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example, staff turnover or other priorities. It helps the programme learn.",
        error_messages=_required("Say why the project was withdrawn."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


class AimForm(_Form):
    measure = forms.CharField(
        max_length=200,
        label="Measure",
        help_text="What you will count, for example 'results actioned within 2 working days'.",
        error_messages=_required("Say what you will measure."),
    )
    baseline = forms.CharField(
        max_length=60,
        label="Baseline",
        help_text="Where it is now, for example '62%'.",
        error_messages=_required("Give the baseline."),
    )
    target = forms.CharField(
        max_length=60,
        label="Target",
        help_text="Where you aim to get to, for example '90%'.",
        error_messages=_required("Give the target."),
    )
    target_date = _date("By", error_messages=_required("Enter the date to reach the target by."))

    def details(self) -> AimDetails:
        return AimDetails(**self.cleaned_data)


# The team


class MemberForm(_Form):
    """A team member's details; each kind of member has its own fields."""

    kind: str

    def __init__(self, *args: Any, project: Project, member: TeamMember | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def details(self) -> MemberDetails:
        return MemberDetails(kind=self.kind, **self.cleaned_data)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PracticeMembership) -> str:  # type: ignore[override]
        return f"{obj.user.get_full_name()} ({obj.get_role_display()})"


class StaffMemberForm(MemberForm):
    kind = MemberKind.STAFF
    user = StaffChoiceField(
        queryset=PracticeMembership.objects.none(),
        to_field_name="user_id",
        label="Member of staff",
        empty_label="Choose someone",
        error_messages={
            "required": "Choose someone on the practice's staff.",
            "invalid_choice": "Choose someone from the list.",
        },
    )
    team_role = forms.CharField(
        max_length=100,
        label="Role in the team",
        help_text="For example, 'lead GP for results' or 'reception lead'.",
        error_messages=_required("Give their role in the team."),
    )

    def __init__(self, *args: Any, project: Project, member: TeamMember | None = None, **kwargs: Any) -> None:
        super().__init__(*args, project=project, member=member, **kwargs)
        others = project.team.exclude(user=None)
        if member is not None:
            others = others.exclude(pk=member.pk)
        self.fields["user"].queryset = (  # type: ignore[attr-defined]
            PracticeMembership.objects.filter(practice_id=project.practice_id)
            .exclude(user_id__in=others.values("user_id"))
            .select_related("user")
            .order_by("user__full_name", "user__email")
        )
        if not self.fields["user"].queryset.exists():  # type: ignore[attr-defined]
            self.fields["user"].help_text = "Everyone on the practice's staff is already on the team."

    def details(self) -> MemberDetails:
        return MemberDetails(
            kind=self.kind, user=self.cleaned_data["user"].user, team_role=self.cleaned_data["team_role"]
        )


class PatientRepForm(MemberForm):
    kind = MemberKind.PATIENT
    name = forms.CharField(max_length=150, label="Name", error_messages=_required("Give their name."))
    contact = forms.CharField(
        max_length=200,
        error_messages=_required("Say how to contact them."),
        label="How to contact them",
        help_text="For example, through the patient participation group, or an e-mail address. Not an NHS number.",
    )
    team_role = forms.CharField(
        max_length=100,
        initial="Patient representative",
        label="Role in the team",
        error_messages=_required("Give their role in the team."),
    )
    consent_to_be_listed = forms.BooleanField(
        error_messages=_required("A patient representative is listed only with their consent."),
        label="They agree to be listed as a member of the team",
        help_text="Ask them first. A patient representative is listed only with their consent.",
    )


class PartnerForm(MemberForm):
    kind = MemberKind.PARTNER
    name = forms.CharField(max_length=150, label="Name", error_messages=_required("Give their name."))
    organisation = forms.CharField(
        max_length=200,
        label="Organisation",
        help_text="For example, Kent Community Health.",
        error_messages=_required("Give their organisation."),
    )
    team_role = forms.CharField(
        max_length=100,
        label="Role in the team",
        help_text="For example, 'district nurse'.",
        error_messages=_required("Give their role in the team."),
    )
    contact = forms.CharField(max_length=200, required=False, label="How to contact them (optional)")
    is_clinical = _yes_no("Are they clinical?", "Doctors, nurses, pharmacists and other health professionals are.")


MEMBER_FORMS: dict[str, type[MemberForm]] = {
    MemberKind.STAFF: StaffMemberForm,
    MemberKind.PATIENT: PatientRepForm,
    MemberKind.PARTNER: PartnerForm,
}


def member_form(kind: str, data: Any = None, *, project: Project, member: TeamMember | None = None) -> MemberForm:
    """The form for adding or changing a member of ``kind``, filled from ``member`` when changing one."""
    form_class = MEMBER_FORMS[kind]
    initial: dict[str, Any] = {}
    if member is not None:
        initial = {name: getattr(member, name) for name in form_class.base_fields if name != "user"}
        if "is_clinical" in initial:
            initial["is_clinical"] = "yes" if member.is_clinical else "no"
        if member.user_id:
            initial["user"] = member.user_id
    return form_class(data, initial=initial, project=project, member=member)


class NoPatientRepForm(_Form):
    reason = forms.CharField(
        max_length=1000,
        required=False,
        label="Why the team has no patient representative",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The method asks for patients from the outset. Leave blank once a representative joins.",
    )

"""Writes that change a project, its team, its step or its workbook: each in a transaction, each audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluation.followups import cancel_follow_ups, schedule_follow_ups
from microsystems.audit import audit
from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.models import PracticeMembership, StaffRole

from .models import (
    STEP_ORDER,
    ClinicalArea,
    MeetingRole,
    MemberKind,
    Milestone,
    ProcessSubtheme,
    Project,
    SpecificAim,
    Step,
    StepChange,
    TeamMember,
    Typology,
    WorkbookSection,
)
from .payments.milestones import milestone_reached
from .pii import patient_data_warnings, texts_in
from .workbook import FIVE_PS, SECTIONS, SECTIONS_BY_KEY, is_written
from .workbook_data import clean_section_data

CLINICAL_STAFF_ROLES = {StaffRole.GP, StaffRole.NURSE, StaffRole.HEALTHCARE_ASSISTANT}


class ProjectError(Exception):
    """A change the method's rules do not allow; the message says why, ``field`` says where."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SectionConflict(ProjectError):
    """Someone saved the section since this user loaded it: nothing was written."""

    def __init__(self, section: WorkbookSection) -> None:
        who = section.updated_by.get_full_name() if section.updated_by else "someone"
        super().__init__(f"{who} saved this section while you were editing it. Compare the two and merge.")
        self.section = section


class PossiblePatientData(ProjectError):
    """The text looks as if it identifies a patient: nothing was written until the user confirms."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__(" ".join(warnings) + " Remove it, or confirm it is not a patient's.")
        self.warnings = warnings


# Projects


@dataclass(frozen=True)
class ProjectDetails:
    title: str
    scope: str
    starts_on: date
    planned_end_on: date | None
    typology: str
    process_subtheme: str = ""
    secondary_typology: str = ""
    clinical_area: str = ""
    needs_ongoing_resources: bool = False
    ongoing_resources: str = ""
    crosses_boundaries: bool = False
    other_organisations: str = ""
    senior_sponsor: str = ""


def _check_details(details: ProjectDetails) -> ProjectDetails:
    if details.typology not in Typology.values:
        raise ProjectError("Choose the project's primary category.", field="typology")
    if details.typology == Typology.PROCESS_DRIVEN and not details.process_subtheme:
        raise ProjectError(
            "Choose the kind of process: administrative systems, patient flow or communication.",
            field="process_subtheme",
        )
    if details.typology != Typology.PROCESS_DRIVEN and details.process_subtheme:
        raise ProjectError("Only a process-driven project has a process sub-theme.", field="process_subtheme")
    if details.process_subtheme and details.process_subtheme not in ProcessSubtheme.values:
        raise ProjectError("Choose a sub-theme from the list.", field="process_subtheme")
    if details.clinical_area not in ClinicalArea.values:
        raise ProjectError("Choose a clinical area from the list.", field="clinical_area")
    if details.secondary_typology == details.typology:
        raise ProjectError("The overlapping category must differ from the primary one.", field="secondary_typology")
    if details.needs_ongoing_resources and not details.ongoing_resources.strip():
        raise ProjectError(
            "Say what ongoing resources the change will need and how they will be met.", field="ongoing_resources"
        )
    if details.crosses_boundaries and not details.other_organisations.strip():
        raise ProjectError("Name the other organisations involved.", field="other_organisations")
    end = details.planned_end_on or Project.default_end(details.starts_on)
    if end <= details.starts_on:
        raise ProjectError("The planned end must be after the start date.", field="planned_end_on")
    return ProjectDetails(**{**details.__dict__, "planned_end_on": end})


def create_project(*, practice: Any, details: ProjectDetails, by: User) -> Project:
    """Start a project at a practice, in Organise, with an empty workbook."""
    details = _check_details(details)
    with transaction.atomic():
        project = Project.objects.create(practice=practice, created_by=by, **details.__dict__)
        WorkbookSection.objects.bulk_create(
            [WorkbookSection(project=project, key=s.key, data=s.empty()) for s in SECTIONS]
        )
        audit(project, "project.created", by=by, summary=project.title)
    return project


def update_project(*, project: Project, details: ProjectDetails, by: User) -> Project:
    details = _check_details(details)
    if project.step != Step.ORGANISE and details.crosses_boundaries and not details.senior_sponsor.strip():
        raise ProjectError("A cross-boundary project past Organise needs a senior sponsor.", field="senior_sponsor")
    with transaction.atomic():
        for name, value in details.__dict__.items():
            setattr(project, name, value)
        project.save(update_fields=list(details.__dict__))
        audit(project, "project.updated", by=by, summary=project.title)
    return project


class CapacityToConfirm(ProjectError):
    """A coach would go over the projects they can hold: the lead must confirm with a reason."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons) + " Say why, to go ahead.", field="over_capacity_reason")
        self.reasons = reasons


def assign_coaches(
    *, project: Project, lead_coach: User | None, co_coach: User | None, by: User, over_capacity_reason: str = ""
) -> Project:
    """Set the project's coaches, within the coaching rules (``coaching.assignment``)."""
    from coaching.assignment import check_assignment  # coaching builds on projects: imported when used

    if co_coach is not None and lead_coach is None:
        raise ProjectError("Choose a lead coach before a co-coach.", field="lead_coach")
    if co_coach is not None and co_coach == lead_coach:
        raise ProjectError("The co-coach must be someone other than the lead coach.", field="co_coach")
    check = check_assignment(project=project, lead_coach=lead_coach, co_coach=co_coach, today=timezone.localdate())
    if check.errors:
        field, message = check.errors[0]
        raise ProjectError(message, field=field)
    if check.needs_confirmation and not over_capacity_reason.strip():
        raise CapacityToConfirm(check.needs_confirmation)
    with transaction.atomic():
        project.lead_coach, project.co_coach = lead_coach, co_coach
        project.save(update_fields=["lead_coach", "co_coach"])
        changes = {"over_capacity": check.needs_confirmation, "reason": over_capacity_reason.strip()}
        audit(
            project,
            "project.coaches_assigned",
            by=by,
            summary=", ".join(c.get_full_name() for c in project.coaches()) or "no coach",
            changes=changes if check.needs_confirmation else None,
        )
    return project


# Steps


def missing_to_leave(
    project: Project,
    *,
    team: Iterable[TeamMember] | None = None,
    sections: Iterable[WorkbookSection] | None = None,
    cycles: Iterable[Any] | None = None,
    measure_points: Iterable[int] | None = None,
) -> list[str]:
    """What the method asks for before the project leaves its current step, in plain words.

    A page that has already read the project's team, sections, cycles and its measures' point
    counts passes them, so the guards cost it no more queries.
    """
    if project.step == Step.ORGANISE:
        return _missing_in_organise(project, list(project.team.all() if team is None else team))
    if project.step == Step.ASSESS:
        done = {s.key for s in (project.sections.all() if sections is None else sections) if s.complete}
        return [f"Mark {SECTIONS_BY_KEY[key].title} complete." for key in FIVE_PS if key not in done]
    if project.step == Step.DIAGNOSE:
        data = dict(_THEME_AND_AIM(project.pk))
        missing = []
        if not is_written(data.get("theme", {}).get("theme", "")):
            missing.append("Write the theme.")
        aim = data.get("global_aim", {})
        if not all(is_written(aim.get(part, "")) for part in ("improve", "begins", "ends", "expect", "important")):
            missing.append("Write every part of the global aim.")
        return missing
    if project.step == Step.TREAT:
        return missing_to_complete(project, cycles=cycles, measure_points=measure_points)
    return []


_THEME_AND_AIM = CompiledQuery(
    lambda project_id: (
        WorkbookSection.objects.filter(project_id=project_id, key__in=["theme", "global_aim"])
        .order_by()
        .values_list("key", "data")
    )
)


def missing_to_complete(
    project: Project, *, cycles: Iterable[Any] | None = None, measure_points: Iterable[int] | None = None
) -> list[str]:
    """Treat → Follow-up: the team has learnt from a cycle and has data to show for it."""
    missing = []
    if cycles is not None:
        learnt = any(c.results.strip() and c.decision for c in cycles)
    else:
        learnt = project.cycles.exclude(results="").exclude(decision="").exists()
    if not learnt:
        missing.append("Study at least one PDSA cycle and record what the team decided (adopt, adapt or abandon).")
    if measure_points is not None:
        measured = any(points for points in measure_points)
    else:
        measured = project.measures.filter(values__isnull=False).exists()
    if not measured:
        missing.append("Enter data for at least one measure.")
    return missing


def _missing_in_organise(project: Project, team: list[TeamMember]) -> list[str]:
    missing = []
    if not any(m.is_champion for m in team):
        missing.append("Name a champion.")
    if len(team) < 3:
        missing.append(f"Build a team of at least three (it has {len(team)}).")
    if not any(m.is_clinical for m in team) or not any(not m.is_clinical for m in team):
        missing.append("Include both clinical and non-clinical members.")
    if not any(m.kind == MemberKind.PATIENT for m in team) and not project.no_patient_rep_reason.strip():
        missing.append("Add a patient representative, or record why the team has none.")
    if project.crosses_boundaries and not project.senior_sponsor.strip():
        missing.append("Name a senior sponsor: the project crosses organisational boundaries.")
    if not has_agreement(project):
        missing.append("Record the signed coaching agreement between the practice and its coach.")
    return missing


def has_agreement(project: Project) -> bool:
    """Whether the project's coaching agreement is recorded (free when ``agreement`` was select_related)."""
    try:
        project.agreement  # noqa: B018  (a reverse one-to-one: raises when there is none)
    except ObjectDoesNotExist:
        return False
    return True


def move_to_next_step(*, project: Project, by: User, override_reason: str = "", may_override: bool = False) -> Project:
    """Move the project on one step; a guard that is not met stops it unless the lead overrides with a reason."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        target = locked.next_step
        if target is None or locked.step == Step.WITHDRAWN:
            raise ProjectError(f"A {locked.get_step_display().lower()} project has no next step.")
        if locked.step == Step.TREAT:
            raise ProjectError("A project leaves Treat by completing it: record its outcome.")
        unmet = missing_to_leave(locked)
        if unmet and not override_reason.strip():
            raise ProjectError("Before moving on: " + " ".join(unmet), field="override_reason")
        if unmet and not may_override:
            raise ProjectError(
                "Only the programme lead can move a project on before its step is done.", field="override_reason"
            )
        _record_step(locked, target, by=by, override_reason=override_reason.strip() if unmet else "", unmet=unmet)
    project.refresh_from_db()
    return project


@dataclass(frozen=True)
class Outcome:
    """What a completed project achieved: its benefits and whether each specific aim was met."""

    completed_on: date
    staff_benefits: str
    patient_benefits: str
    aims_met: dict[int, bool]


def complete_project(
    *,
    project: Project,
    outcome: Outcome,
    by: User,
    override_reason: str = "",
    may_override: bool = False,
    confirmed_not_patient_data: bool = False,
) -> Project:
    """Treat → Follow-up: record the outcome; the guard may be overridden only by the lead, with a reason."""
    if outcome.completed_on > timezone.localdate():
        raise ProjectError("The completion date cannot be in the future.", field="completed_on")
    if outcome.completed_on < project.starts_on:
        raise ProjectError("The project cannot complete before it started.", field="completed_on")
    for field, text in (("staff_benefits", outcome.staff_benefits), ("patient_benefits", outcome.patient_benefits)):
        if not text.strip():
            who = "staff" if field == "staff_benefits" else "patients"
            raise ProjectError(f'Say what the project changed for {who}, even if it is "nothing yet".', field=field)
    aims = {aim.pk: aim for aim in project.specific_aims.all()}
    if unjudged := [aims[pk] for pk in aims if pk not in outcome.aims_met]:
        raise ProjectError(f'Say whether the aim "{unjudged[0].measure}" was met.', field=f"aim_{unjudged[0].pk}")
    if not confirmed_not_patient_data:
        texts = [outcome.staff_benefits, outcome.patient_benefits]
        if warnings := sorted({w for text in texts for w in patient_data_warnings(text)}):
            raise PossiblePatientData(warnings)
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if locked.step != Step.TREAT:
            raise ProjectError(f"Only a project in Treat can complete; this one is in {locked.get_step_display()}.")
        unmet = missing_to_complete(locked)
        if unmet and not override_reason.strip():
            raise ProjectError("Before it completes: " + " ".join(unmet), field="override_reason")
        if unmet and not may_override:
            raise ProjectError(
                "Only the programme lead can complete a project before its cycles and measures are recorded.",
                field="override_reason",
            )
        locked.completed_on = outcome.completed_on
        locked.staff_benefits = outcome.staff_benefits.strip()
        locked.patient_benefits = outcome.patient_benefits.strip()
        locked.save(update_fields=["completed_on", "staff_benefits", "patient_benefits"])
        for pk, aim in aims.items():
            aim.met = outcome.aims_met[pk]
            aim._history_user = by  # type: ignore[attr-defined]
            aim.save(update_fields=["met"])
        reason = override_reason.strip() if unmet else ""
        _record_step(locked, Step.FOLLOW_UP, by=by, override_reason=reason, unmet=unmet)
        milestone_reached(project=locked, milestone=Milestone.COMPLETION, on=outcome.completed_on, by=by)
        schedule_follow_ups(locked)
        audit(
            locked,
            "project.completed",
            by=by,
            summary=f"completed on {outcome.completed_on:%d/%m/%Y}",
            changes={"aims_met": {str(pk): met for pk, met in outcome.aims_met.items()}},
        )
    project.refresh_from_db()
    return project


def withdraw_project(*, project: Project, on: date, reason: str, by: User) -> Project:
    if not reason.strip():
        raise ProjectError("Say why the project was withdrawn.", field="reason")
    if on > timezone.localdate():
        raise ProjectError("The date cannot be in the future.", field="on")
    if on < project.starts_on:
        raise ProjectError("The project cannot be withdrawn before it started.", field="on")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if not locked.is_active:
            raise ProjectError(f"The project is already {locked.get_step_display().lower()}.")
        locked.withdrawn_on, locked.withdrawal_reason = on, reason.strip()
        locked.save(update_fields=["withdrawn_on", "withdrawal_reason"])
        _record_step(locked, Step.WITHDRAWN, by=by, override_reason="", unmet=[])
        cancel_follow_ups(locked)  # a project withdrawn in Follow-up has no reviews left to hold
    project.refresh_from_db()
    return project


def close_project(*, project: Project, by: User) -> Project:
    """Follow-up → Completed: the 12-month review has been held (``evaluation.services.record_review``)."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if locked.step != Step.FOLLOW_UP:
            step = locked.get_step_display().lower()
            raise ProjectError(f"Only a project in Follow-up can close; this one is {step}.")
        _record_step(locked, Step.COMPLETED, by=by, override_reason="", unmet=[])
    project.refresh_from_db()
    return project


def _record_step(project: Project, target: str, *, by: User, override_reason: str, unmet: list[str]) -> None:
    StepChange.objects.create(
        project=project,
        changed_by=by,
        from_step=project.step,
        to_step=target,
        override_reason=override_reason,
        unmet=unmet,
    )
    audit(
        project,
        "project.step_changed",
        by=by,
        summary=f"{project.step} → {target}",
        changes={"step": [project.step, target], "override_reason": override_reason, "unmet": unmet},
    )
    project.step, project.step_changed_at = target, timezone.now()
    project.save(update_fields=["step", "step_changed_at"])


# The team


@dataclass(frozen=True)
class MemberDetails:
    kind: str
    team_role: str
    user: User | None = None
    name: str = ""
    contact: str = ""
    consent_to_be_listed: bool = False
    organisation: str = ""
    is_clinical: bool = False


def _check_member(project: Project, details: MemberDetails) -> dict[str, Any]:
    if not details.team_role.strip():
        raise ProjectError("Give their role in the team.", field="team_role")
    if details.kind == MemberKind.STAFF:
        membership = PracticeMembership.objects.filter(user=details.user, practice=project.practice).first()
        if details.user is None or membership is None:
            raise ProjectError("Choose someone on the practice's staff.", field="user")
        return {
            "kind": details.kind,
            "user": details.user,
            "team_role": details.team_role.strip(),
            "name": "",
            "contact": "",
            "organisation": "",
            "is_clinical": membership.role in CLINICAL_STAFF_ROLES,
        }
    if not details.name.strip():
        raise ProjectError("Give their name.", field="name")
    if details.kind == MemberKind.PATIENT:
        if not details.contact.strip():
            raise ProjectError("Say how to contact them.", field="contact")
        if not details.consent_to_be_listed:
            raise ProjectError(
                "A patient representative is listed only with their consent.", field="consent_to_be_listed"
            )
        return {
            "kind": details.kind,
            "user": None,
            "name": details.name.strip(),
            "contact": details.contact.strip(),
            "consent_to_be_listed": True,
            "team_role": details.team_role.strip(),
            "organisation": "",
            "is_clinical": False,
        }
    if details.kind == MemberKind.PARTNER:
        if not details.organisation.strip():
            raise ProjectError("Give their organisation.", field="organisation")
        return {
            "kind": details.kind,
            "user": None,
            "name": details.name.strip(),
            "contact": details.contact.strip(),
            "organisation": details.organisation.strip(),
            "team_role": details.team_role.strip(),
            "is_clinical": details.is_clinical,
        }
    raise ProjectError("Choose who they are: staff, patient representative or partner.", field="kind")


def add_team_member(*, project: Project, details: MemberDetails, by: User) -> TeamMember:
    values = _check_member(project, details)
    if values["user"] is not None and project.team.filter(user=values["user"]).exists():
        raise ProjectError("They are already on the team.", field="user")
    with transaction.atomic():
        member = TeamMember(project=project, **values)
        member._history_user = by  # type: ignore[attr-defined]
        member.save()
        audit(project, "project.team_member_added", by=by, summary=member.display_name)
    return member


def update_team_member(*, member: TeamMember, details: MemberDetails, by: User) -> TeamMember:
    values = _check_member(member.project, details)
    if values["user"] is not None and member.project.team.filter(user=values["user"]).exclude(pk=member.pk).exists():
        raise ProjectError("They are already on the team.", field="user")
    with transaction.atomic():
        for name, value in values.items():
            setattr(member, name, value)
        member._history_user = by  # type: ignore[attr-defined]
        member.save()
        audit(member.project, "project.team_member_updated", by=by, summary=member.display_name)
    return member


def remove_team_member(*, member: TeamMember, by: User) -> None:
    project = member.project
    if member.is_champion and project.step != Step.ORGANISE:
        raise ProjectError("Name another champion before removing this one: the project is past Organise.")
    with transaction.atomic():
        member._history_user = by  # type: ignore[attr-defined]
        member.delete()
        audit(project, "project.team_member_removed", by=by, summary=member.display_name)


def make_champion(*, member: TeamMember, by: User) -> TeamMember:
    """Make this member the project's one champion (the previous champion steps down)."""
    with transaction.atomic():
        for previous in TeamMember.objects.select_for_update().filter(project=member.project, is_champion=True):
            if previous.pk != member.pk:
                previous.is_champion = False
                previous._history_user = by  # type: ignore[attr-defined]
                previous.save(update_fields=["is_champion"])
        member.is_champion = True
        member._history_user = by  # type: ignore[attr-defined]
        try:
            member.save(update_fields=["is_champion"])
        except IntegrityError:
            raise ProjectError("Someone else named a champion at the same moment. Try again.") from None
        audit(member.project, "project.champion_named", by=by, summary=member.display_name)
    return member


def assign_meeting_role(*, member: TeamMember, role: str, by: User) -> TeamMember:
    """Give a member a meeting role; whoever held it hands it over (roles rotate)."""
    if role not in MeetingRole.values:
        raise ProjectError("Choose a meeting role from the list.", field="meeting_role")
    with transaction.atomic():
        if role:
            for holder in TeamMember.objects.select_for_update().filter(project=member.project, meeting_role=role):
                if holder.pk != member.pk:
                    holder.meeting_role = ""
                    holder._history_user = by  # type: ignore[attr-defined]
                    holder.save(update_fields=["meeting_role"])
        member.meeting_role = role
        member._history_user = by  # type: ignore[attr-defined]
        member.save(update_fields=["meeting_role"])
        audit(
            member.project,
            "project.meeting_role_assigned",
            by=by,
            summary=f"{member.display_name}: {MeetingRole(role).label}",
        )
    return member


def record_no_patient_rep(*, project: Project, reason: str, by: User) -> Project:
    with transaction.atomic():
        project.no_patient_rep_reason = reason.strip()
        project.save(update_fields=["no_patient_rep_reason"])
        audit(project, "project.no_patient_rep_reason", by=by)
    return project


# The workbook


def save_section(
    *,
    section: WorkbookSection,
    data: dict[str, Any],
    base_version: int,
    by: User,
    complete: bool | None = None,
    confirmed_not_patient_data: bool = False,
) -> WorkbookSection:
    """Save a section if nobody saved it since ``base_version``; otherwise raise ``SectionConflict``."""
    definition = SECTIONS_BY_KEY[section.key]
    cleaned = clean_section_data(definition, data)  # raises ProjectError for bad input
    if not confirmed_not_patient_data:
        warnings = sorted({w for text in texts_in(cleaned) for w in patient_data_warnings(text)})
        if warnings:
            raise PossiblePatientData(warnings)
    with transaction.atomic():
        current = (
            WorkbookSection.objects.select_for_update(of=("self",)).select_related("updated_by").get(pk=section.pk)
        )
        if current.version != base_version:
            raise SectionConflict(current)
        current.data = cleaned
        if complete is not None:
            current.complete = complete
        current.version += 1
        current.updated_at, current.updated_by = timezone.now(), by
        current._history_user = by  # type: ignore[attr-defined]
        current.save()
    return current


def restore_section(*, section: WorkbookSection, history_id: int, by: User) -> WorkbookSection:
    """Bring back an earlier version as a new version (the history keeps everything)."""
    try:
        earlier = section.history.get(history_id=history_id)  # type: ignore[attr-defined]
    except section.history.model.DoesNotExist:  # type: ignore[attr-defined]
        raise ProjectError("That version does not exist.") from None
    restored = save_section(
        section=section,
        data=earlier.data,
        base_version=section.version,
        by=by,
        complete=earlier.complete,
        confirmed_not_patient_data=True,
    )
    audit(section.project, "project.section_restored", by=by, summary=f"{section.key} v{earlier.version}")
    return restored


# Specific aims


@dataclass(frozen=True)
class AimDetails:
    measure: str
    baseline: str
    target: str
    target_date: date


def _check_aim(project: Project, details: AimDetails) -> None:
    if not details.measure.strip():
        raise ProjectError("Say what you will measure.", field="measure")
    if details.baseline.strip().lower() == details.target.strip().lower():
        raise ProjectError("The target must differ from the baseline.", field="target")
    if details.target_date <= project.starts_on:
        raise ProjectError("The target date must be after the project's start.", field="target_date")


def add_specific_aim(*, project: Project, details: AimDetails, by: User) -> SpecificAim:
    _check_aim(project, details)
    with transaction.atomic():
        aim = SpecificAim(project=project, **details.__dict__)
        aim._history_user = by  # type: ignore[attr-defined]
        aim.save()
        audit(project, "project.specific_aim_added", by=by, summary=aim.measure)
    return aim


def update_specific_aim(*, aim: SpecificAim, details: AimDetails, by: User) -> SpecificAim:
    _check_aim(aim.project, details)
    with transaction.atomic():
        for name, value in details.__dict__.items():
            setattr(aim, name, value)
        aim._history_user = by  # type: ignore[attr-defined]
        aim.save()
        audit(aim.project, "project.specific_aim_updated", by=by, summary=aim.measure)
    return aim


def remove_specific_aim(*, aim: SpecificAim, by: User) -> None:
    with transaction.atomic():
        aim._history_user = by  # type: ignore[attr-defined]
        aim.delete()
        audit(aim.project, "project.specific_aim_removed", by=by, summary=aim.measure)


def step_progress(project: Project) -> list[dict[str, Any]]:
    """Each step of the method with whether the project has passed it, is in it, or has it ahead."""
    index = project.step_index
    return [
        {
            "step": s,
            "label": Step(s).label,
            "state": "done" if index >= 0 and i < index else "current" if i == index else "ahead",
        }
        for i, s in enumerate(STEP_ORDER)
    ]

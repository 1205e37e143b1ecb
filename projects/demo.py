"""Demo projects for the demo practices: every step of the method, spread over the typology.

The West Kent evaluation found most projects process-driven (administrative systems,
patient flow, communication), fewer about health outputs (often QOF) or patient-centred
care; the demo follows that mix. Each project is built through the services, so it
passes the same rules as one built by hand: a team with a champion and a patient
representative, the workbook filled for the steps it has passed, specific aims once in
Treat, and the demo coaches as lead coach. Safe to run again: a project is found by its
practice and title and never built twice.

From Treat on, a project has change ideas, a ramp of PDSA cycles and measures with weekly
data (``projects.demo_improvement``); a project past Treat was completed with its outcome.
One thing the services cannot do is done directly: the history is spread over the weeks
since the project started (the services stamp everything "now").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from microsystems.models import User
from practices.models import Practice, PracticeMembership, ProgrammeRole, ProgrammeRoleKind, StaffRole

from .demo_improvement import seed_improvement
from .models import (
    STEP_ORDER,
    MeetingRole,
    MemberKind,
    ProcessSubtheme,
    Project,
    SpecificAim,
    Step,
    StepChange,
    TeamMember,
    Typology,
)
from .services import (
    AimDetails,
    MemberDetails,
    Outcome,
    ProjectDetails,
    add_specific_aim,
    add_team_member,
    assign_coaches,
    assign_meeting_role,
    complete_project,
    create_project,
    make_champion,
    move_to_next_step,
    save_section,
    withdraw_project,
)
from .workbook import DEFAULT_FISHBONE_CATEGORIES, FIVE_PS, SECTIONS_BY_KEY, sections_for

DEMO_PRACTICES_PER_COMMISSIONER = 6
# When, in weeks after the start, a demo project moved into each step.
WEEKS_TO_REACH = {Step.ASSESS: 2, Step.DIAGNOSE: 5, Step.TREAT: 8, Step.FOLLOW_UP: 13}
PATIENT_REPS = [
    "Margaret Hill", "Derek Osei", "Janet Cole", "Brian Fox", "Eileen Ward", "Rashid Ali",
    "Patricia Lamb", "Graham Stone", "Ruth Adeyemi", "Colin Marsh", "Sheila Grant", "Imran Qureshi",
]  # fmt: skip
TEAM_ROLES = {
    StaffRole.PRACTICE_MANAGER: "Practice manager",
    StaffRole.GP: "GP partner",
    StaffRole.NURSE: "Practice nurse",
    StaffRole.RECEPTIONIST: "Reception team lead",
}


@dataclass(frozen=True)
class Topic:
    """What a demo project is about, and what its team wrote in the workbook."""

    title: str
    typology: str
    scope: str
    process_map: tuple[tuple[str, str], ...]
    failures: str
    weaknesses: str
    problem: str
    causes: dict[str, tuple[str, ...]]
    theme: str
    aim: tuple[str, str, str, str, str]  # improve, begins, ends, expect, important
    specific_aims: tuple[tuple[str, str, str], ...]  # measure, baseline, target
    subtheme: str = ""
    secondary: str = ""
    ongoing_resources: str = ""
    other_organisations: str = ""
    senior_sponsor: str = ""
    champion: str = StaffRole.PRACTICE_MANAGER


PROCESS, HEALTH, PATIENT = Typology.PROCESS_DRIVEN, Typology.HEALTH_OUTPUTS, Typology.PATIENT_CENTRED

TOPICS: dict[str, Topic] = {
    "results": Topic(
        title="Test results handling",
        typology=PROCESS,
        subtheme=ProcessSubtheme.ADMINISTRATIVE,
        scope="Blood and urine results from the laboratory, from arrival to the patient knowing the outcome.",
        process_map=(
            ("Result arrives in the clinical system", "Laboratory"),
            ("Result filed to the requesting GP", "Administrator"),
            ("GP reviews and sets an action", "GP"),
            ("Patient told the outcome", "Receptionist"),
        ),
        failures="Results waiting over a week when the requesting GP is away.",
        weaknesses="Results handling depends on one GP being in; no cover when they are away.",
        problem="Test results wait more than 5 days for action",
        causes={
            "People": ("Part-time GPs",),
            "Processes": ("No buddy system for absence", "Normal results filed the same way as abnormal ones"),
            "Equipment and IT": ("Workflow not shared",),
            "Communication": ("Patients not told when to ring",),
        },
        theme="Test results handling",
        aim=(
            "the handling of test results",
            "a result arriving in the clinical system",
            "the patient knowing what happens next",
            "no result to wait more than 2 working days for action",
            "patients ring to chase results and two were missed last year",
        ),
        specific_aims=(
            ("Results waiting more than 2 working days for action", "18%", "0%"),
            ("Calls from patients chasing a result, a week", "25", "5"),
        ),
        champion=StaffRole.RECEPTIONIST,
    ),
    "morning_flow": Topic(
        title="Patient flow in the morning",
        typology=PROCESS,
        subtheme=ProcessSubtheme.PATIENT_FLOW,
        scope="Patients arriving for appointments between 8am and 11am, from the front door to leaving the room.",
        process_map=(
            ("Patient arrives and checks in", "Receptionist"),
            ("Patient waits in the waiting room", "Patient"),
            ("Clinician calls the patient in", "GP or nurse"),
            ("Follow-up booked at the desk", "Receptionist"),
        ),
        failures="Clinics run 30 minutes late by 10am; the queue at the desk reaches the door.",
        weaknesses="Everyone is booked to start at 8.30am, and check-in and booking share one desk.",
        problem="Patients wait over 20 minutes past their appointment time in the morning",
        causes={
            "People": ("Two receptionists on the desk until 9am",),
            "Processes": ("Follow-ups booked at the desk at peak time", "First appointments all at 8.30am"),
            "Equipment and IT": ("Check-in screen often out of order",),
            "Environment": ("One queue for everything",),
        },
        theme="Morning patient flow",
        aim=(
            "the flow of patients through morning surgery",
            "a patient arriving at the front door",
            "the patient leaving with their next step booked",
            "morning clinics to run no more than 10 minutes late",
            "complaints about waiting doubled this year and reception staff are under strain",
        ),
        specific_aims=(
            ("Median wait past appointment time, 8am to 11am", "22 minutes", "10 minutes"),
            ("Patients queuing at the desk at 8.45am", "14", "5"),
        ),
    ),
    "prescribing": Topic(
        title="Repeat prescribing",
        typology=PROCESS,
        subtheme=ProcessSubtheme.ADMINISTRATIVE,
        scope="Requests for repeat medicines, from the request arriving to the prescription reaching the pharmacy.",
        process_map=(
            ("Request arrives online, by phone or on paper", "Patient"),
            ("Request checked against the repeat list", "Prescription clerk"),
            ("Prescription signed", "GP"),
            ("Prescription sent to the pharmacy", "Prescription clerk"),
        ),
        failures="Requests lost when they come in on paper; medication reviews overdue for a third of patients.",
        weaknesses="Three ways in for requests, each handled differently; reviews not linked to requests.",
        problem="Repeat prescriptions take more than 3 working days",
        causes={
            "People": ("One prescription clerk, part time",),
            "Processes": ("Paper requests batched weekly", "Review dates not checked at request"),
            "Equipment and IT": ("Electronic requests go to a shared inbox",),
            "Communication": ("Pharmacy not told when a request is queried",),
        },
        theme="Repeat prescribing turnaround",
        aim=(
            "how we handle repeat prescription requests",
            "a patient asking for a repeat medicine",
            "the prescription reaching their pharmacy",
            "every request to be ready within 2 working days",
            "patients run out of medicines and ring the surgery to chase",
        ),
        specific_aims=(
            ("Requests ready within 2 working days", "61%", "95%"),
            ("Patients overdue a medication review", "33%", "15%"),
        ),
    ),
    "navigation": Topic(
        title="Care navigation at reception",
        typology=PROCESS,
        subtheme=ProcessSubtheme.COMMUNICATION,
        scope="Calls and visits to reception asking for an appointment, from the first contact to the right service.",
        process_map=(
            ("Patient rings or comes to the desk", "Patient"),
            ("Receptionist asks what the problem is about", "Receptionist"),
            ("Patient directed to the right service", "Receptionist"),
            ("Service sees the patient", "Pharmacist, physio or GP"),
        ),
        failures="Patients booked with a GP for problems the community pharmacy or physio could see sooner.",
        weaknesses="Receptionists unsure which services exist; no shared list of where to send people.",
        problem="A fifth of GP appointments could have been seen elsewhere",
        causes={
            "People": ("New receptionists not trained in care navigation",),
            "Processes": ("No agreed script at the desk",),
            "Communication": ("Patients expect to see a GP", "Services change and nobody tells reception"),
        },
        theme="Care navigation",
        aim=(
            "how reception directs patients to the right service",
            "a patient asking for an appointment",
            "the patient seen by the right person",
            "fewer GP appointments used for problems another service sees sooner",
            "GP appointments are the scarcest thing the practice has",
        ),
        specific_aims=(
            ("GP appointments that could have been seen elsewhere", "21%", "10%"),
            ("Receptionists trained in care navigation", "2 of 7", "7 of 7"),
        ),
        champion=StaffRole.RECEPTIONIST,
    ),
    "letters": Topic(
        title="Incoming hospital letters",
        typology=PROCESS,
        subtheme=ProcessSubtheme.ADMINISTRATIVE,
        scope="Letters from hospitals and clinics, from arrival to any action being done.",
        process_map=(
            ("Letter arrives by post or electronically", "Administrator"),
            ("Letter coded and filed", "Administrator"),
            ("GP reads letters with actions", "GP"),
            ("Action done", "Reception or nurse"),
        ),
        failures="A backlog of two weeks of letters after the summer holidays.",
        weaknesses="All letters go to GPs, even those with no action for the practice.",
        problem="Letters wait more than a week to be read",
        causes={"Processes": ("Every letter goes to a GP",), "People": ("One trained document administrator",)},
        theme="Document workflow",
        aim=(
            "how we handle incoming letters",
            "a letter arriving",
            "any action it asks for being done",
            "GPs to see only letters that need them",
            "the backlog delays actions hospitals ask us to take",
        ),
        specific_aims=(("Letters waiting more than 5 working days", "240", "20"),),
    ),
    "home_visits": Topic(
        title="Home visit requests",
        typology=PROCESS,
        subtheme=ProcessSubtheme.PATIENT_FLOW,
        scope="Requests for a home visit, from the call to the visit or another answer.",
        process_map=(
            ("Patient or carer rings for a visit", "Receptionist"),
            ("Request added to the visit list", "Receptionist"),
            ("GP triages the list at 11am", "GP"),
            ("Visit done or other help arranged", "GP or paramedic"),
        ),
        failures="Visits requested after 11am wait until the next day.",
        weaknesses="Triage happens once a day; no paramedic visits in the morning.",
        problem="Urgent home visits are done after 3pm",
        causes={
            "Processes": ("Triage only at 11am",),
            "People": ("The visiting paramedic shared with three practices",),
            "Communication": ("Requests do not say how urgent they are",),
        },
        theme="Home visit triage",
        aim=(
            "how we handle home visit requests",
            "a call asking for a visit",
            "the patient visited or helped another way",
            "urgent visits done before 1pm",
            "late visits have led to avoidable admissions",
        ),
        specific_aims=(
            ("Urgent visits done before 1pm", "35%", "80%"),
            ("Visit requests triaged within an hour", "20%", "90%"),
        ),
    ),
    "messages": Topic(
        title="Messages between reception and clinicians",
        typology=PROCESS,
        subtheme=ProcessSubtheme.COMMUNICATION,
        scope="Messages reception passes to GPs and nurses during the day, from taking one to an answer.",
        process_map=(
            ("Receptionist takes a message", "Receptionist"),
            ("Message sent as a task", "Receptionist"),
            ("Clinician reads and answers", "GP or nurse"),
        ),
        failures="Tasks unanswered at the end of the day; patients ringing back for the same thing.",
        weaknesses="Tasks are used for everything, so urgent ones get lost.",
        problem="Messages to clinicians are not answered the same day",
        causes={
            "Processes": ("No way to mark a task urgent",),
            "Communication": ("Patients not told when to expect an answer",),
        },
        theme="Same-day messages",
        aim=(
            "how messages pass between reception and clinicians",
            "a patient leaving a message",
            "the patient getting an answer",
            "every message answered the same day",
            "repeat calls block the phone lines",
        ),
        specific_aims=(("Messages answered the same day", "64%", "95%"),),
    ),
    "phones": Topic(
        title="Telephone access at 8am",
        typology=PROCESS,
        subtheme=ProcessSubtheme.PATIENT_FLOW,
        scope="Calls to the practice between 8am and 10am, from dialling to the call ending with a plan.",
        process_map=(
            ("Patient rings at 8am", "Patient"),
            ("Call queued", "Telephone system"),
            ("Receptionist answers and books or signposts", "Receptionist"),
        ),
        failures="A third of calls abandoned in the queue before 8.30am.",
        weaknesses="Everyone rings at 8am for same-day appointments; routine calls add to the queue.",
        problem="Patients cannot get through on the phone in the morning",
        causes={
            "Processes": ("Same-day appointments released only at 8am",),
            "People": ("Three phone lines staffed at the peak",),
            "Equipment and IT": ("No call-back option",),
        },
        theme="Morning telephone access",
        aim=(
            "telephone access in the morning",
            "a patient ringing at 8am",
            "the call ending with a plan",
            "fewer calls abandoned and shorter waits",
            "getting through on the phone is our patients' main complaint",
        ),
        specific_aims=(("Calls abandoned between 8am and 10am", "31%", "10%"),),
    ),
    "diabetes": Topic(
        title="Diabetes annual reviews",
        typology=HEALTH,
        secondary=PROCESS,
        scope="Adults with type 2 diabetes due an annual review this year, from invitation to review completed.",
        process_map=(
            ("Patient due a review identified", "Administrator"),
            ("Invitation sent", "Administrator"),
            ("Bloods taken", "Healthcare assistant"),
            ("Review with the nurse", "Practice nurse"),
        ),
        failures="Invitations sent in a rush in February and March; bloods and reviews booked separately.",
        weaknesses="Reviews cluster at the end of the QOF year; no one owns the recall list.",
        problem="Only 58% of people with diabetes have all their care processes done",
        causes={
            "People": ("One diabetes nurse, two days a week",),
            "Processes": ("Recall run once a year", "Bloods and review booked separately"),
            "Communication": ("Invitations by letter only",),
        },
        theme="Diabetes annual reviews",
        aim=(
            "the annual review of people with type 2 diabetes",
            "a patient's birth month coming round",
            "their review done with all care processes recorded",
            "reviews spread through the year and more of them complete",
            "our results are below the PCN average and complications are rising",
        ),
        specific_aims=(
            ("People with diabetes with all 8 care processes", "58%", "75%"),
            ("Reviews done in the patient's birth month", "12%", "60%"),
        ),
        champion=StaffRole.NURSE,
    ),
    "ld_checks": Topic(
        title="Learning disability annual health checks",
        typology=HEALTH,
        scope="Adults on the learning disability register, from invitation to a completed health check and plan.",
        process_map=(
            ("Register checked", "Administrator"),
            ("Easy-read invitation sent", "Administrator"),
            ("Longer appointment booked with the nurse and GP", "Receptionist"),
            ("Health action plan shared", "GP"),
        ),
        failures="Patients did not attend and were not followed up; the register was out of date.",
        weaknesses="Invitations were not easy to read; appointments too short.",
        problem="Fewer than half the people on the register had a health check",
        causes={
            "Processes": ("Register not updated", "No follow-up after a missed appointment"),
            "Communication": ("Standard letters, not easy-read",),
            "Environment": ("Busy waiting room at peak times",),
        },
        theme="Learning disability health checks",
        aim=(
            "annual health checks for people with a learning disability",
            "the register being checked",
            "a health action plan shared with the patient and carers",
            "three-quarters of the register checked each year",
            "people with a learning disability die younger from treatable conditions",
        ),
        specific_aims=(("Health checks done, as a share of the register", "44%", "75%"),),
        champion=StaffRole.NURSE,
    ),
    "bp_checks": Topic(
        title="Blood pressure checks for people with hypertension",
        typology=HEALTH,
        secondary=PROCESS,
        scope="Adults with hypertension, from recall to a recorded blood pressure in the last year.",
        process_map=(
            ("Patient due a check identified", "Administrator"),
            ("Home reading requested or appointment booked", "Receptionist"),
            ("Reading recorded", "Healthcare assistant"),
        ),
        failures="Home readings sent by email not recorded in the notes.",
        weaknesses="No way to take home readings into the record quickly.",
        problem="A third of people with hypertension have no reading in the last year",
        causes={"Processes": ("Home readings not coded",), "Equipment and IT": ("No online form for readings",)},
        theme="Hypertension recall",
        aim=(
            "blood pressure monitoring for people with hypertension",
            "a patient becoming due a check",
            "their reading recorded in the notes",
            "every patient with a reading in the last year",
            "uncontrolled blood pressure leads to strokes we could prevent",
        ),
        specific_aims=(("People with hypertension with a reading in the last 12 months", "67%", "85%"),),
        champion=StaffRole.NURSE,
    ),
    "weight": Topic(
        title="Weight-management clinic",
        typology=PATIENT,
        secondary=HEALTH,
        scope="Adults with a BMI over 30 who want help, from referral to six months in a group clinic.",
        process_map=(
            ("Patient offered a place", "GP or nurse"),
            ("First group session", "Healthcare assistant"),
            ("Monthly weigh-in and goals", "Healthcare assistant"),
            ("Review at six months", "Practice nurse"),
        ),
        failures="Patients referred to the council service waited four months and most did not start.",
        weaknesses="Nothing local for patients who want help now; the council service is far away.",
        problem="Patients who want help with their weight have nowhere local to go",
        causes={
            "Processes": ("Referral to a distant service only",),
            "People": ("No staff time set aside for weight management",),
            "Environment": ("No room free for a group",),
        },
        theme="A practice weight-management clinic",
        aim=(
            "support for patients who want to lose weight",
            "a patient asking for help with their weight",
            "six months in a group clinic at the practice",
            "most patients who start to lose 5% of their weight",
            "obesity drives our diabetes and joint problems",
        ),
        specific_aims=(
            ("Patients who start and attend 4 of the first 6 sessions", "no clinic yet", "70%"),
            ("Patients losing 5% of their weight by six months", "no clinic yet", "40%"),
        ),
        ongoing_resources="Two hours a week of healthcare assistant time and the room hire after the project ends; "
        "the partners will fund it from next April.",
        champion=StaffRole.NURSE,
    ),
    "care_homes": Topic(
        title="Care home liaison",
        typology=PATIENT,
        secondary=PROCESS,
        scope="Residents of the two care homes the practice covers, from a home's concern to a clinician's answer.",
        process_map=(
            ("Care home staff ring with a concern", "Care home"),
            ("Concern passed to the duty GP", "Receptionist"),
            ("GP rings back or visits", "GP"),
            ("Plan shared with the home and the district nurses", "GP"),
        ),
        failures="Several calls a day from each home; advice not written down; repeated ambulance calls.",
        weaknesses="No weekly round; each home rings with concerns one at a time.",
        problem="Care homes ring several times a day and residents go to hospital who need not",
        causes={
            "Processes": ("No weekly ward round",),
            "Communication": ("No shared care plans", "Different staff on every shift"),
            "People": ("District nurses and GPs never meet",),
        },
        theme="Care home liaison",
        aim=(
            "how the practice and the care homes work together",
            "a care home having a concern about a resident",
            "the resident cared for in the home where that is right for them",
            "fewer calls and fewer avoidable hospital admissions",
            "admissions from the homes rose by a third last winter",
        ),
        specific_aims=(
            ("Calls from the care homes, a week", "23", "8"),
            ("Residents with a shared care plan", "15%", "90%"),
        ),
        other_organisations="Two local care homes; Kent Community Health NHS Foundation Trust (district nursing)",
        senior_sponsor="Director of primary care, NHS West Kent CCG",
    ),
    "one_stop": Topic(
        title="One-stop clinic for long-term conditions",
        typology=PATIENT,
        secondary=PROCESS,
        scope="Patients with two or more long-term conditions, from recall to one review covering all of them.",
        process_map=(
            ("Patient due reviews identified", "Administrator"),
            ("One appointment booked for everything", "Receptionist"),
            ("Combined review", "Practice nurse and GP"),
        ),
        failures="Patients come in three or four times a year for separate reviews.",
        weaknesses="Reviews organised by disease, not by patient.",
        problem="Patients with several conditions come in for separate reviews",
        causes={"Processes": ("Separate recall lists for each condition",)},
        theme="One-stop reviews",
        aim=(
            "reviews for patients with several long-term conditions",
            "a patient becoming due any review",
            "one visit that covers all their conditions",
            "fewer visits and reviews that make sense to the patient",
            "patients told us separate reviews waste their time",
        ),
        specific_aims=(("Patients with 2 or more conditions reviewed in one visit", "0%", "50%"),),
        champion=StaffRole.NURSE,
    ),
}


@dataclass(frozen=True)
class Plan:
    """One demo project: where, about what, how far it has got, and who coaches it."""

    commissioner: str
    practice: int  # index among the commissioner's demo practices, by ODS code
    topic: str
    step: str
    weeks_ago: int  # when it started
    coach: int  # 0: the first demo coach (coach.<slug>@), 1: the second (coach2.<slug>@)
    co_coach: int | None = None
    withdrawn_in: str = ""  # the step it was in when withdrawn
    withdrawal_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


PLANS: tuple[Plan, ...] = (
    Plan("99J", 0, "results", Step.FOLLOW_UP, 40, coach=0),
    Plan("99J", 0, "weight", Step.TREAT, 10, coach=0, co_coach=1),
    Plan("99J", 1, "morning_flow", Step.TREAT, 9, coach=0),
    Plan("99J", 2, "diabetes", Step.DIAGNOSE, 6, coach=0),
    Plan("99J", 2, "messages", Step.ORGANISE, 1, coach=1),
    Plan("99J", 3, "navigation", Step.ASSESS, 3, coach=1),
    Plan("99J", 3, "home_visits", Step.FOLLOW_UP, 45, coach=1),
    Plan("99J", 4, "prescribing", Step.ORGANISE, 1, coach=0),
    Plan("99J", 5, "care_homes", Step.DIAGNOSE, 7, coach=0),
    Plan(
        "99J", 5, "letters", Step.WITHDRAWN, 30, coach=1, withdrawn_in=Step.ASSESS,
        withdrawal_reason="The GP partners could not release time for weekly meetings during the practice merger.",
    ),
    Plan("99K", 0, "results", Step.TREAT, 9, coach=0),
    Plan("99K", 1, "navigation", Step.TREAT, 11, coach=1),
    Plan("99K", 1, "phones", Step.ASSESS, 3, coach=0),
    Plan("99K", 2, "ld_checks", Step.FOLLOW_UP, 38, coach=1),
    Plan("99K", 3, "prescribing", Step.DIAGNOSE, 6, coach=1),
    Plan("99K", 3, "bp_checks", Step.ASSESS, 2, coach=0),
    Plan("99K", 4, "one_stop", Step.ORGANISE, 1, coach=0),
    Plan(
        "99K", 5, "morning_flow", Step.WITHDRAWN, 26, coach=1, withdrawn_in=Step.DIAGNOSE,
        withdrawal_reason="The champion left the practice and the team felt the approach was too slow for them.",
    ),
)  # fmt: skip


# Building -------------------------------------------------------------------------------------


@dataclass
class People:
    lead: User
    coaches: list[User]
    staff: dict[str, User]  # staff role → the demo user in that role at the practice


def demo_practices(commissioner: str) -> list[Practice]:
    """The commissioner's demo practices: those with demo staff, by ODS code."""
    practices = Practice.objects.filter(commissioner__ods_code=commissioner, memberships__isnull=False)
    return list(practices.distinct().order_by("ods_code")[:DEMO_PRACTICES_PER_COMMISSIONER])


def _programme_user(commissioner: str, role: str) -> list[User]:
    roles = ProgrammeRole.objects.filter(commissioner__ods_code=commissioner, role=role).select_related("user")
    return [r.user for r in roles.order_by("user__email")]


def seed_projects() -> int:
    """Build the demo projects that are missing; the number built."""
    built = 0
    for commissioner in sorted({plan.commissioner for plan in PLANS}):
        practices = demo_practices(commissioner)
        leads = _programme_user(commissioner, ProgrammeRoleKind.LEAD)
        coaches = _programme_user(commissioner, ProgrammeRoleKind.COACH)
        if not practices or not leads or not coaches:
            continue
        for n, plan in enumerate(p for p in PLANS if p.commissioner == commissioner):
            if plan.practice >= len(practices):
                continue
            practice = practices[plan.practice]
            if Project.objects.filter(practice=practice, title=TOPICS[plan.topic].title).exists():
                continue
            memberships = PracticeMembership.objects.filter(practice=practice).select_related("user")
            people = People(lead=leads[0], coaches=coaches, staff={m.role: m.user for m in memberships})
            with transaction.atomic():
                build_project(plan, practice, people, patient_rep=PATIENT_REPS[n % len(PATIENT_REPS)])
            built += 1
    return built


def build_project(plan: Plan, practice: Practice, people: People, *, patient_rep: str) -> Project:
    topic = TOPICS[plan.topic]
    starts_on = timezone.localdate() - timedelta(weeks=plan.weeks_ago)
    manager = people.staff.get(StaffRole.PRACTICE_MANAGER) or people.lead
    details = ProjectDetails(
        title=topic.title,
        scope=topic.scope,
        starts_on=starts_on,
        planned_end_on=None,
        typology=topic.typology,
        process_subtheme=topic.subtheme,
        secondary_typology=topic.secondary,
        needs_ongoing_resources=bool(topic.ongoing_resources),
        ongoing_resources=topic.ongoing_resources,
        crosses_boundaries=bool(topic.other_organisations),
        other_organisations=topic.other_organisations,
        senior_sponsor=topic.senior_sponsor,
    )
    project = create_project(practice=practice, details=details, by=manager)
    lead_coach = people.coaches[plan.coach % len(people.coaches)]
    co_coach = people.coaches[plan.co_coach % len(people.coaches)] if plan.co_coach is not None else None
    assign_coaches(
        project=project, lead_coach=lead_coach, co_coach=co_coach, by=people.lead,
        over_capacity_reason="Covering for a coach on long-term leave.",  # recorded only when over the limit
    )  # fmt: skip
    _build_team(project, topic, people, manager=manager, patient_rep=patient_rep)
    if (plan.withdrawn_in or plan.step) != Step.ORGANISE:  # an Organise project shows the agreement still to come
        _sign_agreement(project, people, starts_on, by=lead_coach)

    last_step = plan.withdrawn_in or plan.step
    for step in STEP_ORDER[: STEP_ORDER.index(last_step) + 1]:
        _fill_workbook(project, topic, step, passed=step != last_step, by=manager)
        if step == Step.TREAT:
            _add_aims(project, topic, by=manager)
            causes = [cause for texts in topic.causes.values() for cause in texts]
            treat_from = starts_on + timedelta(weeks=WEEKS_TO_REACH[Step.TREAT])
            seed_improvement(project, causes, treat_from=treat_from, by=manager, finished=step != last_step)
        if step == last_step:
            break
        if STEP_ORDER[STEP_ORDER.index(step) + 1] == Step.FOLLOW_UP:
            _complete(project, topic, starts_on, by=lead_coach)
        else:
            move_to_next_step(project=project, by=lead_coach)
    if (plan.withdrawn_in or plan.step) != Step.ORGANISE:
        from coaching.demo import seed_sessions  # coaching builds on projects

        project.refresh_from_db()
        coached_until = project.completed_on or timezone.localdate() - timedelta(days=1)
        if plan.withdrawn_in:
            weeks = WEEKS_TO_REACH.get(Step(plan.withdrawn_in), 0) + 1
            coached_until = min(coached_until, starts_on + timedelta(weeks=weeks))
        coached = plan.step in (Step.ASSESS, Step.DIAGNOSE, Step.TREAT) and not plan.withdrawn_in
        seed_sessions(project, until=coached_until, by=lead_coach, plan_next=coached)
    if plan.withdrawn_in:
        on = min(timezone.localdate(), starts_on + timedelta(weeks=WEEKS_TO_REACH.get(Step(plan.withdrawn_in), 0) + 2))
        withdraw_project(project=project, on=on, reason=plan.withdrawal_reason, by=lead_coach)
    _spread_history(project, starts_on)
    project.refresh_from_db()
    return project


def _build_team(project: Project, topic: Topic, people: People, *, manager: User, patient_rep: str) -> None:
    members: dict[str, TeamMember] = {}
    for role, team_role in TEAM_ROLES.items():
        user = people.staff.get(role)
        if user is not None:
            details = MemberDetails(kind=MemberKind.STAFF, user=user, team_role=team_role)
            members[role] = add_team_member(project=project, details=details, by=manager)
    rep = add_team_member(
        project=project,
        details=MemberDetails(
            kind=MemberKind.PATIENT,
            name=patient_rep,
            contact="Through the patient participation group",
            consent_to_be_listed=True,
            team_role="Patient representative",
        ),
        by=manager,
    )
    if topic.other_organisations:
        add_team_member(
            project=project,
            details=MemberDetails(
                kind=MemberKind.PARTNER,
                name="Lesley Barton",
                organisation="Kent Community Health NHS Foundation Trust",
                team_role="District nursing team leader",
                is_clinical=True,
            ),
            by=manager,
        )
    champion = members.get(topic.champion) or members.get(StaffRole.PRACTICE_MANAGER) or rep
    make_champion(member=champion, by=manager)
    rotation = [champion, *[m for m in members.values() if m != champion], rep]
    for member, meeting_role in zip(rotation, [r for r in MeetingRole if r], strict=False):
        assign_meeting_role(member=member, role=meeting_role, by=manager)


def workbook_data(topic: Topic, practice_name: str) -> dict[str, dict[str, Any]]:
    """Every section's data as the topic's team wrote it: the worked examples, made the topic's own."""
    data = {key: copy.deepcopy(SECTIONS_BY_KEY[key].example) for key in FIVE_PS}
    data["purpose"]["purpose"] = data["purpose"]["purpose"].replace(
        "the people of Northgate", f"the patients of {practice_name}"
    )
    data["processes"]["process_map"] = [{"step": s, "role": r} for s, r in topic.process_map]
    data["processes"]["failures"] = topic.failures
    categories = [
        {
            "id": f"c{i}",
            "name": name,
            "causes": [{"id": f"c{i}x{j}", "text": text} for j, text in enumerate(topic.causes.get(name, ()), 1)],
        }
        for i, name in enumerate(DEFAULT_FISHBONE_CATEGORIES, 1)
    ]
    improve, begins, ends, expect, important = topic.aim
    return data | {
        "strengths": copy.deepcopy(SECTIONS_BY_KEY["strengths"].example),
        "weaknesses": {"weaknesses": topic.weaknesses},
        "fishbone": {"fishbone": {"problem": topic.problem, "categories": categories}},
        "theme": {"theme": topic.theme},
        "global_aim": {"improve": improve, "begins": begins, "ends": ends, "expect": expect, "important": important},
    }


def _fill_workbook(project: Project, topic: Topic, step: str, *, passed: bool, by: User) -> None:
    """The step's sections: all written and complete once passed; about half written while in it."""
    if step not in (Step.ASSESS, Step.DIAGNOSE):
        return
    data = workbook_data(topic, project.practice.name)
    keys = [s.key for s in sections_for(step)]
    written = keys if passed else keys[: len(keys) // 2]
    sections = {s.key: s for s in project.sections.filter(key__in=written)}
    for key in written:
        section = sections[key]
        save_section(section=section, data=data[key], base_version=section.version, by=by, complete=True)


def _add_aims(project: Project, topic: Topic, *, by: User) -> None:
    target_date = project.planned_end_on
    for measure, baseline, target in topic.specific_aims:
        details = AimDetails(measure=measure, baseline=baseline, target=target, target_date=target_date)
        add_specific_aim(project=project, details=details, by=by)


def _sign_agreement(project: Project, people: People, starts_on: date, *, by: User) -> None:
    """The coaching agreement, signed in the first week by a GP partner (or the manager)."""
    from coaching.agreements import AgreementDetails, current_champion_name, record_agreement

    gp = people.staff.get(StaffRole.GP)
    signer = gp or people.staff.get(StaffRole.PRACTICE_MANAGER) or people.lead
    details = AgreementDetails(
        signed_by_name=signer.get_full_name(),
        signed_by_role="GP partner" if signer == gp else "Practice manager",
        signed_on=min(timezone.localdate(), starts_on + timedelta(days=3)),
        meeting_slot="Tuesdays at 1pm, every two weeks",
        staff_released="The whole team for the hour; reception cover from the duty administrator.",
        champion=current_champion_name(project),
        patients_involved="A patient representative from the patient participation group sits on the team.",
    )
    record_agreement(project=project, details=details, signed_copy=None, by=by)


def _complete(project: Project, topic: Topic, starts_on: date, *, by: User) -> None:
    """Treat → Follow-up with the outcome a team would record: its aims met, its benefits in plain words."""
    project.refresh_from_db()
    aims = {aim.pk: True for aim in project.specific_aims.all()}
    outcome = Outcome(
        completed_on=min(timezone.localdate(), starts_on + timedelta(weeks=WEEKS_TO_REACH[Step.FOLLOW_UP])),
        staff_benefits=f"Less chasing and fewer interruptions: {topic.theme.lower()} now has an owner every day.",
        patient_benefits="Patients hear back sooner and ring the practice less to chase.",
        aims_met=aims,
    )
    complete_project(project=project, outcome=outcome, by=by)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 30)))


def _spread_history(project: Project, starts_on: date) -> None:
    """Date the project's history over the weeks since it started; the services stamped it all "now"."""
    now = timezone.now()
    reached: dict[str, datetime] = {}
    for change in project.step_changes.order_by("changed_at", "id"):
        weeks = WEEKS_TO_REACH.get(Step(change.to_step))
        when = min(_at(starts_on + timedelta(weeks=weeks)), now) if weeks is not None else None
        if change.to_step == Step.WITHDRAWN:
            when = _at(project.withdrawn_on or starts_on)
        if when is not None:
            StepChange.objects.filter(pk=change.pk).update(changed_at=when)
            reached[change.to_step] = when
            Project.objects.filter(pk=project.pk).update(step_changed_at=when)
    started = _at(starts_on)
    Project.objects.filter(pk=project.pk).update(created_at=started)
    TeamMember.objects.filter(project=project).update(added_at=started)
    for step, section_keys in ((Step.ASSESS, FIVE_PS), (Step.DIAGNOSE, [s.key for s in sections_for(Step.DIAGNOSE)])):
        following = STEP_ORDER[STEP_ORDER.index(step) + 1]
        saved = reached.get(following, min(now, started + timedelta(weeks=WEEKS_TO_REACH[step] + 1)))
        project.sections.filter(key__in=section_keys, version__gt=0).update(updated_at=saved)
    if Step.TREAT in reached:
        SpecificAim.objects.filter(project=project).update(created_at=reached[Step.TREAT] + timedelta(days=7))

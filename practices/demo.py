"""The demo programme: two commissioners, real West Kent practices, people in every role.

Built from the real ODS rows shipped in ``practices/data/epraccur-demo.csv``. Safe to run
again: everything is found or created by its natural key, and a practice's demo
engagement is only applied while it has no history of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction

from coaching.demo import seed_coaches
from evaluation.demo import seed_evaluation
from microsystems.models import User
from projects.demo import seed_projects
from projects.payments.demo import seed_payments

from .models import (
    Cohort,
    Commissioner,
    CommissionerKind,
    Engagement,
    EngagementReason,
    OdsStatus,
    Pcn,
    Practice,
    PracticeMembership,
    ProgrammeRole,
    ProgrammeRoleKind,
    StaffRole,
)
from .ods import import_practices
from .services import change_engagement

DEMO_FILE = Path(__file__).resolve().parent / "data" / "epraccur-demo.csv"
DEMO_PASSWORD = "microsystems-demo"
DOMAIN = "demo.microsystems.example"

COMMISSIONERS = {
    "99J": ("NHS West Kent CCG", "westkent"),
    "99K": ("NHS High Weald Lewes Havens CCG", "highweald"),
}

# PCNs by postcode district, modelled on the places the practices are in.
PCNS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "99J": [
        ("U99J01", "Sevenoaks PCN", ("TN13", "TN16", "TN8")),
        ("U99J02", "Tunbridge Wells PCN", ("TN1", "TN2", "TN4")),
        ("U99J03", "Tonbridge PCN", ("TN9", "TN10", "TN11", "TN3")),
        ("U99J04", "The Weald PCN", ("TN12", "TN17", "TN18", "TN27")),
        ("U99J05", "Maidstone Central PCN", ("ME14", "ME16")),
        ("U99J06", "Maidstone South PCN", ("ME15", "ME17")),
        ("U99J07", "Malling PCN", ("ME18", "ME19", "ME20", "ME6", "ME1")),
        ("U99J08", "Swanley and Rural PCN", ("BR8", "DA4", "TN14", "TN15")),
    ],
    "99K": [
        ("U99K01", "Crowborough PCN", ("TN6", "TN7")),
        ("U99K02", "Lewes and Havens PCN", ("BN7", "BN8", "BN9", "BN10", "BN25")),
        ("U99K03", "High Weald PCN", ()),
    ],
}

# The evaluation's adoption mix, applied in order to the practices sorted by ODS code.
ADOPTION_PATTERN: list[tuple[str, str, str]] = [
    (Engagement.ENGAGED, Cohort.EARLY_ADOPTER, ""),
    (Engagement.ENGAGED, Cohort.LATE_MAJORITY, ""),
    (Engagement.NOT_APPROACHED, Cohort.NONE, ""),
    (Engagement.ENGAGED, Cohort.LATE_MAJORITY, ""),
    (Engagement.INVITED, Cohort.NONE, ""),
    (Engagement.DECLINED, Cohort.NONE, EngagementReason.NO_TIME),
    (Engagement.ENGAGED, Cohort.EARLY_ADOPTER, ""),
    (Engagement.WITHDREW, Cohort.LATE_MAJORITY, EngagementReason.NOT_CONVINCED),
    (Engagement.NOT_APPROACHED, Cohort.NONE, ""),
    (Engagement.ENGAGED, Cohort.LATE_MAJORITY, ""),
]

STAFF = [
    (StaffRole.PRACTICE_MANAGER, "Practice manager"),
    (StaffRole.GP, "Dr"),
    (StaffRole.NURSE, "Nurse"),
    (StaffRole.RECEPTIONIST, "Reception"),
]
FIRST_NAMES = ["Alex", "Jordan", "Sam", "Chris", "Priya", "Femi", "Grace", "Tom", "Aisha", "Ben", "Niamh", "Ravi"]
SURNAMES = ["Patel", "Okafor", "Hughes", "Khan", "Walsh", "Davies", "Nowak", "Evans", "Singh", "Murphy"]


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    commissioner: str
    practice: str | None


def _user(email: str, full_name: str, *, is_staff: bool = False) -> User:
    user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name, "is_staff": is_staff})
    user.full_name, user.is_staff, user.is_superuser, user.is_active = full_name, is_staff, is_staff, True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def _commissioner(code: str) -> Commissioner:
    name, _ = COMMISSIONERS[code]
    commissioner, _ = Commissioner.objects.update_or_create(
        ods_code=code, defaults={"name": name, "kind": CommissionerKind.CCG}
    )
    return commissioner


def _assign_pcns(commissioner: Commissioner) -> None:
    pcns = [
        (Pcn.objects.update_or_create(code=code, defaults={"name": name, "commissioner": commissioner})[0], districts)
        for code, name, districts in PCNS[commissioner.ods_code]
    ]
    fallback = pcns[-1][0]
    for practice in Practice.objects.filter(commissioner=commissioner, pcn__isnull=True):
        district = practice.postcode.split(" ")[0]
        practice.pcn = next((pcn for pcn, districts in pcns if district in districts), fallback)
        practice.list_size = practice.list_size or 3000 + (int(practice.ods_code[-3:]) * 137) % 12000
        practice.save(update_fields=["pcn", "list_size"])


def _programme_people(commissioner: Commissioner, slug: str) -> list[DemoLogin]:
    logins = []
    people = [
        (ProgrammeRoleKind.LEAD, f"lead.{slug}@{DOMAIN}", "Helen Ashby" if slug == "westkent" else "Mark Gill"),
        (ProgrammeRoleKind.COACH, f"coach.{slug}@{DOMAIN}", "Priya Shah" if slug == "westkent" else "Tom Reid"),
        (ProgrammeRoleKind.COACH, f"coach2.{slug}@{DOMAIN}", "Sam Fletcher" if slug == "westkent" else "Ann Lowe"),
        (ProgrammeRoleKind.COACH, f"mentor.{slug}@{DOMAIN}", "Ruth Okafor" if slug == "westkent" else "Neil Hart"),
        (ProgrammeRoleKind.FINANCE, f"finance.{slug}@{DOMAIN}", "Rob Turner" if slug == "westkent" else "Jo Marsh"),
    ]
    for role, email, name in people:
        user = _user(email, name)
        ProgrammeRole.objects.get_or_create(user=user, commissioner=commissioner, role=role)
        logins.append(DemoLogin(email, DEMO_PASSWORD, role, commissioner.ods_code, None))
    return logins


def _adopt(commissioner: Commissioner, lead: User) -> None:
    practices = Practice.objects.filter(commissioner=commissioner, ods_status=OdsStatus.ACTIVE).order_by("ods_code")
    started = date.today() - timedelta(days=3 * 365)
    for index, practice in enumerate(practices):
        engagement, cohort, reason = ADOPTION_PATTERN[index % len(ADOPTION_PATTERN)]
        if engagement == Engagement.NOT_APPROACHED or practice.engagement_changes.exists():
            continue
        when = started + timedelta(days=30 * (index % 20))
        change_engagement(
            practice=practice, engagement=Engagement.INVITED, cohort=Cohort.NONE, effective_on=when, by=lead
        )
        if engagement != Engagement.INVITED:
            later = when + timedelta(days=45)
            detail = "The partners felt the timing was wrong." if reason else ""
            change_engagement(
                practice=practice,
                engagement=engagement,
                cohort=cohort,
                effective_on=later,
                reason=reason,
                reason_detail=detail,
                by=lead,
            )


def _practice_staff(commissioner: Commissioner, slug: str) -> list[DemoLogin]:
    logins = []
    engaged = Practice.objects.filter(commissioner=commissioner, engagement=Engagement.ENGAGED).order_by("ods_code")
    for n, practice in enumerate(engaged[:6]):
        for r, (role, _title) in enumerate(STAFF):
            email = f"{role.replace('_', '')}.{practice.ods_code.lower()}@{DOMAIN}"
            person = n * len(STAFF) + r
            first = FIRST_NAMES[person % len(FIRST_NAMES)]
            name = f"{'Dr ' if role == StaffRole.GP else ''}{first} {SURNAMES[(person * 3) % len(SURNAMES)]}"
            user = _user(email, name)
            PracticeMembership.objects.get_or_create(user=user, practice=practice, defaults={"role": role})
            logins.append(DemoLogin(email, DEMO_PASSWORD, "practice", commissioner.ods_code, practice.ods_code))
    return logins


def seed_demo() -> list[DemoLogin]:
    """Build (or top up) the demo programme and return every demo login."""
    logins: list[DemoLogin] = []
    data = DEMO_FILE.read_bytes()
    with transaction.atomic():
        for code, (_, slug) in COMMISSIONERS.items():
            commissioner = _commissioner(code)
            import_practices(data=data, commissioner=commissioner, by=None)
            _assign_pcns(commissioner)
            people = _programme_people(commissioner, slug)
            lead = User.objects.get(email=people[0].email)
            _adopt(commissioner, lead)
            seed_coaches(commissioner, lead)
            logins += people + _practice_staff(commissioner, slug)
        admin = _user(f"admin@{DOMAIN}", "Site Admin", is_staff=True)
        seed_projects()
        seed_payments()  # after the projects: the tariffs make due what their first projects reached
        seed_evaluation()  # after the projects: their due follow-ups are held and the teams assess themselves
        logins.append(DemoLogin(admin.email, DEMO_PASSWORD, "admin", "99J", None))
    return logins


def as_json_rows(logins: list[DemoLogin]) -> list[dict[str, str | None]]:
    return [asdict(login) for login in logins]

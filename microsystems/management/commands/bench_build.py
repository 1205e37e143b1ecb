"""Build the benchmark's national-scale dataset into the database the settings point at.

``manage.py bench`` runs this in a subprocess under ``microsystems.settings.bench``, once
for each dataset, after ``migrate``. By hand::

    DJANGO_SETTINGS_MODULE=microsystems.settings.bench BENCH_DATABASE_URL=sqlite:////tmp/b.sqlite3 \\
        .venv/bin/python manage.py bench_build --practices 6500
    ... manage.py bench_build --describe     # what was built, as JSON (what ``bench`` reads)
    ... manage.py bench_build --practices 6500 --export-rows 100000   # the funding export's dataset instead
    ... manage.py bench_build --practices 6500 --sweep-projects 10000  # the notification sweep's dataset instead

It refuses to run under any other settings, because it empties the database first.

The data is synthetic but shaped like England's general practice: the 42 integrated care
boards as commissioners, with practice numbers roughly in proportion to the real ones;
about 5.2 practices a PCN (1,250 PCNs for 6,500 practices); list sizes drawn around
9,500 patients; staff in proportion to list size (about 4 a practice, one to fifteen),
a few still only invited; an engagement mix with two or three history rows a practice;
and a programme lead, a finance user and a coach for about every 25 practices for each
commissioner (the in-training coaches each with a mentor), plus one staff admin.

Projects: about 20,000 nationally over five financial years (the current one and the four
before), as the evaluation dashboard's target asks. That is synthetic in one way: an
engaged practice with three staff or more runs a project about every four months from when
it engaged (or the window's start), far more than any practice would, so that the projects
reach that number (a practice that withdrew has one, withdrawn). They span every step, on the
demo's topics: a team of about five with a champion (and mostly a patient representative),
the workbook filled for the steps passed, specific aims from Treat on (met or not once
completed), the step changes that got it there, and the benefits for staff and patients of
a completed one. With them: PDSA cycles and measures with weekly values (each measure's
improvement signal set from how its values were drawn), coaching agreements, sessions,
attendance and actions; for a completed project its 6- and 12-month follow-ups, those past
due mostly held with a review (sustained, partly or not, with reasons); the team's
embedding self-assessment at baseline and at each held follow-up; and the money: a tariff
per commissioner and year, each practice's first project paid on its agreement and
completion milestones, and some later ones through an approved funding application, at a
mix of statuses by how long ago they fell due. Every project-level step works through the
projects in chunks of ``CHUNK`` so the build's memory stays bounded. Fewer than 420 practices means fewer
commissioners (one per ten practices), so tiny test datasets stay coherent. The same
``--practices`` and ``--seed`` give the same data. Every account's password is
``PASSWORD``.

Later issues add their data as another function in ``STEPS`` (each takes the ``Build``
and adds rows with ``bulk_create``), and, when one of their pages is about a single
object, a sample in ``samples()``: the largest such object for the full dataset's run and
the smallest for the small one's, so a query per row shows up as a different count.
Bump ``BUILD_VERSION`` when the data changes, so ``bench --keep`` rebuilds.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from itertools import count
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import Case, Count, Q, When
from django.db.models.functions import ExtractYear

from coaching.models import (
    Action,
    ActionStatus,
    CoachingAgreement,
    CoachLevel,
    CoachProfile,
    Mentoring,
    Session,
    SessionAttendance,
    SessionFormat,
    SessionStatus,
    TrainingRecord,
)
from evaluation.followups import due_dates
from evaluation.models import (
    CHARACTERISTICS,
    SCORE_MAX,
    SCORE_MIN,
    EmbeddingAssessment,
    EmbeddingOccasion,
    FollowUp,
    FollowUpKind,
    FollowUpReview,
    FollowUpStatus,
    NotSustainedReason,
    Sustained,
)
from microsystems.models import AuditEntry, User
from practices.models import (
    Cohort,
    Commissioner,
    CommissionerKind,
    Engagement,
    EngagementChange,
    EngagementReason,
    OdsStatus,
    Pcn,
    Practice,
    PracticeMembership,
    ProgrammeRole,
    ProgrammeRoleKind,
    StaffRole,
)
from projects.demo import TOPICS, Topic, workbook_data
from projects.models import (
    ActDecision,
    ApplicationStatus,
    ChangeIdea,
    Frequency,
    FundingApplication,
    FundingRoute,
    Measure,
    MeasureKind,
    MeasureValue,
    MeetingRole,
    MemberKind,
    Milestone,
    Payment,
    PaymentKind,
    PaymentStatus,
    PdsaCycle,
    Project,
    SpecificAim,
    Step,
    StepChange,
    Tariff,
    TariffMilestone,
    TeamMember,
    WorkbookSection,
    financial_year_bounds,
    financial_year_of,
)
from projects.models.improvement import ImprovementSignal, period_start
from projects.payments.money import split
from projects.workbook import SECTIONS, sections_for

BUILD_VERSION = 6
COACH_PER_PRACTICES = 25  # a coach for about every 25 practices
PASSWORD = "bench-password-not-a-secret"
MARKER_ACTION = "bench.dataset_built"
NATIONAL_PRACTICES = 6500
NATIONAL_PCNS = 1250
BATCH = 1000

# England's 42 integrated care boards: ODS code | name | a weight roughly in proportion to
# the number of practices each has | postcode areas | towns to name PCNs and practices after.
_ICB_TABLE = """
QOP | Greater Manchester | 430 | M OL BL SK WN | Oldham, Bolton, Stockport, Wigan, Salford, Rochdale
QHM | North East and North Cumbria | 340 | NE SR DH TS CA | Newcastle, Sunderland, Durham, Middlesbrough, Carlisle
QYG | Cheshire and Merseyside | 340 | L CH CW WA | Liverpool, Birkenhead, Chester, Warrington, Crewe, St Helens
QRV | North West London | 300 | W NW HA UB TW | Ealing, Harrow, Hounslow, Hillingdon, Brent, Kensington
QWO | West Yorkshire | 250 | LS BD WF HD HX | Leeds, Bradford, Wakefield, Huddersfield, Halifax, Dewsbury
QMF | North East London | 230 | E IG RM | Hackney, Newham, Ilford, Romford, Barking, Stratford
QOQ | Humber and North Yorkshire | 200 | HU YO DN HG | Hull, York, Scarborough, Harrogate, Grimsby, Beverley
QE1 | Lancashire and South Cumbria | 200 | PR BB FY LA | Preston, Blackburn, Blackpool, Lancaster, Burnley, Kendal
QKK | South East London | 200 | SE BR DA CR | Lewisham, Greenwich, Bromley, Croydon, Southwark, Bexley
QRL | Hampshire and Isle of Wight | 200 | SO PO BH GU | Southampton, Portsmouth, Winchester, Basingstoke, Newport
QKS | Kent and Medway | 190 | ME CT TN DA | Maidstone, Canterbury, Tunbridge Wells, Dartford, Ashford, Margate
QHL | Birmingham and Solihull | 170 | B | Birmingham, Solihull, Erdington, Sutton Coldfield, Edgbaston, Small Heath
QUA | Black Country | 170 | WV WS DY B | Wolverhampton, Walsall, Dudley, West Bromwich, Stourbridge, Oldbury
QMJ | North Central London | 170 | N NW EN | Camden, Islington, Barnet, Enfield, Haringey, Finchley
QF7 | South Yorkshire | 160 | S DN | Sheffield, Doncaster, Rotherham, Barnsley, Mexborough, Penistone
QWE | South West London | 160 | SW SM KT CR | Wandsworth, Merton, Sutton, Kingston, Richmond, Tooting
QU9 | Buckinghamshire, Oxfordshire and Berkshire West | 160 | OX HP RG | Oxford, Aylesbury, Reading, High Wycombe
QNX | Sussex | 160 | BN RH TN | Brighton, Hastings, Eastbourne, Crawley, Worthing, Chichester
QNC | Staffordshire and Stoke-on-Trent | 140 | ST WS DE | Stoke-on-Trent, Stafford, Newcastle-under-Lyme, Lichfield
QH8 | Mid and South Essex | 140 | SS CM RM | Southend, Chelmsford, Basildon, Thurrock, Brentwood, Maldon
QM7 | Hertfordshire and West Essex | 130 | AL SG WD HP CM | St Albans, Stevenage, Watford, Harlow, Hemel Hempstead
QK1 | Leicester, Leicestershire and Rutland | 120 | LE | Leicester, Loughborough, Hinckley, Oakham, Melton Mowbray
QT1 | Nottingham and Nottinghamshire | 120 | NG | Nottingham, Mansfield, Newark, Worksop, Beeston, Arnold
QJK | Devon | 120 | EX PL TQ | Exeter, Plymouth, Torquay, Barnstaple, Newton Abbot, Tiverton
QJ2 | Derby and Derbyshire | 110 | DE S | Derby, Chesterfield, Buxton, Matlock, Ilkeston, Glossop
QMM | Norfolk and Waveney | 105 | NR IP | Norwich, King's Lynn, Great Yarmouth, Lowestoft, Thetford, Cromer
QJG | Suffolk and North East Essex | 100 | IP CO | Ipswich, Colchester, Bury St Edmunds, Clacton, Felixstowe
QXU | Surrey Heartlands | 100 | GU KT RH | Guildford, Woking, Epsom, Redhill, Dorking, Leatherhead
QWU | Coventry and Warwickshire | 90 | CV | Coventry, Nuneaton, Rugby, Warwick, Leamington Spa, Stratford-upon-Avon
QHG | Bedfordshire, Luton and Milton Keynes | 90 | LU MK SG | Luton, Bedford, Milton Keynes, Dunstable, Biggleswade
QUE | Cambridgeshire and Peterborough | 90 | CB PE | Cambridge, Peterborough, Huntingdon, Ely, Wisbech, St Neots
QNQ | Frimley | 90 | GU SL RG | Frimley, Farnborough, Slough, Bracknell, Camberley, Maidenhead
QOX | Bath and North East Somerset, Swindon and Wiltshire | 90 | BA SN SP | Bath, Swindon, Salisbury, Chippenham
QGH | Herefordshire and Worcestershire | 80 | WR HR DY | Worcester, Hereford, Kidderminster, Redditch, Malvern
QJM | Lincolnshire | 80 | LN PE NG | Lincoln, Boston, Grantham, Skegness, Spalding, Gainsborough
QUY | Bristol, North Somerset and South Gloucestershire | 80 | BS | Bristol, Weston-super-Mare, Yate, Clevedon
QVV | Dorset | 70 | DT BH | Dorchester, Bournemouth, Poole, Weymouth, Bridport, Wimborne
QR1 | Gloucestershire | 70 | GL | Gloucester, Cheltenham, Stroud, Tewkesbury, Cirencester, Cinderford
QPM | Northamptonshire | 60 | NN | Northampton, Kettering, Corby, Wellingborough, Daventry, Towcester
QT6 | Cornwall and the Isles of Scilly | 60 | TR PL | Truro, Penzance, Falmouth, St Austell, Bodmin, Newquay
QSL | Somerset | 60 | TA BA | Taunton, Yeovil, Bridgwater, Frome, Minehead, Wells
QOC | Shropshire, Telford and Wrekin | 50 | SY TF | Shrewsbury, Telford, Oswestry, Ludlow, Bridgnorth
"""


class Icb(NamedTuple):
    code: str
    name: str
    weight: int
    postcode_areas: tuple[str, ...]
    towns: tuple[str, ...]


ICBS = [
    Icb(code, f"NHS {name} ICB", int(weight), tuple(areas.split()), tuple(t.strip() for t in towns.split(",")))
    for code, name, weight, areas, towns in (line.split(" | ") for line in _ICB_TABLE.strip().splitlines())
]


def _listed(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Items of a wrapped list in a string: split on ``sep`` (whitespace if None), spaces tidied."""
    return tuple(" ".join(item.split()) for item in text.split(sep) if item.strip())


STREETS = _listed(
    """
High Street, Station Road, Church Lane, Park Road, London Road, Victoria Road, Mill Lane, The Green, Market
Place, Castle Street, Queen Street, King Street, Bridge Street, North Road, Orchard Way, Elm Grove, Manor Road,
Springfield Road, West Street, Chapel Street, Grange Road, School Lane, Riverside, Abbey Road, Beech Avenue,
Hill Top, Meadow Way, Oak Tree Lane
""",
    ",",
)
FIRST_NAMES = _listed(
    """
Amelia Oliver Isla George Ava Harry Mia Noah Sophie Jack Grace Leo Aisha Mohammed Priya Arjun Chloe Thomas Emily
James Fatima Daniel Hannah Samuel Ruth David Olivia Joseph Zara Adam Lucy Kwame Ngozi Wei Mei Siobhan Rhys Megan
Tomasz Agnieszka
"""
)
LAST_NAMES = _listed(
    """
Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker White
Roberts Green Hall Wood Jackson Clarke Khan Ahmed Hussain Singh Begum Okafor Mensah Chen Nowak Murphy O'Brien
Hughes Edwards Lewis Harris Martin Cooper Ward Morris Turner Shah Ali Bennett Price Parker Baker Fisher
"""
)
PCN_SUFFIXES = ("PCN", "Central PCN", "North PCN", "South PCN", "East PCN", "West PCN", "and District PCN", "Rural PCN")
PRACTICE_LETTERS = "ABCDEFGHJKLMNPY"
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
OTHER_STAFF = (
    StaffRole.GP,
    StaffRole.NURSE,
    StaffRole.NURSE,
    StaffRole.RECEPTIONIST,
    StaffRole.RECEPTIONIST,
    StaffRole.HEALTHCARE_ASSISTANT,
    StaffRole.CARE_COORDINATOR,
    StaffRole.OTHER,
)
REASONS = [r for r in EngagementReason.values if r != EngagementReason.OTHER]
NEEDS_REASON = (Engagement.DECLINED, Engagement.WITHDREW)


@dataclass(frozen=True)
class Scale:
    practices: int
    pcns: int
    commissioners: int

    @classmethod
    def for_practices(cls, practices: int) -> Scale:
        if practices < 1:
            raise CommandError("--practices must be at least 1.")
        commissioners = len(ICBS) if practices >= 10 * len(ICBS) else max(1, practices // 10)
        pcns = min(practices, max(commissioners, round(practices * NATIONAL_PCNS / NATIONAL_PRACTICES)))
        return cls(practices=practices, pcns=pcns, commissioners=commissioners)


def apportion(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), each share at least ``minimum``."""
    if total < minimum * len(weights):
        raise ValueError(f"cannot give {len(weights)} shares at least {minimum} each out of {total}")
    spare = total - minimum * len(weights)
    whole = sum(weights)
    exact = [spare * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: spare - sum(shares)]:
        shares[i] += 1
    return [minimum + s for s in shares]


@dataclass
class Build:
    """The state one build passes from step to step."""

    scale: Scale
    rng: random.Random
    password_hash: str
    now: datetime
    commissioners: list[Commissioner] = field(default_factory=list)
    leads: dict[int, User] = field(default_factory=dict)
    pcns: list[Pcn] = field(default_factory=list)
    practices: list[Practice] = field(default_factory=list)
    coaches: dict[int, list[User]] = field(default_factory=dict)  # commissioner id → its coaches
    teams: dict[int, list[TeamMember]] = field(default_factory=dict)  # project id → its team, saved
    staff: dict[int, list[tuple[User, str]]] = field(default_factory=dict)  # practice id → (user, staff role)
    emails: Iterator[int] = field(default_factory=lambda: count(1))
    projects: list[PlannedProject] = field(default_factory=list)
    export_rows: int = 0  # payments in the funding export's year (the export dataset only)
    sweep_projects: int = 0  # projects with a follow-up due (the notification sweep's dataset only)

    @property
    def today(self) -> date:
        return self.now.date()

    def person(self) -> tuple[str, str]:
        """A full name and a unique e-mail address for it."""
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        return f"{first} {last}", f"{local}.{next(self.emails)}@nhs.example"

    def user(self, full_name: str, email: str, *, invited_only: bool = False, **extra: Any) -> User:
        joined = self.now - timedelta(days=self.rng.randint(30, 2000))
        return User(
            email=email,
            full_name=full_name,
            password=make_password(None) if invited_only else self.password_hash,
            date_joined=joined,
            **extra,
        )


def _insert(model: type[models.Model], rows: list[Any]) -> list[Any]:
    return model._default_manager.bulk_create(rows, batch_size=BATCH)


def build_programme(b: Build) -> None:
    """Commissioners, each with a lead, a finance user and a coach for about every 25 practices; one staff admin."""
    b.commissioners = _insert(
        Commissioner,
        [
            Commissioner(ods_code=icb.code, name=icb.name, kind=CommissionerKind.ICB)
            for icb in ICBS[: b.scale.commissioners]
        ],
    )
    kinds = (ProgrammeRoleKind.LEAD, ProgrammeRoleKind.COACH, ProgrammeRoleKind.FINANCE)
    planned: list[tuple[Commissioner, str, User]] = []
    for commissioner, icb in zip(b.commissioners, ICBS, strict=False):
        coaches = max(1, round(icb.weight * b.scale.practices / NATIONAL_PRACTICES / COACH_PER_PRACTICES))
        for kind in kinds:
            for n in range(coaches if kind == ProgrammeRoleKind.COACH else 1):
                full_name, _ = b.person()
                suffix = str(n + 1) if n else ""
                email = f"{kind}{suffix}.{commissioner.ods_code.lower()}@bench.example"
                planned.append((commissioner, kind, b.user(full_name, email)))
    users = _insert(User, [user for _, _, user in planned])
    users.append(_insert(User, [b.user("Staff Admin", "admin@bench.example", is_staff=True, is_superuser=True)])[0])
    roles = []
    for (commissioner, role, _), user in zip(planned, users, strict=False):
        roles.append(ProgrammeRole(user=user, commissioner=commissioner, role=role))
        if role == ProgrammeRoleKind.LEAD:
            b.leads[commissioner.pk] = user
        elif role == ProgrammeRoleKind.COACH:
            b.coaches.setdefault(commissioner.pk, []).append(user)
    _insert(ProgrammeRole, roles)


def _engagement_path(rng: random.Random) -> tuple[str, list[str]]:
    """A practice's current engagement and the states it went through to get there."""
    final = rng.choices(
        [Engagement.NOT_APPROACHED, Engagement.INVITED, Engagement.ENGAGED, Engagement.DECLINED, Engagement.WITHDREW],
        weights=[25, 12, 42, 13, 8],  # five years into the programme: most practices have been approached
    )[0]
    paths: dict[str, list[list[str]]] = {
        Engagement.NOT_APPROACHED: [[Engagement.INVITED, Engagement.NOT_APPROACHED]],
        Engagement.INVITED: [
            [Engagement.INVITED, Engagement.DECLINED, Engagement.INVITED],
            [Engagement.INVITED, Engagement.NOT_APPROACHED, Engagement.INVITED],
        ],
        Engagement.ENGAGED: [
            [Engagement.INVITED, Engagement.ENGAGED],
            [Engagement.INVITED, Engagement.DECLINED, Engagement.ENGAGED],
        ],
        Engagement.DECLINED: [[Engagement.INVITED, Engagement.DECLINED]],
        Engagement.WITHDREW: [[Engagement.INVITED, Engagement.ENGAGED, Engagement.WITHDREW]],
    }
    return final, rng.choice(paths[final])


def build_practices(b: Build) -> None:
    """PCNs and practices, each practice with its engagement history."""
    scale, rng = b.scale, b.rng
    icbs = ICBS[: scale.commissioners]
    per_commissioner = apportion(scale.practices, [icb.weight for icb in icbs])
    pcns_per_commissioner = [
        min(n, share) for n, share in zip(per_commissioner, apportion(scale.pcns, per_commissioner), strict=True)
    ]

    pcns: list[Pcn] = []
    pcn_towns: list[int] = []  # each PCN is named after, and its practices are in, one of the commissioner's towns
    pcn_code = count(10001)
    for commissioner, icb, n_pcns in zip(b.commissioners, icbs, pcns_per_commissioner, strict=True):
        towns = icb.towns
        for i in range(n_pcns):
            town = towns[i % len(towns)]
            suffix = PCN_SUFFIXES[(i // len(towns)) % len(PCN_SUFFIXES)]
            repeat = i // (len(towns) * len(PCN_SUFFIXES))
            name = f"{town} {suffix}" + (f" {repeat + 1}" if repeat else "")
            pcns.append(Pcn(code=f"U{next(pcn_code):05d}", name=name, commissioner=commissioner))
            pcn_towns.append(i % len(towns))
    b.pcns = _insert(Pcn, pcns)

    practices: list[Practice] = []
    paths: list[list[Any]] = []
    ods_numbers = {letter: count(81001) for letter in PRACTICE_LETTERS}
    pcn_iter = iter(zip(b.pcns, pcn_towns, strict=True))
    for index, (commissioner, icb, n_practices, n_pcns) in enumerate(
        zip(b.commissioners, icbs, per_commissioner, pcns_per_commissioner, strict=True)
    ):
        own_pcns = [next(pcn_iter) for _ in range(n_pcns)]
        in_pcns = apportion(n_practices, [rng.uniform(0.5, 1.5) for _ in own_pcns])
        letter = PRACTICE_LETTERS[index % len(PRACTICE_LETTERS)]
        for (pcn, town_index), k in zip(own_pcns, in_pcns, strict=True):
            for _ in range(k):
                ods_code = f"{letter}{next(ods_numbers[letter]):05d}"
                in_pcn = pcn if rng.random() > 0.01 else None
                practice, path = _practice(b, ods_code, icb, town_index, commissioner, in_pcn)
                practices.append(practice)
                paths.append(path)
    b.practices = _insert(Practice, practices)

    changes = []
    for practice, path in zip(b.practices, paths, strict=True):
        lead = b.leads[practice.commissioner_id]
        for effective_on, previous, to_engagement, from_cohort, to_cohort, reason in path:
            changed_at = datetime.combine(effective_on, datetime.min.time(), tzinfo=UTC) + timedelta(
                days=rng.randint(0, 3), hours=rng.randint(8, 17), minutes=rng.randint(0, 59)
            )
            changes.append(
                EngagementChange(
                    practice=practice,
                    changed_at=min(changed_at, b.now),
                    changed_by=lead,
                    effective_on=effective_on,
                    from_engagement=previous,
                    to_engagement=to_engagement,
                    from_cohort=from_cohort,
                    to_cohort=to_cohort,
                    reason=reason,
                    reason_detail=_reason_detail(rng, reason),
                )
            )
    _insert(EngagementChange, changes)


def _reason_detail(rng: random.Random, reason: str) -> str:
    if reason == EngagementReason.OTHER:
        return rng.choice(["Preparing for a CQC inspection this year.", "Partners retiring; revisit after the merger."])
    return ""


def _practice(
    b: Build, ods_code: str, icb: Icb, town_index: int, commissioner: Commissioner, pcn: Pcn | None
) -> tuple[Practice, list[Any]]:
    """One practice (not saved) and its engagement history as tuples."""
    rng = b.rng
    town, street = icb.towns[town_index], rng.choice(STREETS)
    area = icb.postcode_areas[town_index % len(icb.postcode_areas)]
    name = rng.choice(
        [
            f"{town} Medical Centre",
            f"{street} Surgery",
            f"The {town} Practice",
            f"{town} Health Centre",
            f"Dr {rng.choice(LAST_NAMES)} and Partners",
            f"{street} Medical Practice",
            f"{town} Group Practice",
        ]
    )
    unit = rng.choice(UNIT_LETTERS) + rng.choice(UNIT_LETTERS)
    postcode = f"{area}{rng.randint(1, 30)} {rng.randint(1, 9)}{unit}"
    list_size = int(min(60000, max(900, rng.lognormvariate(9.05, 0.5))))
    status = rng.choices([OdsStatus.ACTIVE, OdsStatus.CLOSED, OdsStatus.DORMANT], weights=[97, 2, 1])[0]
    opened_on = date(rng.randint(1948, 2015), rng.randint(1, 12), rng.randint(1, 28)) if rng.random() < 0.7 else None
    closed_on = b.today - timedelta(days=rng.randint(30, 900)) if status == OdsStatus.CLOSED else None

    final, states = _engagement_path(rng)
    cohort_if_engaged = rng.choice([Cohort.EARLY_ADOPTER, Cohort.LATE_MAJORITY, Cohort.LATE_MAJORITY])
    day = b.today - timedelta(days=rng.randint(500, 2400))
    previous, cohort = str(Engagement.NOT_APPROACHED), str(Cohort.NONE)
    path = []  # (effective_on, from_engagement, to_engagement, from_cohort, to_cohort, reason)
    for state in states:
        # Engaging sets the cohort, withdrawing keeps it, anything else clears it.
        new_cohort = (
            str(cohort_if_engaged) if state == Engagement.ENGAGED else cohort if state == Engagement.WITHDREW else ""
        )
        reason = rng.choice([*REASONS, EngagementReason.OTHER]) if state in NEEDS_REASON else ""
        path.append((day, previous, str(state), cohort, new_cohort, str(reason)))
        previous, cohort = str(state), new_cohort
        day = min(b.today, day + timedelta(days=rng.randint(21, 300)))
    since = path[-1][0]

    practice = Practice(
        ods_code=ods_code,
        name=name,
        address=f"{rng.randint(1, 250)} {street}, {town}",
        postcode=postcode,
        list_size=list_size,
        commissioner=commissioner,
        pcn=pcn,
        ods_status=status,
        opened_on=opened_on,
        closed_on=closed_on,
        engagement=final,
        engagement_since=since,
        cohort=cohort,
    )
    return practice, path


def build_staff(b: Build) -> None:
    """Staff for every practice, about one per 2,400 patients: a manager, a GP, then a mix."""
    rng = b.rng
    users: list[User] = []
    plan: list[tuple[Practice, str, int | None]] = []  # practice, role, index of who invited them
    for practice in b.practices:
        n = max(1, min(15, round((practice.list_size or 6000) / 2400 + rng.uniform(-1, 1))))
        manager_at = len(users)
        for i in range(n):
            role = StaffRole.PRACTICE_MANAGER if i == 0 else StaffRole.GP if i == 1 else rng.choice(OTHER_STAFF)
            full_name, email = b.person()
            users.append(b.user(full_name, email, invited_only=i > 0 and rng.random() < 0.08))
            plan.append((practice, role, None if i == 0 else manager_at))
    users = _insert(User, users)
    memberships = [
        PracticeMembership(
            user=user,
            practice=practice,
            role=role,
            invited_by=b.leads[practice.commissioner_id] if inviter is None else users[inviter],
            created_at=user.date_joined,
        )
        for user, (practice, role, inviter) in zip(users, plan, strict=True)
    ]
    _insert(PracticeMembership, memberships)
    for user, (practice, staff_role, _) in zip(users, plan, strict=True):
        b.staff.setdefault(practice.pk, []).append((user, staff_role))


# Projects ----------------------------------------------------------------------------------

# When, in weeks after its start, a project reaches each step: older projects have got further.
REACH_WEEKS = ((Step.ASSESS, 2), (Step.DIAGNOSE, 5), (Step.TREAT, 8), (Step.FOLLOW_UP, 13), (Step.COMPLETED, 65))
CLINICAL_ROLES = {StaffRole.GP, StaffRole.NURSE, StaffRole.HEALTHCARE_ASSISTANT}
TEAM_ROLES: dict[str, str] = {
    StaffRole.GP: "GP partner",
    StaffRole.PRACTICE_MANAGER: "Practice manager",
    StaffRole.NURSE: "Practice nurse",
    StaffRole.HEALTHCARE_ASSISTANT: "Healthcare assistant",
    StaffRole.RECEPTIONIST: "Receptionist",
    StaffRole.CARE_COORDINATOR: "Care co-ordinator",
    StaffRole.OTHER: "Administrator",
}
EXTRA_AIMS = (
    ("Team members at each weekly meeting", "3", "5"),
    ("Complaints about this, a month", "6", "2"),
    ("Staff who say the change made their work easier", "no survey yet", "80%"),
)
WITHDRAWAL_REASONS = (
    "The GP partners could not release time for weekly meetings.",
    "The champion left the practice and nobody took the project on.",
    "A CQC inspection took priority; the team may come back to it.",
)
STAFF_BENEFITS = (
    "Less chasing and fewer interruptions: {theme} now has an owner every day.",
    "The team meets for ten minutes each morning and nobody is left to sort out {theme} alone.",
    "Reception staff feel confident answering questions about {theme}; fewer calls are passed on.",
    "Clinicians get back about an hour a week that went on {theme}.",
)
PATIENT_BENEFITS = (
    "Patients hear back sooner and ring the practice less to chase.",
    "Patients with long-term conditions are seen on time and know who to ask.",
    "Fewer wasted appointments: patients arrive with the right tests done.",
    "Carers say the practice is easier to reach and explains the next step.",
)
NO_REP_REASON = "The patient participation group has nobody free in the daytime; the team asks it for views instead."
MEETING_ROLES = [r for r in MeetingRole if r]
MIN_STAFF_FOR_PROJECTS = 3


@dataclass
class PlannedProject:
    """A project (not yet saved) and what goes with it once it has a key."""

    project: Project
    topic: Topic
    path: list[tuple[str, str, datetime]]  # (from step, to step, when), oldest first
    team: list[tuple[User, str]]  # staff on the team, champion first
    has_champion: bool
    has_patient_rep: bool
    first: bool  # the practice's first project: paid from the tariff

    def reached(self, step: str) -> datetime | None:
        """When the project reached ``step``, if it has."""
        return next((when for _, to_step, when in self.path if to_step == step), None)


def _moment(b: Build, day: date) -> datetime:
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=b.rng.randint(9, 16))
    return min(moment, b.now)


def _plan_project(
    b: Build, practice: Practice, topic: Topic, starts_on: date, *, withdraw: bool, first: bool
) -> PlannedProject:
    rng = b.rng
    age_weeks = (b.today - starts_on).days / 7
    steps, path = [str(Step.ORGANISE)], []
    for step, weeks in REACH_WEEKS:
        if weeks <= age_weeks:
            path.append((steps[-1], str(step), _moment(b, starts_on + timedelta(weeks=weeks))))
            steps.append(str(step))
    withdrawn_on, reason = None, ""
    if withdraw:
        active = [s for s in steps if s not in (Step.FOLLOW_UP, Step.COMPLETED)]
        k = rng.randrange(len(active))
        path = path[:k]
        since = path[-1][2].date() if path else starts_on
        withdrawn_on = min(b.today, since + timedelta(days=rng.randint(7, 20)))
        reason = rng.choice(WITHDRAWAL_REASONS)
        path.append((active[k], str(Step.WITHDRAWN), _moment(b, withdrawn_on)))
    current = path[-1][1] if path else str(Step.ORGANISE)
    started = _moment(b, starts_on)
    completed_on = next((when.date() for _, to_step, when in path if to_step == Step.FOLLOW_UP), None)
    resources = topic.ongoing_resources or (rng.choice(ONGOING_RESOURCES) if rng.random() < 0.2 else "")

    staff = b.staff.get(practice.pk, [])
    team = rng.sample(staff, min(len(staff), rng.randint(MIN_STAFF_FOR_PROJECTS, 6)))
    team.sort(key=lambda member: member[1] == StaffRole.GP)  # the champion is rarely the GP
    has_patient_rep = rng.random() < 0.85
    project = Project(
        practice=practice,
        title=topic.title,
        scope=topic.scope,
        starts_on=starts_on,
        planned_end_on=Project.default_end(starts_on),
        typology=topic.typology,
        process_subtheme=topic.subtheme,
        secondary_typology=topic.secondary,
        needs_ongoing_resources=bool(resources),
        ongoing_resources=resources,
        crosses_boundaries=bool(topic.other_organisations),
        other_organisations=topic.other_organisations,
        senior_sponsor=topic.senior_sponsor,
        step=current,
        step_changed_at=path[-1][2] if path else started,
        withdrawn_on=withdrawn_on,
        withdrawal_reason=reason,
        no_patient_rep_reason="" if has_patient_rep else NO_REP_REASON,
        lead_coach=rng.choice(b.coaches[practice.commissioner_id]) if practice.commissioner_id in b.coaches else None,
        completed_on=completed_on,
        staff_benefits=rng.choice(STAFF_BENEFITS).format(theme=topic.theme.lower()) if completed_on else "",
        patient_benefits=rng.choice(PATIENT_BENEFITS) if completed_on else "",
        created_by=b.leads[practice.commissioner_id],
        created_at=started,
    )
    has_champion = bool(team) and not (current == Step.ORGANISE and rng.random() < 0.3)
    return PlannedProject(project, topic, path, team, has_champion, has_patient_rep, first)


def _team_rows(b: Build, planned: PlannedProject) -> list[TeamMember]:
    project, added = planned.project, planned.project.created_at
    rows = [
        TeamMember(
            project=project,
            kind=MemberKind.STAFF,
            user=user,
            team_role=TEAM_ROLES.get(role, "Practice staff"),
            is_clinical=role in CLINICAL_ROLES,
            is_champion=planned.has_champion and i == 0,
            meeting_role=MEETING_ROLES[i] if i < len(MEETING_ROLES) else "",
            added_at=added,
        )
        for i, (user, role) in enumerate(planned.team)
    ]
    if planned.has_patient_rep:
        rows.append(
            TeamMember(
                project=project,
                kind=MemberKind.PATIENT,
                name=b.person()[0],
                contact="Through the patient participation group",
                consent_to_be_listed=True,
                team_role="Patient representative",
                added_at=added,
            )
        )
    if project.crosses_boundaries:
        rows.append(
            TeamMember(
                project=project,
                kind=MemberKind.PARTNER,
                name=b.person()[0],
                organisation="Community health services",
                team_role="District nursing team leader",
                is_clinical=True,
                added_at=added,
            )
        )
    return rows


def _section_rows(b: Build, planned: PlannedProject, filled: dict[str, dict[str, Any]]) -> list[WorkbookSection]:
    """Every section: written and complete for the steps passed, about half written in the current one."""
    project = planned.project
    left = {from_step: when for from_step, to_step, when in planned.path if to_step != Step.WITHDRAWN}
    reached = {to_step: when for _, to_step, when in planned.path}
    written: dict[str, datetime] = {}
    for step in (Step.ASSESS, Step.DIAGNOSE):
        keys = [s.key for s in sections_for(step)]
        if step in left:
            written |= dict.fromkeys(keys, left[step])
        elif step in reached:
            written |= dict.fromkeys(keys[: len(keys) // 2], reached[step])
    editors: list[User | None] = [user for user, _ in planned.team] or [None]
    rows = []
    for section in SECTIONS:
        when = written.get(section.key)
        if when is None:
            rows.append(WorkbookSection(project=project, key=section.key, data=section.empty()))
            continue
        data = filled[section.key]
        if section.key == "purpose":
            purpose = data["purpose"].replace("{practice}", project.practice.name)
            data = {"purpose": purpose}
        rows.append(
            WorkbookSection(
                project=project,
                key=section.key,
                data=data,
                complete=True,
                version=b.rng.randint(1, 4),
                updated_at=when,
                updated_by=b.rng.choice(editors),
            )
        )
    return rows


def _aim_rows(b: Build, planned: PlannedProject) -> list[SpecificAim]:
    reached = {to_step: when for _, to_step, when in planned.path}
    if Step.TREAT not in reached:
        return []
    project = planned.project
    aims = list(planned.topic.specific_aims) + b.rng.sample(EXTRA_AIMS, b.rng.randint(0, 2))
    created = min(b.now, reached[Step.TREAT] + timedelta(days=7))
    return [
        SpecificAim(
            project=project,
            measure=measure,
            baseline=baseline,
            target=target,
            target_date=project.planned_end_on,
            met=b.rng.random() < AIM_MET_SHARE if project.completed_on else None,
            created_at=created,
        )
        for measure, baseline, target in aims
    ]


WINDOW_YEARS = 5  # projects start in the current financial year and the four before it
PROJECT_GAP_DAYS = (45, 200)  # between one project's start and the next at an engaged practice
AIM_MET_SHARE = 0.7
CHUNK = 2000  # projects whose rows are built and inserted at a time, so memory stays bounded


def window_start(today: date) -> date:
    """The first day of the earliest of the five financial years the projects start in."""
    return financial_year_bounds(financial_year_of(today) - (WINDOW_YEARS - 1))[0]


def _project_starts(b: Build, practice: Practice) -> list[date]:
    """When the practice's projects start, oldest first.

    An engaged practice's newest started within the last hundred days and each before it
    one gap earlier, back to when it engaged or the window's start; a practice that
    withdrew had one, started a while before it withdrew.
    """
    rng, earliest = b.rng, window_start(b.today)
    if practice.engagement == Engagement.WITHDREW:
        since = practice.engagement_since or b.today
        return [min(b.today - timedelta(days=3), max(earliest, since - timedelta(days=rng.randint(30, 150))))]
    earliest = max(earliest, practice.engagement_since or earliest)
    starts = [b.today - timedelta(days=rng.randint(3, 100))]
    while (before := starts[-1] - timedelta(days=rng.randint(*PROJECT_GAP_DAYS))) >= earliest:
        starts.append(before)
    return starts[::-1]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def build_projects(b: Build) -> None:
    """Projects for each engaged practice over five years, one withdrawn for each that withdrew, with all they hold."""
    rng, topics = b.rng, list(TOPICS.values())
    planned: list[PlannedProject] = []
    for practice in b.practices:
        if practice.engagement not in (Engagement.ENGAGED, Engagement.WITHDREW):
            continue
        if len(b.staff.get(practice.pk, [])) < MIN_STAFF_FOR_PROJECTS:
            continue  # too few staff for a team: the method needs at least three
        withdrew = practice.engagement == Engagement.WITHDREW
        order = rng.sample(topics, len(topics))  # each topic once before any comes round again
        for n, starts_on in enumerate(_project_starts(b, practice)):
            withdraw = withdrew or rng.random() < 0.06
            topic = order[n % len(order)]
            planned.append(_plan_project(b, practice, topic, starts_on, withdraw=withdraw, first=n == 0))
    _insert(Project, [p.project for p in planned])
    b.projects = planned

    filled = {key: workbook_data(topic, "{practice}") for key, topic in TOPICS.items()}
    by_topic = {topic.title: filled[key] for key, topic in TOPICS.items()}
    for chunk in _chunks(planned):
        members, sections, aims, changes = [], [], [], []
        for p in chunk:
            members += _team_rows(b, p)
            sections += _section_rows(b, p, by_topic[p.topic.title])
            aims += _aim_rows(b, p)
            mover = p.project.lead_coach or p.project.created_by
            changes += [
                StepChange(project=p.project, changed_at=when, changed_by=mover, from_step=from_step, to_step=to_step)
                for from_step, to_step, when in p.path
            ]
        _insert(TeamMember, members)
        for member in members:
            b.teams.setdefault(member.project.pk, []).append(member)
        _insert(WorkbookSection, sections)
        _insert(SpecificAim, aims)
        _insert(StepChange, changes)


CHANGE_IDEAS = (
    "A buddy list so someone else acts when the owner is away",
    "One shared inbox with a named person on duty each day",
    "A script for reception with the three questions to ask",
    "A daily ten-minute huddle to plan the day",
)
MAX_POINTS = 104  # two years of weekly values
# How a measure's values move once the change is made (its level times this; lower is better):
# the improvement signal its run chart then shows, given enough points after the change.
EFFECTS = {ImprovementSignal.IMPROVING: 0.6, ImprovementSignal.NONE: 1.0, ImprovementSignal.WORSENING: 1.3}
EFFECT_WEIGHTS = (6, 3, 1)
SHIFT_POINTS = 8


def _improvement_rows(b: Build, planned: PlannedProject) -> tuple[list[Any], list[Any], list[tuple[Any, list[Any]]]]:
    """Change ideas, a ramp of PDSA cycles, and measures with weekly values for a project that reached Treat."""
    reached = {to_step: when.date() for _, to_step, when in planned.path}
    if Step.TREAT not in reached:
        return [], [], []
    rng, project = b.rng, planned.project
    treat = reached[Step.TREAT]
    done = Step.FOLLOW_UP in reached
    ideas = [
        ChangeIdea(project=project, title=title, description="Raised at a team meeting.", created_at=_moment(b, treat))
        for title in rng.sample(CHANGE_IDEAS, rng.randint(1, 2))
    ]
    cycles, follows = [], None
    for n in range(1, rng.randint(2, 5)):
        start = treat + timedelta(weeks=2 * (n - 1))
        acted = done or start + timedelta(weeks=2) <= b.today
        cycle = PdsaCycle(
            project=project,
            number=n,
            change_idea=ideas[0],
            follows=follows,
            objective="Test the change for two weeks with one team.",
            predictions="Fewer items waiting at the end of each day.",
            planned_start=start,
            planned_end=start + timedelta(weeks=2),
            actual_start=start if start <= b.today else None,
            results="Items waiting fell from nine to four a day." if acted else "",
            decision=rng.choice([ActDecision.ADOPT, ActDecision.ADAPT]) if acted else "",
            created_at=_moment(b, start),
        )
        cycles.append(cycle)
        follows = cycle  # saved in order, so each follows the one before
    measures = []
    last = min(b.today, reached.get(Step.COMPLETED, b.today))
    weeks = min(MAX_POINTS, max(1, (last - project.starts_on).days // 7))
    first = project.starts_on + timedelta(days=(4 - project.starts_on.weekday()) % 7)
    after_treat = sum(1 for w in range(weeks) if first + timedelta(weeks=w) >= treat)
    for i, (name, _baseline, _target) in enumerate(planned.topic.specific_aims[:2]):
        effect = rng.choices(tuple(EFFECTS), weights=EFFECT_WEIGHTS)[0]
        measure = Measure(
            project=project,
            name=name[:150],
            kind=MeasureKind.OUTCOME if i == 0 else MeasureKind.PROCESS,
            definition="Counted every Friday from the practice system.",
            unit="count",
            direction="down",
            frequency=Frequency.WEEKLY,
            baseline_points=8,
            # What the analysis finds, without analysing each series here: a shift needs a run after the change.
            improvement_signal=effect if after_treat >= SHIFT_POINTS else ImprovementSignal.NONE,
            created_at=_moment(b, treat),
        )
        level, values = rng.uniform(10, 30), []
        for w in range(weeks):
            on = first + timedelta(weeks=w)
            mean = level if on < treat else level * EFFECTS[effect]
            # The measure is set by key once it is saved; the most numerous rows, so nothing costs per row
            # that need not (a related object to assign, a default to call).
            values.append(
                MeasureValue(
                    on=on, period=period_start(on, Frequency.WEEKLY),
                    value=round(max(0.0, rng.gauss(mean, level * 0.12)), 1), entered_at=b.now,
                )
            )  # fmt: skip
        measures.append((measure, values))
    return ideas, cycles, measures


def build_improvement(b: Build) -> None:
    """PDSA cycles and measures with weekly data for every project that reached Treat."""
    for chunk in _chunks(b.projects):
        all_ideas, all_cycles, all_measures = [], [], []
        for planned in chunk:
            ideas, cycles, measures = _improvement_rows(b, planned)
            all_ideas += ideas
            all_cycles += cycles
            all_measures += measures
        _insert(ChangeIdea, all_ideas)
        # Cycles go in by number, so each predecessor in a ramp has its key before its follower.
        for number in sorted({c.number for c in all_cycles}):
            batch = [c for c in all_cycles if c.number == number]
            for cycle in batch:
                cycle.change_idea_id = cycle.change_idea.pk
                cycle.follows_id = cycle.follows.pk if cycle.follows else None
            _insert(PdsaCycle, batch)
        _insert(Measure, [m for m, _ in all_measures])
        values = []
        for measure, rows in all_measures:
            for row in rows:
                row.measure_id = measure.pk
            values += rows
        _insert(MeasureValue, values)


SESSION_EVERY = timedelta(weeks=2)
SESSION_WEEKS = 16  # coaching runs from the start to a little after the planned end
LATE_ACTIONS = 0.25  # done after their due date
ACTIONS = ("Draft the buddy list", "Count the week's results", "Ask the PPG for two volunteers",
           "Book the next team meeting", "Map the process with reception")  # fmt: skip


def _session_rows(b: Build, planned: PlannedProject) -> tuple[list[Any], list[Any], list[Any], Any]:
    """A session every two weeks while the project is coached, its attendance and actions, and the agreement."""
    rng, project = b.rng, planned.project
    team = b.teams.get(project.pk, [])
    if not team or project.lead_coach is None or not planned.path:
        return [], [], [], None  # still in Organise with nothing signed yet
    ends = min(b.today, project.starts_on + timedelta(weeks=SESSION_WEEKS))
    if project.withdrawn_on:
        ends = min(ends, project.withdrawn_on)
    sessions, attendance, actions = [], [], []
    on = project.starts_on + timedelta(days=rng.randint(2, 9))
    while on <= ends:
        session = Session(
            project=project, coach=project.lead_coach, status=SessionStatus.HELD, on=on, starts_at=dtime(13, 0),
            planned_minutes=60, actual_minutes=rng.choice((55, 60, 60, 70, 80)), format=SessionFormat.IN_PERSON,
            step=_step_on(planned, on), agenda="Review actions; the next PDSA cycle.", notes="Good discussion.",
            created_at=_moment(b, on), updated_at=_moment(b, on),
        )  # fmt: skip
        sessions.append(session)
        for member in team:
            attendance.append(
                SessionAttendance(session=session, member=member, status=rng.choice(("present",) * 5 + ("apologies",)))
            )
        for description in rng.sample(ACTIONS, rng.randint(1, 2)):
            due = on + timedelta(weeks=2)
            done = due < b.today - timedelta(days=7) or rng.random() < 0.3
            closed = min(b.today, due + timedelta(days=rng.randint(1, 21))) if rng.random() < LATE_ACTIONS else due
            actions.append(
                Action(
                    project=project, raised_in=session, description=description, owner=rng.choice(team), due_on=due,
                    status=ActionStatus.DONE if done else ActionStatus.OPEN, closed_on=closed if done else None,
                    created_at=_moment(b, on),
                )
            )  # fmt: skip
        on += SESSION_EVERY
    if project.step not in (Step.COMPLETED, Step.WITHDRAWN) and on > b.today:
        sessions.append(
            Session(project=project, coach=project.lead_coach, status=SessionStatus.PLANNED, on=on,
                    starts_at=dtime(13, 0), planned_minutes=60, created_at=b.now)
        )  # fmt: skip
    agreement = CoachingAgreement(
        project=project, signed_by_name="Dr A Partner", signed_by_role="GP partner",
        signed_on=project.starts_on + timedelta(days=3), meeting_slot="Tuesdays at 1pm", meeting_minutes=60,
        staff_released="The team for the hour.", champion=team[0].name or "The practice manager",
        patients_involved="A patient representative sits on the team.", recorded_at=_moment(b, project.starts_on),
    )  # fmt: skip
    return sessions, attendance, actions, agreement


def _step_on(planned: PlannedProject, on: date) -> str:
    step = str(Step.ORGANISE)
    for _, to_step, when in planned.path:
        if when.date() <= on and to_step != Step.WITHDRAWN:
            step = to_step
    return step


def build_coaching(b: Build) -> None:
    """Coach profiles with training and mentors; each project's agreement, sessions, attendance and actions."""
    rng = b.rng
    profiles, training = [], []
    for commissioner_id, coaches in b.coaches.items():
        for n, user in enumerate(coaches):
            trained = b.today - timedelta(days=rng.randint(200, 1500))
            profile = CoachProfile(
                user=user, commissioner_id=commissioner_id, commissioning_role="Primary care commissioning manager",
                level=(CoachLevel.MENTOR, CoachLevel.COACH, CoachLevel.COACH, CoachLevel.IN_TRAINING)[n % 4],
                trained_on=trained, protected_hours=Decimal("4.0"), max_projects=rng.choice((3, 4, 5)),
                calendar_token=f"bench-{user.pk}-{rng.getrandbits(64):x}",
            )  # fmt: skip
            profiles.append(profile)
            training.append(TrainingRecord(coach=profile, course="Clinical microsystems coaching", completed_on=trained,
                                           hours=Decimal("14.0")))  # fmt: skip
    _insert(CoachProfile, profiles)
    for record in training:
        record.coach_id = record.coach.pk
    _insert(TrainingRecord, training)
    _insert(Mentoring, _mentoring_rows(b, profiles))

    for chunk in _chunks(b.projects):
        sessions, attendance, actions, agreements = [], [], [], []
        for planned in chunk:
            s, a, x, agreement = _session_rows(b, planned)
            sessions += s
            attendance += a
            actions += x
            if agreement is not None:
                agreements.append(agreement)
        _insert(Session, sessions)
        for row in attendance:
            row.session_id = row.session.pk
        _insert(SessionAttendance, attendance)
        for action in actions:
            action.raised_in_id = action.raised_in.pk
        _insert(Action, actions)
        _insert(CoachingAgreement, agreements)
    b.teams.clear()  # nothing after this needs the teams


def _mentoring_rows(b: Build, profiles: list[CoachProfile]) -> list[Mentoring]:
    """Each coach in training mentored by its commissioner's mentor since training; an earlier spell that ended."""
    mentors = {p.commissioner_id: p for p in profiles if p.level == CoachLevel.MENTOR}
    rows = []
    for profile in profiles:
        mentor = mentors.get(profile.commissioner_id)
        if mentor is None or profile.level == CoachLevel.MENTOR or profile.trained_on is None:
            continue
        if profile.level == CoachLevel.IN_TRAINING:
            rows.append(Mentoring(mentor=mentor, mentee=profile, starts_on=profile.trained_on))
        elif b.rng.random() < 0.5:  # a qualified coach, mentored for its first months
            ends_on = min(b.today, profile.trained_on + timedelta(days=b.rng.randint(90, 270)))
            rows.append(Mentoring(mentor=mentor, mentee=profile, starts_on=profile.trained_on, ends_on=ends_on))
    return rows


# Follow-ups, reviews and embedding ------------------------------------------------------------

FOLLOW_UP_HELD_SHARE = 0.8  # of 6-month follow-ups past due on a project still in Follow-up; the rest overdue
SUSTAINED_WEIGHTS = {False: (65, 25, 10), True: (45, 30, 25)}  # by whether the change needs ongoing resources
NOT_SUSTAINED_REASONS = [r for r in NotSustainedReason.values if r != NotSustainedReason.OTHER]
NEXT_IDEA = "Repeat prescriptions: fewer queries at the desk."
OTHER_NOT_SUSTAINED = "The practice merged and the new partners chose a different system."
REVIEW_NOTES = (
    "The team still meets weekly; the measure is back on the practice's monthly report.",
    "The new rota held while the champion was here; it needs a new owner.",
    "Agreed to re-run the last PDSA cycle with the new receptionists.",
)
SCORE_CHANGES = (-1, 0, 0, 1, 1, 2)  # a characteristic's change from one self-assessment to the next


def _follow_up_rows(b: Build, planned: PlannedProject) -> list[tuple[FollowUp, FollowUpReview | None]]:
    """A completed project's two follow-ups: held with a review once due (both, once it closed), or still scheduled."""
    project = planned.project
    if project.completed_on is None:
        return []
    rng, closed = b.rng, planned.reached(Step.COMPLETED)
    rows: list[tuple[FollowUp, FollowUpReview | None]] = []
    for kind, due_on in due_dates(project.completed_on).items():
        held_on = None
        if kind == FollowUpKind.TWELVE_MONTHS and closed is not None:
            held_on = closed.date()  # the 12-month review is what closed the project
        elif kind == FollowUpKind.SIX_MONTHS and due_on < b.today and (closed or rng.random() < FOLLOW_UP_HELD_SHARE):
            held_on = min(b.today, due_on + timedelta(days=rng.randint(-10, 20)))
        follow_up = FollowUp(
            project=project, kind=kind, due_on=due_on, assigned_to=project.lead_coach,
            status=FollowUpStatus.HELD if held_on else FollowUpStatus.SCHEDULED,
            created_at=_moment(b, project.completed_on),
        )  # fmt: skip
        rows.append((follow_up, _review(b, follow_up, held_on) if held_on else None))
    return rows


def _review(b: Build, follow_up: FollowUp, held_on: date) -> FollowUpReview:
    rng, project = b.rng, follow_up.project
    sustained = rng.choices(list(Sustained), weights=SUSTAINED_WEIGHTS[project.needs_ongoing_resources])[0]
    reasons: list[str] = []
    if sustained != Sustained.SUSTAINED:
        reasons = rng.sample(NOT_SUSTAINED_REASONS, rng.randint(1, 2))
        if project.needs_ongoing_resources and NotSustainedReason.FUNDING_ENDED not in reasons and rng.random() < 0.5:
            reasons.append(NotSustainedReason.FUNDING_ENDED)
        if rng.random() < 0.1:
            reasons.append(NotSustainedReason.OTHER)
    plans = rng.random() < 0.5
    return FollowUpReview(
        follow_up=follow_up, held_on=held_on, sustained=sustained, reasons=[str(r) for r in reasons],
        other_reason=OTHER_NOT_SUSTAINED if NotSustainedReason.OTHER in reasons else "",
        plans_another_project=plans, next_project_idea=NEXT_IDEA if plans else "",
        notes=rng.choice(REVIEW_NOTES), recorded_by=follow_up.assigned_to, recorded_at=_moment(b, held_on),
    )  # fmt: skip


def _assessment_rows(b: Build, planned: PlannedProject, held: dict[str, date]) -> list[EmbeddingAssessment]:
    """The team's self-assessment when it left Organise, and again at each follow-up held: mostly a little better."""
    reached = planned.reached(Step.ASSESS)
    if reached is None:
        return []
    rng, project = b.rng, planned.project
    scores = {name: rng.randint(1, 4) for name, _ in CHARACTERISTICS}
    rows = []
    for occasion, on in [(EmbeddingOccasion.BASELINE, reached.date()), *sorted(held.items(), key=lambda kv: kv[1])]:
        if occasion != EmbeddingOccasion.BASELINE:
            scores = {name: max(SCORE_MIN, min(SCORE_MAX, v + rng.choice(SCORE_CHANGES))) for name, v in scores.items()}
        rows.append(
            EmbeddingAssessment(
                project=project,
                occasion=occasion,
                assessed_on=on,
                recorded_by=project.lead_coach,
                recorded_at=_moment(b, on),
                **scores,
            )
        )
    return rows


def build_follow_ups(b: Build) -> None:
    """Each completed project's follow-ups with the reviews of those held, and every embedding self-assessment."""
    for chunk in _chunks(b.projects):
        follow_ups, reviews, assessments = [], [], []
        for planned in chunk:
            rows = _follow_up_rows(b, planned)
            follow_ups += [follow_up for follow_up, _ in rows]
            reviews += [review for _, review in rows if review is not None]
            held = {f.kind: r.held_on for f, r in rows if r is not None}
            assessments += _assessment_rows(b, planned, held)
        _insert(FollowUp, follow_ups)
        for review in reviews:
            review.follow_up_id = review.follow_up.pk
        _insert(FollowUpReview, reviews)
        _insert(EmbeddingAssessment, assessments)


# Payments ------------------------------------------------------------------------------------

APPLICATION_SHARE = 0.15  # later projects funded through an approved application
AGREEMENT_SIGNED_AFTER = timedelta(days=3)  # as ``_session_rows`` signs it
# Status weights (due, approved, paid, cancelled) by how many days ago a payment fell due: old ones are paid.
STATUS_BY_AGE = ((120, (3, 4, 88, 5)), (30, (25, 35, 35, 5)), (-1, (70, 20, 5, 5)))


def _status_by_age(b: Build, on: date) -> str:
    age = (b.today - on).days
    weights = next(w for older_than, w in STATUS_BY_AGE if age > older_than)
    return str(b.rng.choices(PAYMENT_STATUSES, weights=weights)[0])


def build_payments(b: Build) -> None:
    """A tariff per commissioner and year; first projects paid from it by milestone, a few later ones by application.

    A project is paid once its coaching agreement is signed (it left Organise with a coach) and
    again when it completes, at a status that depends on how long ago each fell due.
    """
    years = range(financial_year_of(window_start(b.today)), financial_year_of(b.today) + 1)
    finance = dict(ProgrammeRole.objects.filter(role=ProgrammeRoleKind.FINANCE).values_list("commissioner", "user"))
    volumes: dict[int, _Volume] = {}
    for fy in years:
        tariffs = {c.pk: b.rng.choice(TARIFF_AMOUNTS) for c in b.commissioners}
        saved = _insert(
            Tariff,
            [
                Tariff(commissioner_id=pk, financial_year=fy, first_project_amount=amount, set_by=b.leads[pk])
                for pk, amount in tariffs.items()
            ],
        )
        _insert(
            TariffMilestone,
            [TariffMilestone(tariff=t, milestone=m, percent=p) for t in saved for m, p in TARIFF_SHARES.items()],
        )
        volumes[fy] = _Volume(fy, tariffs, finance, set())
    for chunk in _chunks(b.projects):
        applications, payments = [], []
        for planned in chunk:
            application, paid = _project_payments(b, planned, volumes)
            if application is not None:
                applications.append(application)
            payments += paid
        _insert(FundingApplication, applications)
        for payment in payments:
            payment.application_id = payment.application.pk if payment.application else None
        _insert(Payment, payments)


def _project_payments(
    b: Build, planned: PlannedProject, volumes: dict[int, _Volume]
) -> tuple[FundingApplication | None, list[Payment]]:
    project = planned.project
    if not planned.path or project.lead_coach is None:
        return None, []  # no agreement signed: nothing is due yet
    if not planned.first and b.rng.random() >= APPLICATION_SHARE:
        return None, []
    agreed = project.starts_on + AGREEMENT_SIGNED_AFTER
    tariff = volumes[financial_year_of(agreed)].tariffs[project.practice.commissioner_id]
    application = None if planned.first else _approved_application(b, project, tariff)
    total = application.amount_approved if application and application.amount_approved else tariff
    reached = [(Milestone.AGREEMENT, agreed), (Milestone.COMPLETION, project.completed_on)]
    shares = list(TARIFF_SHARES.values())
    payments = [
        _payment(
            b,
            volumes[financial_year_of(on)],
            project,
            application,
            on=on,
            amount=amount,
            kind=PaymentKind.MILESTONE,
            milestone=milestone,
            percent=percent,
            status=_status_by_age(b, on),
        )
        for (milestone, on), percent, amount in zip(reached, shares, split(total, shares), strict=True)
        if on is not None
    ]
    return application, payments


STEPS: list[Callable[[Build], None]] = [
    build_programme, build_practices, build_staff, build_projects, build_improvement, build_coaching,
    build_follow_ups, build_payments,
]  # fmt: skip


# The funding export's dataset -----------------------------------------------------------------

EXPORT_ROWS = 100_000  # payments in the last whole financial year: what the funding export is timed on
EXPORT_SMALL_SHARE = 10  # the year before holds a tenth as many, for the export's memory at 10,000 rows
ADJUSTED_SHARE = 100  # one payment in a hundred is an adjustment of a paid one
VOLUME_BATCH = 5000  # projects planned and inserted at a time, so the build's memory stays small
COMPLETED_SHARE = 0.6  # projects that also reached completion in the year, so have both milestone payments
PAYMENT_STATUSES = (PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID, PaymentStatus.CANCELLED)
STATUS_WEIGHTS = (25, 20, 45, 10)
TARIFF_AMOUNTS = (Decimal("3000.00"), Decimal("4000.00"), Decimal("4500.00"), Decimal("6000.00"))
TARIFF_SHARES = {Milestone.AGREEMENT: Decimal("50"), Milestone.COMPLETION: Decimal("50")}
ONGOING_RESOURCES = (
    "Two hours a week of healthcare assistant time, met from the practice's ARRS budget.",
    # Written as a bullet, as people do: a text cell starting with "-" that the export must neutralise.
    '- A "results buddy" rota: 30 minutes a day of a receptionist\'s time, agreed with the partners.',
    "Room hire for the weekly clinic; the PCN has agreed to pay it from April.",
)
CANCEL_REASONS = ("The project was withdrawn before this milestone.", "Raised twice in error; the other one stands.")
ADJUSTMENT_REASONS = (
    "Overpaid: the tariff changed after the agreement was signed.",
    "Underpaid: the approved amount was £250 more than paid.",
)


def export_years(today: date) -> tuple[int, int]:
    """The last whole financial year (the export's rows) and the year before it (a tenth of them)."""
    year = financial_year_of(today) - 1
    return year, year - 1


@dataclass
class _Volume:
    """What building one year's payments needs from the years before."""

    year: int
    tariffs: dict[int, Decimal]  # commissioner id → first-project amount
    finance: dict[int, int]  # commissioner id → its finance user's id
    funded: set[int]  # practices that already had a first project
    adjusted: list[Payment] = field(default_factory=list)  # paid milestone payments to correct: a uniform sample
    paid_seen: int = 0
    references: Iterator[int] = field(default_factory=lambda: count(1))


def build_funding_volume(b: Build) -> None:
    """Tariffs and funded projects with their payments: ``export_rows`` in the last whole year, a tenth the year before.

    The export dataset alone has these, on its own practices (no staff, no workbooks), so
    the page datasets stay as they are. It is synthetic in one way: about eight funded
    projects a practice in a year, far more than any programme runs, so that the year holds
    the export's 100,000 rows. Each practice's first project is paid from the tariff, later
    ones through an approved application; payments are at every status (paid ones with a
    date and reference), and one in a hundred is an adjustment of a paid one. Rows are
    created in their final state: a paid payment cannot be updated (see ``db_guard``).
    """
    year, before = export_years(b.today)
    finance = dict(ProgrammeRole.objects.filter(role=ProgrammeRoleKind.FINANCE).values_list("commissioner", "user"))
    funded: set[int] = set()
    for fy, rows in ((before, b.export_rows // EXPORT_SMALL_SHARE), (year, b.export_rows)):
        tariffs = {c.pk: b.rng.choice(TARIFF_AMOUNTS) for c in b.commissioners}
        saved = _insert(
            Tariff,
            [
                Tariff(commissioner_id=pk, financial_year=fy, first_project_amount=amount, set_by=b.leads[pk])
                for pk, amount in tariffs.items()
            ],
        )
        _insert(
            TariffMilestone,
            [TariffMilestone(tariff=t, milestone=m, percent=p) for t in saved for m, p in TARIFF_SHARES.items()],
        )
        _funding_year(b, _Volume(fy, tariffs, finance, funded), rows)


def _funding_year(b: Build, v: _Volume, rows: int) -> None:
    adjustments = rows // ADJUSTED_SHARE
    milestones = rows - adjustments
    practices = b.practices[:]
    b.rng.shuffle(practices)
    turn = count()
    while milestones > 0:
        projects: list[Project] = []
        applications: list[FundingApplication] = []
        payments: list[Payment] = []
        while milestones > 0 and len(projects) < VOLUME_BATCH:
            practice = practices[next(turn) % len(practices)]
            both = milestones >= 2 and b.rng.random() < COMPLETED_SHARE
            project, application, paid = _funded_project(b, v, practice, both)
            projects.append(project)
            if application is not None:
                applications.append(application)
            payments += paid
            milestones -= len(paid)
        _insert(Project, projects)
        for application in applications:
            application.project_id = application.project.pk
        _insert(FundingApplication, applications)
        for payment in payments:
            payment.project_id = payment.project.pk
            payment.application_id = payment.application.pk if payment.application else None
        _insert(Payment, payments)
        _sample_paid(b, v, [p for p in payments if p.status == PaymentStatus.PAID], adjustments)
    if len(v.adjusted) < adjustments:
        raise CommandError(f"Too few paid payments in {v.year} for {adjustments} adjustments: build more rows.")
    _insert(Payment, [_adjustment(b, v, paid) for paid in v.adjusted])


def _sample_paid(b: Build, v: _Volume, paid: list[Payment], size: int) -> None:
    """Keep a uniform sample of ``size`` of the paid payments seen so far (reservoir sampling: memory stays small)."""
    for payment in paid:
        if len(v.adjusted) < size:
            v.adjusted.append(payment)
        else:
            slot = b.rng.randint(0, v.paid_seen)
            if slot < size:
                v.adjusted[slot] = payment
        v.paid_seen += 1


def _funded_project(
    b: Build, v: _Volume, practice: Practice, both: bool
) -> tuple[Project, FundingApplication | None, list[Payment]]:
    """A project (not saved) funded in the year, its approved application if it is not the first, and its payments."""
    rng = b.rng
    first_day, last_day = financial_year_bounds(v.year)
    agreed = first_day + timedelta(days=rng.randint(0, 300))
    completed = min(last_day, agreed + timedelta(days=rng.randint(60, 330))) if both else None
    starts_on = agreed - timedelta(days=rng.randint(3, 30))
    topic = rng.choice(list(TOPICS.values()))
    resources = rng.choice(ONGOING_RESOURCES) if rng.random() < 0.3 else ""
    lead = b.leads[practice.commissioner_id]
    project = Project(
        practice=practice, title=topic.title, scope=topic.scope, starts_on=starts_on,
        planned_end_on=Project.default_end(starts_on), typology=topic.typology, process_subtheme=topic.subtheme,
        secondary_typology=topic.secondary, needs_ongoing_resources=bool(resources), ongoing_resources=resources,
        step=Step.COMPLETED if completed else Step.TREAT, step_changed_at=_moment(b, completed or agreed),
        completed_on=completed, created_by=lead, created_at=_moment(b, starts_on),
    )  # fmt: skip
    tariff = v.tariffs[practice.commissioner_id]
    application = _approved_application(b, project, tariff) if practice.pk in v.funded else None
    v.funded.add(practice.pk)
    total = application.amount_approved if application and application.amount_approved else tariff
    reached = [(Milestone.AGREEMENT, agreed), (Milestone.COMPLETION, completed)]
    shares = list(TARIFF_SHARES.values())
    payments = [
        _payment(
            b,
            v,
            project,
            application,
            on=on,
            amount=amount,
            kind=PaymentKind.MILESTONE,
            milestone=milestone,
            percent=percent,
        )  # fmt: skip
        for (milestone, on), percent, amount in zip(reached, shares, split(total, shares), strict=True)
        if on is not None
    ]
    return project, application, payments


def _approved_application(b: Build, project: Project, tariff: Decimal) -> FundingApplication:
    """The approved funding application of a project that is not its practice's first (not saved)."""
    approved = Decimal(b.rng.randrange(2000, 12001, 250))
    lead = b.leads[project.practice.commissioner_id]
    return FundingApplication(
        project=project, why="To release staff time for the weekly team meeting.", amount_requested=approved,
        pays_for="Staff time: two hours a week for the team.", needs_ongoing_resources=project.needs_ongoing_resources,
        ongoing_resources_plan=project.ongoing_resources, status=ApplicationStatus.APPROVED,
        submitted_at=_moment(b, project.starts_on), amount_approved=approved,
        decision_reason="Fits the programme's priorities for this year.",
        above_tariff_justification="A larger practice: more staff to release." if approved > tariff else "",
        decided_by=lead, decided_at=_moment(b, project.starts_on + timedelta(days=2)),
    )  # fmt: skip


def _payment(
    b: Build,
    v: _Volume,
    project: Project,
    application: FundingApplication | None,
    *,
    on: date,
    status: str | None = None,
    **fields: Any,
) -> Payment:
    """A payment due from ``on``, created at ``status`` (a random one if None) with the fields that status carries."""
    rng, lead = b.rng, b.leads[project.practice.commissioner_id]
    if status is None:
        status = rng.choices(PAYMENT_STATUSES, weights=STATUS_WEIGHTS)[0]
    payment = Payment(
        project=project, route=FundingRoute.APPLICATION if application else FundingRoute.FIRST_PROJECT,
        application=application, due_on=on, financial_year=financial_year_of(on), status=status, created_by=lead,
        created_at=_moment(b, on), **fields,
    )  # fmt: skip
    if status in (PaymentStatus.APPROVED, PaymentStatus.PAID):
        approved_on = min(b.today, on + timedelta(days=rng.randint(2, 20)))
        payment.approved_by, payment.approved_at = lead, _moment(b, approved_on)
        if status == PaymentStatus.PAID:
            paid_on = min(b.today, approved_on + timedelta(days=rng.randint(5, 30)))
            payment.paid_on, payment.paid_at = paid_on, _moment(b, paid_on)
            payment.paid_by_id = v.finance.get(project.practice.commissioner_id)
            payment.reference = f"PO{v.year % 100:02d}-{next(v.references):06d}"
    elif status == PaymentStatus.CANCELLED:
        payment.cancelled_by, payment.cancelled_at = lead, _moment(b, on + timedelta(days=rng.randint(1, 20)))
        payment.cancel_reason = rng.choice(CANCEL_REASONS)
    return payment


def _adjustment(b: Build, v: _Volume, paid: Payment) -> Payment:
    """A correction of a paid payment, due in the same year: usually recovering money, sometimes paying more."""
    assert paid.paid_on is not None
    on = max(paid.due_on, min(financial_year_bounds(v.year)[1], paid.paid_on + timedelta(days=b.rng.randint(7, 60))))
    amount = Decimal(b.rng.randrange(50, 501, 25)) * (1 if b.rng.random() < 0.3 else -1)
    return _payment(
        b, v, paid.project, paid.application, on=on, amount=amount, kind=PaymentKind.ADJUSTMENT, adjusts_id=paid.pk,
        reason=b.rng.choice(ADJUSTMENT_REASONS),
    )  # fmt: skip


EXPORT_STEPS: list[Callable[[Build], None]] = [build_programme, build_practices, build_funding_volume]


# The notification sweep's dataset --------------------------------------------------------------

SWEEP_PROJECTS = 10_000  # completed projects with a follow-up falling due: what the sweep is timed on
SWEEP_SMALL_SHARE = 10  # the small sweep dataset holds a tenth as many, for the query counts
SWEEP_WINDOW_DAYS = 15  # 6-month follow-ups fall due from today to 14 days ahead: each has a reminder due


def build_sweep_volume(b: Build) -> None:
    """``sweep_projects`` completed projects, each with its two follow-ups, a lead coach and a champion with a login.

    The 6-month follow-ups fall due evenly from today to 14 days ahead, so the sweep on the
    build's day finds a reminder due for every one (14 days before, or on the day) for the
    coach and for the champion. The sweep's dataset alone has these, on its own practices.
    """
    rng = b.rng
    practices = [p for p in b.practices if b.staff.get(p.pk) and p.commissioner_id in b.coaches]
    if not practices:
        raise CommandError("The sweep's dataset has no practice with staff and a coach: build more practices.")
    topics = list(TOPICS.values())
    for start in range(0, b.sweep_projects, VOLUME_BATCH):
        projects: list[Project] = []
        champions: list[User] = []
        for n in range(start, min(start + VOLUME_BATCH, b.sweep_projects)):
            practice = practices[n % len(practices)]
            completed = b.today + timedelta(days=n % SWEEP_WINDOW_DAYS) - relativedelta(months=6)
            starts_on = completed - timedelta(weeks=rng.randint(13, 30))
            topic = rng.choice(topics)
            projects.append(
                Project(
                    practice=practice,
                    title=topic.title,
                    scope=topic.scope,
                    starts_on=starts_on,
                    planned_end_on=Project.default_end(starts_on),
                    typology=topic.typology,
                    process_subtheme=topic.subtheme,
                    step=Step.FOLLOW_UP,
                    step_changed_at=_moment(b, completed),
                    completed_on=completed,
                    lead_coach=rng.choice(b.coaches[practice.commissioner_id]),
                    created_by=b.leads[practice.commissioner_id],
                    created_at=_moment(b, starts_on),
                )  # fmt: skip
            )
            champions.append(rng.choice(b.staff[practice.pk])[0])
        _insert(Project, projects)
        _insert(
            TeamMember,
            [
                TeamMember(
                    project=project,
                    kind=MemberKind.STAFF,
                    user=champion,
                    team_role="Practice staff",
                    is_champion=True,
                    added_at=project.created_at,
                )  # fmt: skip
                for project, champion in zip(projects, champions, strict=True)
            ],
        )
        _insert(
            FollowUp,
            [
                FollowUp(project=project, kind=kind, due_on=due_on, assigned_to=project.lead_coach)
                for project in projects
                if project.completed_on is not None
                for kind, due_on in due_dates(project.completed_on).items()
            ],
        )


SWEEP_STEPS: list[Callable[[Build], None]] = [build_programme, build_practices, build_staff, build_sweep_volume]


def wanted_marker(practices: int, seed: int, export_rows: int, sweep_projects: int = 0) -> dict[str, int]:
    """What a dataset's marker says it holds: the export and sweep datasets also say how many payments or projects."""
    return (
        {"version": BUILD_VERSION, "practices": practices, "seed": seed}
        | ({"export_rows": export_rows} if export_rows else {})
        | ({"sweep_projects": sweep_projects} if sweep_projects else {})
    )


def build(
    practices: int,
    seed: int = 2024,
    log: Callable[[str], None] = print,
    export_rows: int = 0,
    sweep_projects: int = 0,
) -> None:
    """Empty the database and build the dataset for ``practices`` practices, in one transaction.

    With ``export_rows`` it is the funding export's dataset instead (``EXPORT_STEPS``); with
    ``sweep_projects``, the notification sweep's (``SWEEP_STEPS``).
    """
    scale = Scale.for_practices(practices)
    rng = random.Random(seed)  # noqa: S311  (synthetic data, not security)
    b = Build(
        scale=scale,
        rng=rng,
        password_hash=make_password(PASSWORD),
        now=datetime.now(UTC),
        export_rows=export_rows,
        sweep_projects=sweep_projects,
    )
    steps = SWEEP_STEPS if sweep_projects else EXPORT_STEPS if export_rows else STEPS
    with transaction.atomic():
        for step in steps:
            started = time.monotonic()
            step(b)
            log(f"  {step.__name__}: {time.monotonic() - started:.1f}s")
        AuditEntry.objects.create(
            action=MARKER_ACTION,
            summary=f"Benchmark dataset: {practices} practices"
            + (f", {export_rows} payments" if export_rows else "")
            + (f", {sweep_projects} projects with follow-ups due" if sweep_projects else ""),
            changes=wanted_marker(practices, seed, export_rows, sweep_projects),
        )
    if connection.vendor == "postgresql":
        # Planner statistics, as autovacuum would have gathered them on a live server: without them
        # PostgreSQL plans for the empty tables it last saw (a sequential scan of every user, say).
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        log(f"  analyze: {time.monotonic() - started:.1f}s")


def _benchmarked_commissioner() -> Commissioner | None:
    """The commissioner with the most practices: its lead is who ``bench`` signs in as."""
    return Commissioner.objects.annotate(n=Count("practices")).order_by("-n", "ods_code").first()


def render_sample_charts(log: Callable[[str], None] = print) -> None:
    """Draw the charts of the measures the benchmark's pages are about, as the worker would have."""
    from celery import current_app

    from projects.chart_cache import refresh_charts

    started = time.monotonic()
    current_app.conf.task_always_eager = True  # no worker runs while building: draw here and now
    commissioner = _benchmarked_commissioner()
    measures = measure_samples(commissioner) if commissioner else {}
    for sample in measures.get("measure", {}).values():
        refresh_charts(int(sample["key"].split("/")[1]))
    log(f"  render_sample_charts: {time.monotonic() - started:.1f}s")


def _benchmarked_lead(commissioner: Commissioner | None) -> User | None:
    """The programme lead ``bench`` signs in as."""
    leads = User.objects.filter(
        programme_roles__commissioner=commissioner, programme_roles__role=ProgrammeRoleKind.LEAD
    )
    return leads.order_by("pk").first() if commissioner else None


def warm_pages(urls: Sequence[str], log: Callable[[str], None] = print) -> None:
    """Request each page once in-process as the benchmarked lead, so the report charts it asks for are drawn now.

    Celery runs eagerly here, so the drawing queued when a page finds a chart missing happens
    within the request, as the worker of a warm site would have done it; ``bench`` then times
    pages whose charts are ready. Charts are keyed by their figures, so this draws nothing twice.
    """
    from celery import current_app
    from django.test import Client

    from evaluation.models import ReportChart

    current_app.conf.task_always_eager = True  # no worker runs while building: draw here and now
    lead = _benchmarked_lead(_benchmarked_commissioner())
    if lead is None:
        raise CommandError("There is no programme lead to warm the pages as: build the dataset first.")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(lead)
    for url in urls:
        started = time.monotonic()
        status = client.get(url).status_code
        if status != 200:
            raise CommandError(f"Warming {url} as {lead.email}: it answered {status}.")
        log(f"warmed {url} in {time.monotonic() - started:.1f}s")
    by_status = dict(ReportChart.objects.values_list("status").annotate(n=Count("id")).order_by("status"))
    log(f"report charts by status: {json.dumps(by_status, sort_keys=True)}")


def _busiest_coach_login(commissioner: Commissioner | None) -> dict[str, str] | None:
    """The coach of the benchmarked commissioner with the most sessions: whose coaching pages are timed."""
    if commissioner is None:
        return None
    coach = (
        User.objects.filter(coach_profile__commissioner=commissioner)
        .annotate(sessions=Count("coaching_sessions"))
        .order_by("-sessions", "email")
        .first()
    )
    return {"email": coach.email, "password": PASSWORD} if coach else None


def _admin_login() -> dict[str, str] | None:
    """The staff admin: who downloads the funding export of every commissioner."""
    admin = User.objects.filter(is_staff=True, is_superuser=True).order_by("pk").first()
    return {"email": admin.email, "password": PASSWORD} if admin else None


def sample_chart(commissioner: Commissioner | None) -> dict[str, Any]:
    """The stored run chart of the largest sample measure: the file ``bench`` serves beside a static one."""
    from django.core.files.storage import default_storage

    from projects.models import Chart

    largest = measure_samples(commissioner).get("measure", {}).get("largest") if commissioner else None
    if largest is None:
        return {}
    chart = Chart.objects.filter(measure_id=int(largest["key"].split("/")[1]), kind="run", status="ready").first()
    if chart is None or not default_storage.exists(chart.png):
        return {}
    return {"png": chart.png, "bytes": default_storage.size(chart.png)}


def built_marker() -> dict[str, Any] | None:
    entry = AuditEntry.objects.filter(action=MARKER_ACTION).order_by("-at", "-id").first()
    return entry.changes if entry else None


def samples(commissioner: Commissioner | None) -> dict[str, dict[str, Any]]:
    """Objects a page can be about, within the benchmarked lead's commissioner.

    Each kind has the ``largest`` and the ``smallest`` such object, as ``key`` (what its
    URL needs) and the sizes that made it so.
    """
    if commissioner is None:
        return {}
    practices = (
        Practice.objects.filter(commissioner=commissioner)
        .annotate(staff=Count("memberships", distinct=True), history=Count("engagement_changes", distinct=True))
        .filter(staff__gt=0, history__gt=0)
        .values("ods_code", "staff", "history")
    )
    largest = practices.order_by("-staff", "-history", "ods_code").first()
    smallest = practices.order_by("staff", "history", "ods_code").first()
    if largest is None or smallest is None:
        return {}

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        return {"key": row["ods_code"], "staff": row["staff"], "history": row["history"]}

    return (
        {"practice": {"largest": shape(largest), "smallest": shape(smallest)}}
        | pcn_samples(commissioner)
        | project_samples(commissioner)
    )


def pcn_samples(commissioner: Commissioner) -> dict[str, dict[str, Any]]:
    """The PCN with the most practices and the one with the fewest: what the programme pages filter by."""
    pcns = Pcn.objects.filter(commissioner=commissioner).annotate(n=Count("practices")).filter(n__gt=0)
    largest = pcns.order_by("-n", "pk").values("pk", "n").first()
    smallest = pcns.order_by("n", "pk").values("pk", "n").first()
    if largest is None or smallest is None:
        return {}
    return {
        "pcn": {
            "largest": {"key": largest["pk"], "practices": largest["n"]},
            "smallest": {"key": smallest["pk"], "practices": smallest["n"]},
        }
    }


def project_samples(commissioner: Commissioner) -> dict[str, dict[str, Any]]:
    """The project with the biggest team and the one with the smallest, among those with a filled workbook."""
    projects = Project.objects.filter(practice__commissioner=commissioner)
    past_diagnose = projects.filter(step__in=[Step.TREAT, Step.FOLLOW_UP, Step.COMPLETED])
    rows = (past_diagnose if past_diagnose.exists() else projects).annotate(
        team_size=Count("team", distinct=True),
        aims=Count("specific_aims", distinct=True),
        step_changes_count=Count("step_changes", distinct=True),
    )
    fields = ("pk", "team_size", "aims", "step_changes_count")
    largest = rows.order_by("-team_size", "-aims", "-step_changes_count", "pk").values(*fields).first()
    smallest = rows.order_by("team_size", "aims", "step_changes_count", "pk").values(*fields).first()
    if largest is None or smallest is None:
        return {}

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": row["pk"],
            "team": row["team_size"],
            "aims": row["aims"],
            "step_changes": row["step_changes_count"],
        }

    return {"project": {"largest": shape(largest), "smallest": shape(smallest)}} | measure_samples(commissioner)


def measure_samples(commissioner: Commissioner) -> dict[str, dict[str, Any]]:
    """The measure with the most values and the one with the fewest; the key is "<project id>/<measure id>"."""
    rows = (
        Measure.objects.filter(project__practice__commissioner=commissioner)
        .annotate(points=Count("values"))
        .filter(points__gt=0)
        .values("pk", "project_id", "points")
    )
    largest = rows.order_by("-points", "pk").first()
    smallest = rows.order_by("points", "pk").first()
    if largest is None or smallest is None:
        return {}

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        return {"key": f"{row['project_id']}/{row['pk']}", "points": row["points"]}

    return {"measure": {"largest": shape(largest), "smallest": shape(smallest)}}


def _financial_year(field: str) -> Case:
    """The financial year a date falls in, computed by the database (named by the year it starts)."""
    return Case(When(**{f"{field}__month__gte": 4}, then=ExtractYear(field)), default=ExtractYear(field) - 1)


def programme_counts(commissioner: Commissioner) -> dict[str, int]:
    """What the programme pages of the benchmarked lead count: the commissioner's projects and what hangs off them."""
    projects = Project.objects.filter(practice__commissioner=commissioner)
    follow_ups = FollowUp.objects.filter(project__practice__commissioner=commissioner)
    payments = Payment.objects.filter(project__practice__commissioner=commissioner)
    return {
        **projects.aggregate(
            projects=Count("id"),
            completed_projects=Count("id", filter=Q(completed_on__isnull=False)),
            projects_with_benefits=Count("id", filter=~Q(staff_benefits="") & ~Q(patient_benefits="")),
        ),
        **follow_ups.aggregate(
            follow_ups=Count("id"),
            held_follow_ups=Count("id", filter=Q(status=FollowUpStatus.HELD)),
            follow_up_reviews=Count("review"),
        ),
        **payments.aggregate(
            payments=Count("id"),
            paid_payments=Count("id", filter=Q(status=PaymentStatus.PAID)),
            first_project_payments=Count("id", filter=Q(route=FundingRoute.FIRST_PROJECT)),
        ),
        "embedding_assessments": EmbeddingAssessment.objects.filter(
            project__practice__commissioner=commissioner
        ).count(),
        "aims_met": SpecificAim.objects.filter(project__practice__commissioner=commissioner, met=True).count(),
        "improving_measures": Measure.objects.filter(
            project__practice__commissioner=commissioner, improvement_signal=ImprovementSignal.IMPROVING
        ).count(),
    }


def describe() -> dict[str, Any]:
    """What the database holds, who ``bench`` signs in as, and the objects its pages are about."""
    commissioner = _benchmarked_commissioner()
    lead = _benchmarked_lead(commissioner)
    return {
        "built": built_marker(),
        "counts": {
            "commissioners": Commissioner.objects.count(),
            "pcns": Pcn.objects.count(),
            "practices": Practice.objects.count(),
            "users": User.objects.count(),
            "memberships": PracticeMembership.objects.count(),
            "engagement_changes": EngagementChange.objects.count(),
            "projects": Project.objects.count(),
            "team_members": TeamMember.objects.count(),
            "workbook_sections": WorkbookSection.objects.count(),
            "specific_aims": SpecificAim.objects.count(),
            "step_changes": StepChange.objects.count(),
            "pdsa_cycles": PdsaCycle.objects.count(),
            "measures": Measure.objects.count(),
            "measure_values": MeasureValue.objects.count(),
            "coaches": CoachProfile.objects.count(),
            "sessions": Session.objects.count(),
            "actions": Action.objects.count(),
            "tariffs": Tariff.objects.count(),
            "funding_applications": FundingApplication.objects.count(),
            "payments": Payment.objects.count(),
            "follow_ups": FollowUp.objects.count(),
            "follow_up_reviews": FollowUpReview.objects.count(),
            "embedding_assessments": EmbeddingAssessment.objects.count(),
            "mentoring": Mentoring.objects.count(),
        },
        "projects_by_year": {  # by the financial year they started in
            str(row["year"]): row["n"]
            for row in Project.objects.annotate(year=_financial_year("starts_on"))
            .values("year")
            .annotate(n=Count("id"))
            .order_by("year")
        },
        "payments_by_year": {
            str(row["financial_year"]): row["n"]
            for row in Payment.objects.values("financial_year").annotate(n=Count("id")).order_by("financial_year")
        },
        "commissioner": (
            {"ods_code": commissioner.ods_code, "name": commissioner.name, "practices": commissioner.n}  # type: ignore[attr-defined]
            if commissioner
            else None
        ),
        "commissioner_counts": programme_counts(commissioner) if commissioner else {},
        "login": {"email": lead.email, "password": PASSWORD} if lead else None,
        "coach_login": _busiest_coach_login(commissioner),
        "admin_login": _admin_login(),
        "samples": samples(commissioner),
        "chart": sample_chart(commissioner),
    }


class Command(BaseCommand):
    help = "Build the benchmark dataset into the benchmark database (microsystems.settings.bench only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practices", type=int, default=NATIONAL_PRACTICES)
        parser.add_argument("--seed", type=int, default=2024)
        parser.add_argument(
            "--export-rows",
            type=int,
            default=0,
            help="Build the funding export's dataset instead: this many payments in the last whole financial year "
            "(and a tenth in the year before) on the practices alone.",
        )
        parser.add_argument(
            "--sweep-projects",
            type=int,
            default=0,
            help="Build the notification sweep's dataset instead: this many completed projects whose follow-up "
            "falls due within 14 days, with their coaches and champions.",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Do nothing if the database already holds this dataset."
        )
        parser.add_argument(
            "--describe", action="store_true", help="Print what the database holds as JSON, and build nothing."
        )
        parser.add_argument(
            "--warm",
            nargs="+",
            metavar="URL",
            help="Request these pages once as the benchmarked lead, drawing the report charts they ask for; "
            "build nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "BENCH", False):
            raise CommandError(
                "bench_build empties the database it builds into, so it runs only under "
                "DJANGO_SETTINGS_MODULE=microsystems.settings.bench (use `manage.py bench`)."
            )
        if options["describe"]:
            self.stdout.write(json.dumps(describe()))
            return
        if options["warm"]:
            warm_pages(options["warm"], log=self.stdout.write)
            return
        practices, seed, export_rows = options["practices"], options["seed"], options["export_rows"]
        if export_rows < 0 or 0 < export_rows < ADJUSTED_SHARE * EXPORT_SMALL_SHARE:
            raise CommandError(
                f"--export-rows is 0 (the page datasets) or at least {ADJUSTED_SHARE * EXPORT_SMALL_SHARE}."
            )
        sweep_projects = options["sweep_projects"]
        if sweep_projects < 0 or (sweep_projects and export_rows):
            raise CommandError("--sweep-projects is 0 or more, and not with --export-rows (each has its own dataset).")
        wanted = wanted_marker(practices, seed, export_rows, sweep_projects)
        if options["keep"] and built_marker() == wanted:
            self.stdout.write(f"Kept the existing dataset of {practices} practices.")
            return
        if Practice.objects.exists() or User.objects.exists():
            call_command("flush", interactive=False, verbosity=0)
        started = time.monotonic()
        scale = Scale.for_practices(practices)
        self.stdout.write(
            f"Building {scale.practices:,} practices in {scale.pcns:,} PCNs under {scale.commissioners} commissioners:"
        )
        build(practices, seed=seed, log=self.stdout.write, export_rows=export_rows, sweep_projects=sweep_projects)
        if not export_rows and not sweep_projects:
            render_sample_charts(log=self.stdout.write)
        self.stdout.write(f"Built in {time.monotonic() - started:.1f}s.")

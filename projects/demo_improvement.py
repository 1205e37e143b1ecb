"""Demo improvement data for a demo project that reached Treat: change ideas, a ramp of PDSA cycles, and
measures with weekly data that show the change working, built through the services like a team would.

Each specific aim of the topic becomes a measure (a percentage when the aim's baseline is one,
a count otherwise). Its weekly values sit around the aim's baseline for the eight weeks before
Treat (the measure's baseline) and move towards the target once the cycles start, so the run
chart shows a shift in the direction of improvement. Values never fall in the future.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from microsystems.models import User

from .cycles import CycleDetails, IdeaDetails, add_change_idea, add_cycle
from .measures import MeasureDetails, create_measure, import_values
from .models import ActDecision, Direction, Frequency, MeasureKind, Project, Unit

BASELINE_WEEKS = 8
IDEAS = (
    "A named person on duty each day for it",
    "A checklist the whole team uses",
    "A ten-minute huddle each morning",
)


def _number(text: str) -> float | None:
    match = re.search(r"\d+(\.\d+)?", text)
    return float(match.group()) if match else None


def seed_improvement(project: Project, causes: list[str], *, treat_from: date, by: User, finished: bool) -> None:
    """Ideas, cycles and measures for ``project``, whose team reached Treat on ``treat_from``."""
    rng = random.Random(project.title + project.practice.ods_code)  # noqa: S311  (demo data)
    today = timezone.localdate()
    aims = list(project.specific_aims.all())
    measures = [_measure(project, aim, rng, treat_from=treat_from, by=by) for aim in aims]
    measures = [m for m in measures if m is not None]
    ideas = [
        add_change_idea(
            project=project,
            details=IdeaDetails(
                title=title,
                description="Agreed at the team meeting after the fishbone.",
                fishbone_cause=cause,
                specific_aim=aims[0] if aims else None,
            ),
            by=by,
        )
        for title, cause in zip(IDEAS, causes[:2] or [""], strict=False)
    ]
    follows = None
    for n in range(3):
        start = treat_from + timedelta(weeks=2 * n)
        end = start + timedelta(weeks=2)
        if start > today:
            break
        done = finished or end <= today
        last = n == 2 and not finished
        details = CycleDetails(
            change_idea=ideas[0],
            follows=follows,
            objective=(
                "Try it for two weeks with one team." if n == 0 else "Try the adapted version across the practice."
            ),
            questions="Does it fit the working day? Do fewer items wait?",
            predictions="Fewer items will wait at the end of each day.",
            tasks=[{"who": "Practice manager", "what": "Brief the team", "when": "Monday", "where": "Staff meeting"}],
            data_to_collect="The weekly count, every Friday.",
            planned_start=start,
            planned_end=end,
            actual_start=start,
            actual_end=end if done and not last else None,
            as_planned=True if done and not last else None,
            observations="Staff used it most days; it slipped when two people were off." if done else "",
            results=("Fewer items waited than predicted." if done and not last else ""),
            measures=measures[:1],
            decision=(ActDecision.ADAPT if n == 0 else ActDecision.ADOPT) if done and not last else "",
            next_steps="Spread it to the whole practice." if done and not last else "",
        )
        follows = add_cycle(project=project, details=details, by=by)


def _measure(project: Project, aim, rng: random.Random, *, treat_from: date, by: User):  # type: ignore[no-untyped-def]
    baseline, target = _number(aim.baseline), _number(aim.target)
    if baseline is None or target is None or baseline == target:
        return None
    percentage = "%" in aim.baseline
    measure = create_measure(
        project=project,
        details=MeasureDetails(
            name=aim.measure,
            kind=MeasureKind.OUTCOME,
            definition=f"{aim.measure}, counted every Friday from the practice's clinical system.",
            unit=Unit.PERCENTAGE if percentage else Unit.COUNT,
            direction=Direction.DOWN if target < baseline else Direction.UP,
            frequency=Frequency.WEEKLY,
            target=Decimal(str(target)),
            baseline_points=BASELINE_WEEKS,
            specific_aim=aim,
        ),
        by=by,
    )
    first = treat_from - timedelta(weeks=BASELINE_WEEKS)
    lines, today = [], timezone.localdate()
    on = first
    while on <= today:
        weeks_in = (on - treat_from).days / 7
        level = baseline if weeks_in < 0 else baseline + (target - baseline) * min(1.0, 0.35 + weeks_in / 8) * 0.8
        value = max(0.0, rng.gauss(level, abs(baseline - target) * 0.12))
        value = min(value, 100.0) if percentage else round(value)
        lines.append(f"{on:%d/%m/%Y},{value:.1f}")
        on += timedelta(weeks=1)
    import_values(measure=measure, text="\n".join(lines), by=by)
    return measure

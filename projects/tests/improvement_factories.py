from datetime import date, timedelta
from decimal import Decimal

import factory

from projects.models import ChangeIdea, Frequency, Measure, MeasureKind, MeasureValue, PdsaCycle, Unit
from projects.models.improvement import period_start

from .factories import ProjectFactory


class ChangeIdeaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChangeIdea

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Buddy system for results {n}")
    description = "A named colleague actions results when the requesting GP is away."


class PdsaCycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PdsaCycle

    change_idea = factory.SubFactory(ChangeIdeaFactory)
    project = factory.SelfAttribute("change_idea.project")
    number = factory.Sequence(lambda n: n + 1)
    objective = "Test a buddy list for one week with two GPs."
    planned_start = date(2025, 3, 3)
    planned_end = date(2025, 3, 10)


class MeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measure

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Days from result to action {n}")
    kind = MeasureKind.OUTCOME
    definition = "Working days from a result arriving to a GP filing it, averaged over the week."
    unit = Unit.DAYS
    direction = "down"
    frequency = Frequency.WEEKLY


class MeasureValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeasureValue

    measure = factory.SubFactory(MeasureFactory)
    on = factory.Sequence(lambda n: date(2025, 1, 6) + timedelta(weeks=n))
    period = factory.LazyAttribute(lambda o: period_start(o.on, o.measure.frequency))
    value = Decimal("5")


def weekly_values(measure: Measure, values: list[float], *, start: date = date(2025, 1, 6)) -> list[MeasureValue]:
    """A measure's series, one value a week from ``start``."""
    rows = [
        MeasureValue(
            measure=measure,
            on=start + timedelta(weeks=i),
            period=period_start(start + timedelta(weeks=i), measure.frequency),
            value=Decimal(str(v)),
        )
        for i, v in enumerate(values)
    ]
    return MeasureValue.objects.bulk_create(rows)

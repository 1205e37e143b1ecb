import factory

from microsystems.tests.factories import UserFactory
from practices.models import (
    Commissioner,
    Pcn,
    Practice,
    PracticeMembership,
    ProgrammeRole,
    ProgrammeRoleKind,
    StaffRole,
)


class CommissionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commissioner
        django_get_or_create = ("ods_code",)

    ods_code = factory.Sequence(lambda n: f"C{n:02d}")
    name = factory.Sequence(lambda n: f"NHS Place {n} sub-ICB location")


class PcnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pcn

    code = factory.Sequence(lambda n: f"U{n:05d}")
    name = factory.Sequence(lambda n: f"Riverside {n} PCN")
    commissioner = factory.SubFactory(CommissionerFactory)


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    ods_code = factory.Sequence(lambda n: f"G{n:05d}")
    name = factory.Sequence(lambda n: f"Orchard {n} Surgery")
    address = "1 High Street, Maidstone, Kent"
    postcode = "ME14 1AA"
    list_size = 8000
    commissioner = factory.SubFactory(CommissionerFactory)
    pcn = factory.SubFactory(PcnFactory, commissioner=factory.SelfAttribute("..commissioner"))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticeMembership

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = StaffRole.NURSE


class ProgrammeRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgrammeRole

    user = factory.SubFactory(UserFactory)
    commissioner = factory.SubFactory(CommissionerFactory)
    role = ProgrammeRoleKind.LEAD

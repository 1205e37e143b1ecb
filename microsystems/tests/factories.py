import factory

from microsystems.models import User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@nhs.example")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password(PASSWORD)

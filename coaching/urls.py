from django.urls import include, path

from . import agreement_urls, coach_urls, session_urls

app_name = "coaching"

urlpatterns = [
    path("", include(coach_urls)),
    path("", include(agreement_urls)),
    path("", include(session_urls)),
]

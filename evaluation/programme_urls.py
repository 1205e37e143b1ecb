"""The programme lead's pages, mounted at ``/programme/``: the dashboard, the reports and the programme report."""

from django.urls import include, path

app_name = "programme"

urlpatterns = [
    path("", include("evaluation.dashboard_urls")),
    path("", include("evaluation.report_urls")),
    path("", include("evaluation.programme_report_urls")),
]

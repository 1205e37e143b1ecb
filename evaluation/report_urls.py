"""URLs of the programme reports, mounted under ``/programme/`` in the ``programme`` namespace."""

from django.urls import URLPattern, path, re_path

from . import report_views

urlpatterns: list[URLPattern] = [
    path("reports/<slug:slug>/", report_views.report, name="report"),
    path("reports/<slug:slug>.csv", report_views.report_csv, name="report_csv"),
    re_path(r"^charts/(?P<key>[0-9a-f]{64})/$", report_views.chart, name="chart"),
]

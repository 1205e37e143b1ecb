"""The funding reports and their downloads (names under ``payments:``)."""

from django.urls import path

from . import report_views

urlpatterns = [
    path("reports/", report_views.reports_page, name="reports"),
    path("reports/funding.csv", report_views.export_csv, name="export_csv"),
    path("reports/funding.xlsx", report_views.export_xlsx, name="export_xlsx"),
]

"""URLs of the programme report, mounted under ``/programme/`` in the ``programme`` namespace."""

from django.urls import path

from . import programme_report_views as views

urlpatterns = [
    path("report/", views.programme_report, name="programme_report"),
    path("report/<int:pk>/status/", views.programme_report_status, name="programme_report_status"),
    path("report/<int:pk>/download/", views.programme_report_download, name="programme_report_download"),
]

"""URLs for a measure's charts (included into the projects namespace after ``<int:pk>/``)."""

from django.urls import URLPattern, path

from . import chart_views

urlpatterns: list[URLPattern] = [
    path("measures/<int:measure_id>/charts/<str:kind>/", chart_views.chart_status, name="chart_status"),
    path("measures/<int:measure_id>/charts/<str:kind>.<str:fmt>", chart_views.chart_file, name="chart_file"),
]

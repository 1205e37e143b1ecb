"""A project's measures and their data (included into the projects namespace after ``<int:pk>/``)."""

from django.urls import URLPattern, path

from . import measure_views as views

urlpatterns: list[URLPattern] = [
    path("measures/", views.measures, name="measures"),
    path("measures/new/", views.create, name="measure_create"),
    path("measures/<int:measure_id>/", views.measure, name="measure"),
    path("measures/<int:measure_id>/edit/", views.edit, name="measure_edit"),
    path("measures/<int:measure_id>/remove/", views.remove, name="measure_remove"),
    path("measures/<int:measure_id>/analysis/", views.analysis, name="measure_analysis"),
    path("measures/<int:measure_id>/values/add/", views.add, name="measure_value_add"),
    path("measures/<int:measure_id>/values/<int:value_id>/", views.value_row, name="measure_value"),
    path("measures/<int:measure_id>/values/<int:value_id>/edit/", views.edit_value, name="measure_value_edit"),
    path(
        "measures/<int:measure_id>/values/<int:value_id>/remove/",
        views.remove_value_view,
        name="measure_value_remove",
    ),
    path("measures/<int:measure_id>/import/", views.import_data, name="measure_import"),
    path("measures/<int:measure_id>/data.csv", views.download, name="measure_csv"),
]

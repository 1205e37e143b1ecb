"""URLs for the coach pages (included into the coaching namespace)."""

from django.urls import URLPattern, path

from . import coach_views

urlpatterns: list[URLPattern] = [
    path("coaches/", coach_views.coaches, name="coaches"),
    path("coaches/new/", coach_views.coach_new, name="coach_new"),
    path("coaches/<int:pk>/", coach_views.coach, name="coach"),
    path("coaches/<int:pk>/edit/", coach_views.coach_edit, name="coach_edit"),
    path("coaches/<int:pk>/training/new/", coach_views.training_new, name="training_new"),
    path("coaches/<int:pk>/mentoring/new/", coach_views.mentoring_new, name="mentoring_new"),
    path("mentoring/<int:mentoring_id>/end/", coach_views.mentoring_end, name="mentoring_end"),
    path("projects/<int:project_id>/matching/", coach_views.matching, name="matching"),
]

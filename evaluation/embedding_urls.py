"""URLs of a project's embedding self-assessments, mounted at ``/embedding/``."""

from django.urls import path

from . import embedding_views as views

app_name = "embedding"

urlpatterns = [
    path("projects/<int:pk>/", views.project_page, name="project"),
    path("projects/<int:pk>/<str:occasion>/", views.record, name="record"),
]

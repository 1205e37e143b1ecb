"""URLs for change ideas and PDSA cycles (included into the projects namespace at ``<int:pk>/``)."""

from django.urls import URLPattern, path

from . import cycle_views

urlpatterns: list[URLPattern] = [
    path("cycles/", cycle_views.cycles, name="cycles"),
    path("ideas/new/", cycle_views.new_idea, name="idea_new"),
    path("ideas/<int:idea_id>/", cycle_views.edit_idea, name="idea_edit"),
    path("ideas/<int:idea_id>/remove/", cycle_views.remove_idea, name="idea_remove"),
    path("cycles/new/", cycle_views.new_cycle, name="cycle_new"),
    path("cycles/<int:cycle_id>/", cycle_views.cycle, name="cycle"),
    path("cycles/<int:cycle_id>/edit/", cycle_views.edit_cycle, name="cycle_edit"),
    path("cycles/<int:cycle_id>/remove/", cycle_views.remove_cycle_view, name="cycle_remove"),
    path("cycles/<int:cycle_id>/history/", cycle_views.history, name="cycle_history"),
]

"""URLs for coaching sessions, their actions and reflections, the coach's home and calendar feed."""

from django.urls import URLPattern, path

from . import session_views as views

urlpatterns: list[URLPattern] = [
    path("home/", views.home, name="home"),
    path("coach/sessions/", views.my_sessions, name="my_sessions"),
    path("coach/calendar/new-link/", views.new_calendar_link, name="calendar_new_link"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar"),
    path("projects/<int:project_id>/sessions/", views.project_sessions, name="project_sessions"),
    path("projects/<int:project_id>/sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/log/", views.session_log, name="session_log"),
    path("sessions/<int:pk>/autosave/", views.session_autosave, name="session_autosave"),
    path("sessions/<int:pk>/reflection/", views.reflection, name="reflection"),
    path("actions/<int:pk>/tick/", views.tick, name="action_tick"),
]

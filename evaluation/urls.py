"""URLs of follow-ups, mounted at ``/follow-ups/``."""

from django.urls import path

from . import views

app_name = "evaluation"

urlpatterns = [
    path("", views.follow_up_list, name="follow_ups"),
    path("<int:pk>/", views.follow_up_page, name="follow_up"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
]

from django.urls import include, path

from . import chart_urls, cycle_urls, master_views, measure_urls, team_views, views, workbook_views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.create, name="create"),
    path("workbook/blank/", master_views.blank_workbook, name="print_blank"),
    path("workbook/example/", master_views.example_workbook, name="print_example"),
    path("<int:pk>/", views.overview, name="overview"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/coaches/", views.coaches, name="coaches"),
    path("<int:pk>/step/", views.change_step, name="step"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/print/", master_views.project_workbook, name="print_project"),
    path("<int:pk>/team/", team_views.team, name="team"),
    path("<int:pk>/team/add/", team_views.add_member, name="team_add"),
    path("<int:pk>/team/no-patient-rep/", team_views.no_patient_rep, name="team_no_patient_rep"),
    path("<int:pk>/team/<int:member_id>/", team_views.edit_member, name="team_edit"),
    path("<int:pk>/team/<int:member_id>/remove/", team_views.remove_member, name="team_remove"),
    path("<int:pk>/team/<int:member_id>/champion/", team_views.champion, name="team_champion"),
    path("<int:pk>/team/<int:member_id>/meeting-role/", team_views.meeting_role, name="team_meeting_role"),
    path("<int:pk>/aims/", views.aims, name="aims"),
    path("<int:pk>/aims/<int:aim_id>/", views.edit_aim, name="aim_edit"),
    path("<int:pk>/aims/<int:aim_id>/remove/", views.remove_aim, name="aim_remove"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("<int:pk>/", include(cycle_urls)),
    path("<int:pk>/", include(measure_urls)),
    path("<int:pk>/", include(chart_urls)),
    path("<int:pk>/workbook/<str:step>/", workbook_views.workbook_step, name="workbook"),
    path("<int:pk>/sections/<str:key>/", workbook_views.save, name="section_save"),
    path("<int:pk>/sections/<str:key>/history/", workbook_views.history, name="section_history"),
    path(
        "<int:pk>/sections/<str:key>/history/<int:history_id>/restore/",
        workbook_views.restore,
        name="section_restore",
    ),
]

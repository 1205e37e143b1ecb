from django.urls import path

from . import ods_views, views

app_name = "practices"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("import/", ods_views.upload, name="import_upload"),
    path("import/<int:pk>/", ods_views.import_detail, name="import_detail"),
    path("<str:ods_code>/", views.detail, name="detail"),
    path("<str:ods_code>/engagement/", views.engagement, name="engagement"),
    path("<str:ods_code>/invite/", views.invite, name="invite"),
]

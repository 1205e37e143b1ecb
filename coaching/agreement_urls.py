"""URLs for the coaching agreement (included into the coaching namespace)."""

from django.urls import URLPattern, path

from . import agreement_views

urlpatterns: list[URLPattern] = [
    path("projects/<int:project_id>/agreement/", agreement_views.agreement, name="agreement"),
    path("projects/<int:project_id>/agreement/edit/", agreement_views.edit, name="agreement_edit"),
    path("projects/<int:project_id>/agreement/signed-copy/", agreement_views.signed_copy, name="agreement_copy"),
    path(
        "projects/<int:project_id>/agreement/signed-copy/remove/",
        agreement_views.remove_copy,
        name="agreement_copy_remove",
    ),
]

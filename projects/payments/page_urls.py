"""The funding pages: payments, tariffs, applications and a project's funding (names under ``payments:``)."""

from django.urls import path

from . import application_views, tariff_views, views

urlpatterns = [
    path("", views.payments, name="list"),
    path("<int:pk>/", views.payment_detail, name="detail"),
    path("<int:pk>/approve/", views.approve_payment, name="approve"),
    path("<int:pk>/pay/", views.pay_payment, name="pay"),
    path("<int:pk>/cancel/", views.cancel_payment, name="cancel"),
    path("<int:pk>/adjust/", views.adjust_payment, name="adjust"),
    path("tariffs/", tariff_views.tariffs, name="tariffs"),
    path("tariffs/<int:commissioner_id>/<int:year>/", tariff_views.tariff, name="tariff"),
    path("applications/", application_views.applications, name="applications"),
    path("applications/<int:pk>/", application_views.application_detail, name="application"),
    path("applications/<int:pk>/approve/", application_views.approve, name="application_approve"),
    path("applications/<int:pk>/reject/", application_views.reject, name="application_reject"),
    path("projects/<int:pk>/", application_views.project_funding, name="project"),
    path("projects/<int:pk>/apply/", application_views.apply, name="apply"),
]

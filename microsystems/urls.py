from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import health, twofactor, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("account/login/", views.LoginView.as_view(), name="login"),
    path("account/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", twofactor.verify_or_set_up, name="two_factor"),
    path("account/two-factor/set-up/", twofactor.set_up, name="two_factor_setup"),
    path("account/two-factor/backup-codes/", twofactor.backup_codes, name="two_factor_backup_codes"),
    path(
        "account/password-reset/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path("account/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "account/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "account/invitation/<uidb64>/<token>/",
        views.AcceptInvitationView.as_view(),
        name="accept_invitation",
    ),
    path("practices/", include("practices.urls")),
    path("projects/", include("projects.urls")),
    path("coaching/", include("coaching.urls")),
    path("payments/", include("projects.payments.urls")),
    path("notifications/", include("notifications.urls")),
    path("follow-ups/", include("evaluation.urls")),
    path("programme/", include("evaluation.programme_urls")),
    path("embedding/", include("evaluation.embedding_urls")),
    path("admin/", admin.site.urls),
]

if getattr(settings, "BENCH", False):
    from . import bench

    urlpatterns += [path("bench/bare/", bench.bare, name="bench_bare")]

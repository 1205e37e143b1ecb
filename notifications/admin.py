"""The outbox in the admin: what is waiting, sent, skipped or failed, and why; failed rows can be sent again.

Rows are written only by the sweep and the send task, so the admin shows them read-only; the
one change it makes is "send again", which gives failed rows back to pending and queues them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from microsystems.audit import audit
from microsystems.models import User

from . import outbox
from .models import Notification, Preference, Status


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "recipient", "subject", "status", "attempts", "short_error", "sent_at"]
    list_filter = ["status", "kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["key", "subject", "recipient__email", "recipient__full_name"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    show_full_result_count = False  # the outbox grows large: no second COUNT(*) per page
    fieldsets = [
        (None, {"fields": ["key", "kind", "recipient", "link"]}),
        ("State", {"fields": ["status", "attempts", "last_error", "created_at", "claimed_at", "sent_at", "read_at"]}),
        ("Message", {"fields": ["subject", "body_text", "body_html", "ics"], "classes": ["collapse"]}),
    ]

    @admin.display(description="last error")
    def short_error(self, obj: Notification) -> str:
        return Truncator(obj.last_error).chars(80)

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> list[str]:
        return [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send the selected failed notifications again", permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        with transaction.atomic():
            ids = list(queryset.filter(status=Status.FAILED).select_for_update().values_list("id", flat=True))
            Notification.objects.filter(id__in=ids, status=Status.FAILED).update(
                status=Status.PENDING, attempts=0, claimed_at=None
            )
            outbox.queue(ids)
            if ids:
                by = request.user if isinstance(request.user, User) else None
                audit(None, "notifications.sent_again", by=by, summary=f"{len(ids)} failed notification(s)")
        others = queryset.count() - len(ids)
        if ids:
            self.message_user(request, f"{len(ids)} failed notification(s) will be sent again.", messages.SUCCESS)
        if others:
            self.message_user(
                request, f"{others} selected notification(s) had not failed and were left as they were.", messages.INFO
            )


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["user__email", "user__full_name"]
    raw_id_fields = ["user"]

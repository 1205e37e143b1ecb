"""The admin site's view of follow-ups: read what was scheduled, moved and found; changes go through the pages."""

from django.contrib import admin

from .models import FollowUp, FollowUpReschedule, FollowUpReview


class RescheduleInline(admin.TabularInline):
    model = FollowUpReschedule
    extra = 0
    fields = readonly_fields = ("from_date", "to_date", "reason", "by", "at")
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # moved with a reason on the follow-up's page


class ReviewInline(admin.StackedInline):
    model = FollowUpReview
    extra = 0
    raw_id_fields = ["recorded_by"]
    filter_horizontal = ["attendees"]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["project", "kind", "due_on", "assigned_to", "status"]
    list_filter = ["status", "kind"]
    list_select_related = ["project", "assigned_to"]
    search_fields = ["project__title", "project__practice__name", "assigned_to__full_name"]
    raw_id_fields = ["project", "assigned_to"]
    date_hierarchy = "due_on"
    inlines = [RescheduleInline, ReviewInline]

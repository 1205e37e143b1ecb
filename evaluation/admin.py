"""The admin site's view of follow-ups, embedding assessments and report renders: changes go through the pages."""

from django.contrib import admin

from .models import EmbeddingAssessment, FollowUp, FollowUpReschedule, FollowUpReview, ProgrammeReport, ReportChart


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the pages and the worker only: the admin reads them, and may delete one to have it made again."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(EmbeddingAssessment)
class EmbeddingAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["project", "occasion", "assessed_on", "recorded_by", "recorded_at"]
    list_filter = ["occasion"]
    list_select_related = ["project", "recorded_by"]
    search_fields = ["project__title", "project__practice__name"]
    date_hierarchy = "assessed_on"
    readonly_fields = [f.name for f in EmbeddingAssessment._meta.fields]


@admin.register(ReportChart)
class ReportChartAdmin(ReadOnlyAdmin):
    list_display = ["key", "commissioner", "status", "requested_at", "rendered_at"]
    list_filter = ["status"]
    list_select_related = ["commissioner"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in ReportChart._meta.fields]


@admin.register(ProgrammeReport)
class ProgrammeReportAdmin(ReadOnlyAdmin):
    list_display = [
        "commissioner",
        "financial_year",
        "status",
        "progress",
        "requested_by",
        "requested_at",
        "finished_at",
    ]
    list_filter = ["status", "financial_year"]
    list_select_related = ["commissioner", "requested_by"]
    search_fields = ["commissioner__name", "data_key"]
    readonly_fields = [f.name for f in ProgrammeReport._meta.fields]

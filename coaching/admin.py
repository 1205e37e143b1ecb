from django.contrib import admin

from .models import Action, CoachingAgreement, CoachProfile, Mentoring, Session, TrainingRecord


class TrainingInline(admin.TabularInline):
    model = TrainingRecord
    extra = 0


@admin.register(CoachProfile)
class CoachProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "commissioner", "level", "max_projects", "is_active"]
    list_filter = ["level", "is_active", "commissioner"]
    search_fields = ["user__full_name", "user__email"]
    raw_id_fields = ["user"]
    exclude = ["calendar_token"]
    inlines = [TrainingInline]


@admin.register(Mentoring)
class MentoringAdmin(admin.ModelAdmin):
    list_display = ["mentor", "mentee", "starts_on", "ends_on"]
    raw_id_fields = ["mentor", "mentee"]


@admin.register(CoachingAgreement)
class CoachingAgreementAdmin(admin.ModelAdmin):
    list_display = ["project", "signed_by_name", "signed_on"]
    raw_id_fields = ["project", "recorded_by"]
    filter_horizontal = ["coaches"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["project", "coach", "on", "status"]
    list_filter = ["status", "format"]
    raw_id_fields = ["project", "coach"]
    date_hierarchy = "on"


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["description", "project", "owner", "due_on", "status"]
    list_filter = ["status"]
    raw_id_fields = ["project", "raised_in", "owner", "closed_by"]

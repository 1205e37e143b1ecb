from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Project, SpecificAim, StepChange, TeamMember, WorkbookSection
from .payments import admin as payments_admin  # noqa: F401  (registers the funding models)


class TeamInline(admin.TabularInline):
    model = TeamMember
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "practice", "step", "typology", "starts_on", "lead_coach"]
    list_filter = ["step", "typology", "practice__commissioner"]
    search_fields = ["title", "practice__name", "practice__ods_code"]
    list_select_related = ["practice", "lead_coach"]
    raw_id_fields = ["practice", "lead_coach", "co_coach", "created_by"]
    inlines = [TeamInline]


@admin.register(StepChange)
class StepChangeAdmin(admin.ModelAdmin):
    list_display = ["project", "from_step", "to_step", "changed_by", "changed_at"]
    raw_id_fields = ["project", "changed_by"]


@admin.register(WorkbookSection)
class WorkbookSectionAdmin(SimpleHistoryAdmin):
    list_display = ["project", "key", "version", "complete", "updated_by", "updated_at"]
    raw_id_fields = ["project", "updated_by"]


@admin.register(SpecificAim)
class SpecificAimAdmin(SimpleHistoryAdmin):
    list_display = ["project", "measure", "baseline", "target", "target_date"]
    raw_id_fields = ["project"]

from django.contrib import admin

from .models import Commissioner, EngagementChange, OdsImport, Pcn, Practice, PracticeMembership, ProgrammeRole


@admin.register(Commissioner)
class CommissionerAdmin(admin.ModelAdmin):
    list_display = ["ods_code", "name", "kind"]
    search_fields = ["ods_code", "name"]


@admin.register(Pcn)
class PcnAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "commissioner"]
    list_filter = ["commissioner"]
    search_fields = ["code", "name"]


class MembershipInline(admin.TabularInline):
    model = PracticeMembership
    fk_name = "practice"
    raw_id_fields = ["user", "invited_by"]
    extra = 0


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["ods_code", "name", "pcn", "commissioner", "ods_status", "engagement", "cohort"]
    list_filter = ["commissioner", "ods_status", "engagement", "cohort"]
    search_fields = ["ods_code", "name", "postcode"]
    list_select_related = ["pcn", "commissioner"]
    raw_id_fields = ["pcn"]
    inlines = [MembershipInline]


@admin.register(ProgrammeRole)
class ProgrammeRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "commissioner"]
    list_filter = ["role", "commissioner"]
    raw_id_fields = ["user"]


@admin.register(EngagementChange)
class EngagementChangeAdmin(admin.ModelAdmin):
    list_display = ["practice", "from_engagement", "to_engagement", "effective_on", "changed_by"]
    raw_id_fields = ["practice", "changed_by"]


@admin.register(OdsImport)
class OdsImportAdmin(admin.ModelAdmin):
    list_display = ["uploaded_at", "commissioner", "status", "rows_total", "created", "updated", "skipped"]

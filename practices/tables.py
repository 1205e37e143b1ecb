"""The practice directory as a sortable table."""

from __future__ import annotations

import django_tables2 as tables

from .models import Practice


class PracticeTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name="Practice")
    ods_code = tables.Column(verbose_name="ODS code")
    pcn = tables.Column(verbose_name="PCN", order_by=("pcn__name",), default="—")
    postcode = tables.Column()
    list_size = tables.Column(verbose_name="List size", default="—")
    engagement = tables.Column()
    cohort = tables.Column(verbose_name="Cohort", default="—")
    staff_count = tables.Column(verbose_name="Staff")

    class Meta:
        model = Practice
        fields = ["name", "ods_code", "pcn", "postcode", "list_size", "engagement", "cohort", "staff_count"]
        attrs = {"class": "table table-hover align-middle"}
        per_page = 25
        empty_text = "No practices match. Clear the filters or import practices from the ODS file."
        orderable = True

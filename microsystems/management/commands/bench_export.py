"""Time the funding export, or measure its memory, on the export's dataset; prints JSON.

``manage.py bench`` runs this in a subprocess under ``microsystems.settings.bench``, against
the database ``bench_build --export-rows`` filled: once to time it beside PostgreSQL's
``COPY`` (``--repeat``), and once for each size with ``--memory``, each in a fresh process.
By hand::

    DJANGO_SETTINGS_MODULE=microsystems.settings.bench BENCH_DATABASE_URL=postgres://... \\
        .venv/bin/python manage.py bench_export --year 2025 --repeat 3
    ... manage.py bench_export --year 2025 --memory
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from microsystems.bench_export import export_memory, time_export


class Command(BaseCommand):
    help = "Time the funding export against COPY, or measure its memory (--memory); prints JSON. Bench settings only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True, help="The financial year to export (2025 for 2025/26).")
        parser.add_argument("--repeat", type=int, default=3, help="Timed runs of each (after one untimed).")
        parser.add_argument("--memory", action="store_true", help="Measure the export's memory instead of its time.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "BENCH", False):
            raise CommandError("bench_export reads the benchmark database: run it under microsystems.settings.bench.")
        if options["repeat"] < 1:
            raise CommandError("Use --repeat 1 or more.")
        year = options["year"]
        result = export_memory(year) if options["memory"] else time_export(year, options["repeat"])
        if not result["rows"]:
            raise CommandError(f"No payments in financial year {year}: was the export's dataset built?")
        self.stdout.write(json.dumps(result))

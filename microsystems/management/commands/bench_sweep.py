"""Time the notification sweep and count its queries on a sweep dataset; prints JSON.

``manage.py bench`` runs this in a subprocess under ``microsystems.settings.bench``, against
each database ``bench_build --sweep-projects`` filled (see ``microsystems.bench_sweep``). By
hand::

    DJANGO_SETTINGS_MODULE=microsystems.settings.bench BENCH_DATABASE_URL=postgres://... \\
        .venv/bin/python manage.py bench_sweep
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from microsystems.bench_sweep import measure_sweep
from microsystems.models import AuditEntry

from .bench_build import MARKER_ACTION


class Command(BaseCommand):
    help = "Time the notification sweep and count its queries on the sweep's dataset; prints JSON. Bench settings only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", metavar="YYYY-MM-DD", help="The day to sweep (default: the day the dataset was built)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "BENCH", False):
            raise CommandError("bench_sweep empties the outbox: run it under microsystems.settings.bench.")
        built = AuditEntry.objects.filter(action=MARKER_ACTION).order_by("-at", "-id").first()
        if built is None or not built.changes.get("sweep_projects"):
            raise CommandError("This database holds no sweep dataset: build it with bench_build --sweep-projects.")
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else built.at.date()
        except ValueError as e:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}.") from e
        self.stdout.write(json.dumps(measure_sweep(today)))

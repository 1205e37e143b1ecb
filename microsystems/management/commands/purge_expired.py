"""Delete data past its retention (``microsystems.retention``); a dry run unless ``--apply``.

Run it from cron or a scheduler, for example weekly; the periods are the ``RETENTION_*``
settings (``microsystems/settings/retention.py``)::

    .venv/bin/python manage.py purge_expired            # what would go
    .venv/bin/python manage.py purge_expired --apply    # delete it
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from microsystems.retention import PurgeReport, purge


class Command(BaseCommand):
    help = (
        "Report (or with --apply delete) notifications, audit entries, session logs and closed projects past retention."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Delete what is past retention (default: dry run).")

    def handle(self, *args: Any, **options: Any) -> None:
        report = purge(dry_run=not options["apply"])
        self.stdout.write(describe(report))


def describe(report: PurgeReport) -> str:
    verb = "Removed" if report.applied else "Would remove"
    lines = [] if report.applied else ["Dry run: nothing deleted. Run with --apply to delete."]
    for kind in report.kinds:
        lines.append(f"{verb} {kind.count} {kind.what} from before {kind.before:%d %B %Y}.")
        lines.extend(f"  Kept: {n} {why}." for why, n in kind.kept.items() if n)
    return "\n".join(lines)

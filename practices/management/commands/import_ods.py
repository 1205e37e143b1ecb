"""``manage.py import_ods FILE [--commissioner CODE] [--include-non-gp]``: import practices from epraccur.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from practices.models import Commissioner
from practices.ods import OdsFileError, import_practices


class Command(BaseCommand):
    help = (
        "Import GP practices from the NHS ODS file epraccur.csv. Without --commissioner every row is imported "
        "and unknown commissioner codes are created; with it, only that commissioner's practices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The epraccur.csv file (unzipped).")
        parser.add_argument("--commissioner", metavar="CODE", help="Import only this commissioner's practices.")
        parser.add_argument(
            "--include-non-gp",
            action="store_true",
            help="Also import settings that are not GP practices (walk-in centres, out-of-hours and others).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as e:
            raise CommandError(f"Cannot read {path}: {e.strerror}.") from e
        commissioner = self._commissioner(options["commissioner"])
        try:
            result = import_practices(
                data=data,
                commissioner=commissioner,
                by=None,
                include_non_gp=options["include_non_gp"],
                progress=self._progress,
            )
        except OdsFileError as e:
            raise CommandError(f"{path} was not imported: {e}") from e
        for problem in result.problems:
            self.stdout.write(self.style.WARNING(str(problem)))
        self.stdout.write(self.style.SUCCESS(result.summary()))

    def _commissioner(self, code: str | None) -> Commissioner | None:
        if code is None:
            return None
        try:
            return Commissioner.objects.get(ods_code=code.strip().upper())
        except Commissioner.DoesNotExist:
            raise CommandError(
                f"There is no commissioner with ODS code {code!r}. Create it in the admin first, "
                "or leave out --commissioner to import every commissioner's practices."
            ) from None

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"Checked {done} of {total} rows")

"""``manage.py seed_demo``: build the demo programme (safe to run again)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from practices.demo import as_json_rows, seed_demo


class Command(BaseCommand):
    help = "Build the demo programme: two commissioners, practices, people in every role. Never duplicates."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print every demo login as JSON.")
        parser.add_argument("--logins", action="store_true", help="Print one demo login per role.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo refuses to run with production settings.")
        logins = seed_demo()
        if options["json"]:
            self.stdout.write(json.dumps(as_json_rows(logins), indent=2))
            return
        if options["logins"]:
            seen: set[str] = set()
            self.stdout.write(f"\nDemo logins (password for all: {logins[0].password})")
            for login in logins:
                if login.role not in seen and login.commissioner == "99J":
                    seen.add(login.role)
                    self.stdout.write(f"  {login.role:<9} {login.email}")
            self.stdout.write("  (another commissioner: lead.highweald@demo.microsystems.example)\n")
            self.stdout.write("Open http://127.0.0.1:8000 and sign in.\n")
            return
        self.stdout.write(self.style.SUCCESS(f"Demo programme ready: {len(logins)} logins."))

#!/usr/bin/env python3
"""The backup and restore drill: back up with ``docs/deploy.md``'s commands, restore, and compare.

1. builds the demo programme (``seed_demo``) in a fresh PostgreSQL database, with every chart
   drawn into a fresh media folder;
2. runs the guide's ``backup-step`` block (``pg_dump --format=custom`` and the media folder);
3. creates a second fresh database and runs the guide's ``restore-step`` block (``pg_restore``
   and the media folder) into it and an empty folder;
4. renders the same pages from each copy (the project list; each project's overview and the
   pages it links to; every chart image through its signed link) signed in as each demo
   programme lead, and fails unless every page answers 200 with the same content (CSRF tokens
   and chart-link signatures aside) and every stored file is back byte for byte;
5. drops both databases.

Usage, with the project's virtual environment::

    .venv/bin/python scripts/backup_restore_drill.py --server postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_check import CheckFailed, psql, run_block, with_database  # noqa: E402
from deploy_doc import blocks, guide  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEADS = ("lead.westkent@demo.microsystems.example", "lead.highweald@demo.microsystems.example")
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=|csrf-token" content=|"X-CSRFToken": )"[^"]*"')
CHART_LINK = re.compile(r"(?<=[\"'])/charts/[^\"'\s<>]+")  # signed links; downloads are under /projects/
OVERVIEW = re.compile(r"/projects/\d+/")
SKIPPED = ("/print/", ".pdf", ".csv", ".xlsx", "/history/", "/calendar")  # downloads: not pages


def say(message: str) -> None:
    print(f"drill: {message}", flush=True)


# In a child process, on one copy ------------------------------------------------------------


def django_child() -> None:
    """Set up Django on the copy named by the environment, with tasks run in-process (no broker)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from microsystems.celery import app

    app.conf.task_always_eager = True


def seed() -> None:
    django_child()
    from django.core.management import call_command

    from projects.chart_cache import refresh_charts
    from projects.models import Measure

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", verbosity=0)
    for measure_id in Measure.objects.values_list("pk", flat=True):
        refresh_charts(measure_id)  # draws each chart now (tasks are eager)


def links(path: str, body: str) -> list[str]:
    """From the list, each project's overview; from an overview, the project's own pages (not downloads)."""
    found = re.findall(r'href="(/projects/\d+/[^"?#]*)"', body)
    if path == "/projects/":
        return [link for link in found if OVERVIEW.fullmatch(link)]
    if OVERVIEW.fullmatch(path):
        return [link for link in found if link.startswith(path) and not any(s in link for s in SKIPPED)]
    return []


def normalised(html: str) -> str:
    return CHART_LINK.sub("/charts/…", CSRF.sub(r'\1"…"', html))


def render() -> None:
    """Print, as JSON, every page a lead sees of the projects, and a digest of every stored file."""
    django_child()
    from django.core.files.storage import default_storage
    from django.test import Client

    from microsystems.models import User
    from projects.models import Chart

    pages: dict[str, dict[str, object]] = {}
    for email in LEADS:
        client = Client()
        client.force_login(User.objects.get(email=email))
        queue, seen = ["/projects/"], set()
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path)
            body = response.content.decode()
            pages[f"{email} {path}"] = {"status": response.status_code, "html": normalised(body)}
            queue += [link for link in links(path, body) if link not in seen]
            for number, src in enumerate(CHART_LINK.findall(body), start=1):
                image = client.get(html.unescape(src))
                content = b"".join(image.streaming_content) if image.streaming else image.content  # type: ignore[attr-defined]
                pages[f"{email} {path} chart {number}"] = {
                    "status": image.status_code,
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
    stored = {}
    for chart in Chart.objects.exclude(png="").order_by("measure_id", "kind"):
        for name in (chart.png, chart.svg):
            with default_storage.open(name) as f:
                stored[name] = hashlib.sha256(f.read()).hexdigest()
    print(json.dumps({"pages": pages, "files": stored}))


# The drill ------------------------------------------------------------------------------------


def child(mode: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, __file__, f"--{mode}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode:
        raise CheckFailed(f"{mode} failed:\n{done.stdout[-3000:]}{done.stderr[-5000:]}")
    return done.stdout


def same_lines(page: dict, other: dict) -> bool:
    """The same page but for the order of its rows (ties in an ordering can fall either way after a restore)."""
    return page.get("status") == other.get("status") and sorted(str(page.get("html")).splitlines()) == sorted(
        str(other.get("html")).splitlines()
    )


def compare(source: dict, restored: dict, reordered: list[str]) -> list[str]:
    """What differs between the two copies; pages equal but for row order are added to ``reordered``."""
    problems = []
    if not source["files"]:
        problems.append("the source has no stored chart files: nothing to compare")
    for name, digest in source["files"].items():
        if restored["files"].get(name) != digest:
            problems.append(f"stored file {name} is missing or different after the restore")
    if set(source["pages"]) != set(restored["pages"]):
        problems.append(f"different pages: {sorted(set(source['pages']) ^ set(restored['pages']))[:10]}")
    for key, page in source["pages"].items():
        if page.get("status") != 200:
            problems.append(f"{key} answered {page.get('status')} on the source")
        other = restored["pages"].get(key)
        if other is not None and other != page and same_lines(page, other):
            reordered.append(key)
        elif other is not None and other != page:
            diff = difflib.unified_diff(str(page.get("html")).splitlines(), str(other.get("html")).splitlines(), n=0)
            problems.append(f"{key} differs after the restore:\n" + "\n".join(list(diff)[2:12]))
    return problems


def drill(server: str, stack: ExitStack) -> None:
    text = guide(ROOT)
    backup, restore = blocks(text, "backup-step"), blocks(text, "restore-step")
    if not backup or not restore:
        raise CheckFailed("docs/deploy.md has no backup-step or restore-step block")
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drill-")))
    token = secrets.token_hex(4)
    names = {"source": f"microsystems_drill_{token}", "restored": f"microsystems_drill_{token}_restored"}
    for name in names.values():
        psql(server, f'CREATE DATABASE "{name}"')
        stack.callback(psql, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")}
    base.update(
        DJANGO_SETTINGS_MODULE="microsystems.settings.local",
        DEBUG="false",
        REQUIRE_TWO_FACTOR="false",
        ALLOWED_HOSTS="testserver",
        STORAGE_BACKEND="filesystem",
        LOG_LEVEL="WARNING",
    )
    copies = {
        label: {**base, "DATABASE_URL": with_database(server, name), "MEDIA_ROOT": str(work / f"media-{label}")}
        for label, name in names.items()
    }
    started = time.monotonic()
    child("seed", copies["source"])
    say(f"seeded the demo with its charts into {names['source']} in {time.monotonic() - started:.0f}s")
    step_env = {
        **copies["source"],
        "BACKUP_DIR": str(work / "backup"),
        "RESTORE_DATABASE_URL": copies["restored"]["DATABASE_URL"],
        "RESTORE_MEDIA_ROOT": copies["restored"]["MEDIA_ROOT"],
    }
    for block in backup:
        run_block(block, cwd=ROOT, env=step_env)
    say(f"backed up: {', '.join(f'{p.name} {p.stat().st_size:,} bytes' for p in sorted((work / 'backup').iterdir()))}")
    for block in restore:
        run_block(block, cwd=ROOT, env=step_env)
    say(f"restored into {names['restored']}")
    results = {label: json.loads(child("render", env)) for label, env in copies.items()}
    reordered: list[str] = []
    problems = compare(results["source"], results["restored"], reordered)
    if reordered:
        say(f"same content in a different order (ties in a page's ordering) on: {', '.join(reordered)}")
    if problems:
        raise CheckFailed("the restored copy differs:\n" + "\n".join(problems[:30]))
    charts = sum(1 for key in results["source"]["pages"] if " chart " in key)
    say(
        f"{len(results['source']['pages']) - charts} pages and {charts} chart images answer the same from both "
        f"copies; {len(results['source']['files'])} stored files are back byte for byte"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="a PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:
        seed()
        return 0
    if args.render:
        render()
        return 0
    if not args.server:
        parser.error("--server is required")
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            drill(args.server, stack)
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        say(f"FAILED: {failure}")
        return 1
    say(f"passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

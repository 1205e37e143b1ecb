"""The notification sweep's part of ``make bench``: its dataset, its measurement and the verdict on its queries.

The dataset is built small (60 practices, 100 projects) into a temporary SQLite file the way
``bench`` builds it, in a subprocess under the bench settings, and swept there by
``bench_sweep``; the verdict is checked on made-up results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from microsystems.management.commands import bench as bench_command

PROJECTS = 100


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    database = tmp_path_factory.mktemp("bench") / "sweep.sqlite3"
    url = f"sqlite:///{database}"
    bench_command.manage(url, "migrate", "--noinput", "--verbosity=0")
    bench_command.manage(url, "bench_build", "--practices=60", f"--sweep-projects={PROJECTS}")
    manifest = json.loads(bench_command.manage(url, "bench_build", "--describe"))
    yield {"manifest": manifest, "result": json.loads(bench_command.manage(url, "bench_sweep"))}


@pytest.mark.slow
def test_the_dataset_has_projects_whose_follow_up_is_due_within_14_days(swept: dict[str, Any]) -> None:
    manifest = swept["manifest"]
    assert manifest["built"]["sweep_projects"] == PROJECTS
    assert manifest["counts"]["projects"] == PROJECTS
    assert manifest["counts"]["follow_ups"] == 2 * PROJECTS
    assert manifest["counts"]["team_members"] == PROJECTS  # a champion each


@pytest.mark.slow
def test_the_first_sweep_adds_a_reminder_for_every_follow_up_and_the_second_adds_nothing(
    swept: dict[str, Any],
) -> None:
    result = swept["result"]
    first, second = result["first"], result["second"]
    assert result["projects"] == PROJECTS and result["finders"] >= 1
    assert first["failed_finders"] == second["failed_finders"] == 0
    follow_up_reminders = result["rows_by_kind"].get("follow_up_soon", 0) + result["rows_by_kind"].get(
        "follow_up_today", 0
    )
    assert follow_up_reminders >= PROJECTS  # the coach's at least; the champion's too when they have a login
    assert first["created"] == result["outbox_rows"] and second["created"] == 0
    assert second["inserts"] == 0 and second["queries"] == second["reads_and_updates"] > 0
    assert first["queries"] == first["reads_and_updates"] + first["inserts"]
    assert result["queue"]["queries"] == 1


def _run(reads: int, inserts: int, created: int, projects: int) -> dict[str, Any]:
    run = {"reads_and_updates": reads, "inserts": inserts, "created": created, "queries": reads + inserts, "ms": 1.0}
    return {
        "projects": projects,
        "follow_ups": 2 * projects,
        "finders": 7,
        "where": "here",
        "first": run,
        "second": {**run, "inserts": 0, "created": 0, "queries": reads},
        "queue": {"ms": 1.0, "queries": 1, "ids": created},
    }


def test_the_verdict_allows_the_outbox_batches_and_nothing_else_to_grow() -> None:
    small, full = _run(28, 9, 2_000, 1_000), _run(28, 45, 20_000, 10_000)
    assert bench_command.sweep_checks(small, full) == {"queries_constant": True, "problems": []}
    lines = bench_command.sweep_lines({"database": "SQLite", "small": small, "full": full, "checks": {
        "queries_constant": True, "problems": []}})  # fmt: skip
    assert "Queries: constant" in lines[-1] and "10,000 projects" in lines[2]

    grows = bench_command.sweep_checks(small, _run(29, 50, 20_000, 10_000))
    assert not grows["queries_constant"]
    assert "reads or updates 28 times over 1,000 projects but 29 over 10,000" in grows["problems"][0]
    per_row = bench_command.sweep_checks(small, _run(28, 20_000, 20_000, 10_000))
    assert "20000 INSERTs for 20,000 new rows (at most 47" in per_row["problems"][0]


def test_bench_sweep_refuses_other_settings() -> None:
    with pytest.raises(CommandError, match="microsystems.settings.bench"):
        call_command("bench_sweep")

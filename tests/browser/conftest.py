"""Browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.

Where ``chromium`` is not installed they are skipped with a notice, except in CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop.

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _require_chromium() -> None:
    if CHROMIUM:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Debian's chromium is not installed: CI must run the browser tests (apt-get install chromium).")
    pytest.skip("Browser tests skipped: install Debian's chromium package to run them.")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_FLAGS}


def pytest_report_header(config: pytest.Config) -> str:
    if CHROMIUM:
        return f"browser tests: {CHROMIUM}"
    return "browser tests: SKIPPED (Debian's chromium is not installed)"

"""The funding export, measured: our streamed CSV beside PostgreSQL's own ``COPY``, and its memory.

These run in ``manage.py bench_export``, a child process ``manage.py bench`` starts under
the bench settings against the export's dataset (``bench_build --export-rows``), so each
memory measurement has a fresh process of its own and a peak no earlier work has raised.

- ``time_export``: our CSV of a year's payments (``reports.payment_rows(as_text=True)`` through
  ``exports.csv_lines``, every chunk encoded as the response would and written to a sink
  that keeps nothing) against PostgreSQL writing the same query's rows as CSV itself
  (``COPY (<the query our export ran>) TO STDOUT``, read by psycopg2 into the same kind
  of sink). The query is the one ``payment_rows`` sends, caught on its way to the
  database, so both read exactly the same rows, joins and order; the difference is what
  Python costs. On SQLite there is no ``COPY``, so only our side is timed, and it says so.
- ``export_memory``: how much the process grows while exporting, after a warm-up that
  imports everything and opens the connection: the peak resident set during the export
  above the resident set before it, and the peak of Python's own allocations
  (``tracemalloc``) in a second pass. Flat means the same at 10,000 rows as at 100,000.
"""

from __future__ import annotations

import re
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import connection

KIB = 1024
MIB = 1024 * 1024
WARMUP_ROWS = 100


class NullSink:
    """A file that keeps nothing: counts the bytes written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes | str) -> int:
        self.bytes += len(data)
        return len(data)


class _Counted:
    """Rows passed through unchanged, counted on the way."""

    def __init__(self, rows: Iterator[Any]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self.rows:
            self.count += 1
            yield row


def export_csv(year: int, sink: NullSink, *, limit: int | None = None, count: bool = True) -> int:
    """Our CSV of the year's payments (every commissioner's) written to ``sink``; the number of rows (0 uncounted).

    Each chunk is encoded to UTF-8, as ``StreamingHttpResponse`` does before sending it.
    ``limit`` stops after that many rows (the warm-up), closing the database cursor; a timed
    run passes ``count=False``, so nothing but the export itself touches each row.
    """
    from projects.payments.exports import csv_lines
    from projects.payments.reports import payment_rows

    rows = payment_rows(year, None, as_text=True)
    read = islice(rows, limit) if limit is not None else rows
    counted = _Counted(read) if count else None
    try:
        for chunk in csv_lines(counted or read):
            sink.write(chunk.encode())
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # a generator left half-read would keep its server-side cursor open
    return counted.count if counted else 0


def export_query(year: int) -> tuple[str | None, int]:
    """The SQL ``payment_rows`` sends for the year, parameters filled in (PostgreSQL only), and how many queries ran.

    Caught with an execute wrapper while our export reads its first rows, so ``COPY``
    runs exactly what our export runs.
    """
    seen: list[tuple[str, Any]] = []

    def catch(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(catch):
        export_csv(year, NullSink(), limit=WARMUP_ROWS)
    reads = [(sql, params) for sql, params in seen if "projects_payment" in sql and sql.lstrip().startswith("SELECT")]
    if not reads:
        raise RuntimeError("The funding export ran no SELECT on projects_payment: has payment_rows changed?")
    sql, params = reads[0]
    if connection.vendor != "postgresql":
        return None, len(seen)
    with connection.cursor() as cursor:
        filled = cursor.mogrify(sql, params)
    return (filled.decode() if isinstance(filled, bytes) else filled), len(seen)


def copy_csv(query: str, sink: NullSink) -> None:
    """PostgreSQL's own CSV of ``query``'s rows, with a header, read into ``sink``."""
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", sink)


def _timed_ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def time_export(year: int, repeat: int) -> dict[str, Any]:
    """Median times of our export and of ``COPY`` (PostgreSQL only) of the year's payments, taken in turn.

    One untimed run of each first, so both read a warm cache.
    """
    query, queries = export_query(year)
    can_copy = query is not None
    ours_sink, copy_sink = NullSink(), NullSink()
    rows = export_csv(year, ours_sink)
    if query is not None:
        copy_csv(query, copy_sink)
    ours, copies = [], []
    for _ in range(repeat):
        ours.append(_timed_ms(lambda: export_csv(year, NullSink(), count=False)))
        if query is not None:
            copies.append(_timed_ms(lambda: copy_csv(query, NullSink())))
    ours_ms = round(statistics.median(ours), 1)
    copy_ms = round(statistics.median(copies), 1) if copies else None
    return {
        "year": year,
        "rows": rows,
        "queries": queries,
        "runs": repeat,
        "ours_ms": ours_ms,
        "ours_runs_ms": [round(t, 1) for t in ours],
        "ours_bytes": ours_sink.bytes,
        "rows_per_second": round(rows / (ours_ms / 1000)) if ours_ms else None,
        "copy_ms": copy_ms,
        "copy_runs_ms": [round(t, 1) for t in copies],
        "copy_bytes": copy_sink.bytes if can_copy else None,
        "ratio": round(ours_ms / copy_ms, 2) if copy_ms else None,
        "copy_skipped": None if can_copy else f"{connection.display_name} has no COPY: set DATABASE_URL=postgres://...",
    }


PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> int:
    """A ``kB`` line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    found = re.search(rf"^{field}:\s+(\d+) kB", PROC_STATUS.read_text(), re.MULTILINE)
    if found is None:
        raise OSError(f"no {field} in {PROC_STATUS}")
    return int(found.group(1)) * KIB


def _maxrss() -> int:
    """The process's peak resident set so far, in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * KIB


def _start_peak_rss() -> tuple[int, Callable[[], int], str]:
    """The resident set now, a function giving the peak since, and how it is measured.

    On Linux the peak (``VmHWM``) is reset first, so a peak reached before (Django starting
    up, say) cannot hide the export's; elsewhere ``ru_maxrss``, which can only go up.
    """
    try:
        PROC_CLEAR_REFS.write_text("5")  # "5": reset the peak resident set to the current one
        return _status_bytes("VmRSS"), lambda: _status_bytes("VmHWM"), "VmHWM, reset before the export"
    except OSError:
        return _maxrss(), _maxrss, "ru_maxrss (peak of the whole process)"


def export_memory(year: int) -> dict[str, Any]:
    """How much exporting the year's payments makes this (fresh) process grow.

    A warm-up of ``WARMUP_ROWS`` rows first, so imports, the connection and the caches are
    not counted. Then the whole export, with the resident set before and its peak during;
    then the whole export again under ``tracemalloc`` for the peak of Python's allocations
    (after the first pass, so its own bookkeeping does not inflate the resident peak).
    """
    export_csv(year, NullSink(), limit=WARMUP_ROWS)
    before, peak, method = _start_peak_rss()
    rows = export_csv(year, NullSink())
    after = peak()
    tracemalloc.start()
    try:
        export_csv(year, NullSink())
        python_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {
        "year": year,
        "rows": rows,
        "rss_before_mib": round(before / MIB, 1),
        "rss_peak_mib": round(after / MIB, 1),
        "rss_growth_mib": round((after - before) / MIB, 2),
        "rss_measured_by": method,
        "python_peak_mib": round(python_peak / MIB, 2),
    }

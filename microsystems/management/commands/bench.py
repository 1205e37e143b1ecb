"""``make bench``: how the key pages perform at national scale, measured over real HTTP.

1. Builds two datasets, each in its own database: the full one (``--practices``, every
   practice in England by default: 6,500 practices in 1,250 PCNs under 42 commissioners,
   with staff) and one with a tenth of the practices, PCNs and staff (the 42
   commissioners stay, so the signed-in lead sees a tenth of the rows). With a
   PostgreSQL ``DATABASE_URL`` they are the databases ``<name>_bench`` and
   ``<name>_bench_small`` on the same server; otherwise the SQLite files
   ``bench/bench.sqlite3`` and ``bench/bench_small.sqlite3``. Each is built by ``migrate``
   and ``bench_build`` in a subprocess under ``microsystems.settings.bench``; ``--keep``
   reuses a dataset that is already there.
2. Serves the full dataset with gunicorn on loopback, signs in as the programme lead of
   the largest commissioner (and, for the coach pages, as its busiest coach), and
   requests the bare view and every page in ``PAGES`` in turn (round-robin, so all see
   the same conditions): warm-up rounds, then ``--repeat`` timed rounds. A page with
   ``against`` is compared with that page instead of the bare view (the signed chart
   link with a static file of the same size). Before serving it also times the analysis
   of a 10,000-point series and a chart drawn by our code against matplotlib alone. It
   records each page's median and 95th-percentile latency and its SQL query count (the
   ``X-Query-Count`` header from ``microsystems.bench``).
3. Serves the small dataset the same way, for the query counts alone.
4. Prints a table and writes ``bench/results.json``. Exits non-zero if any page's query
   count differs between the two datasets; a page slower than its target (p95 within
   ``max_p95_ratio`` times the bare view's) is reported, and fails the run only with
   ``--strict``.
5. Measures the funding export on a third dataset of its own (``<name>_bench_export`` or
   ``bench/bench_export.sqlite3``: the practices and ``--export-rows`` payments, 100,000
   by default, in the last whole financial year, and a tenth in the year before; see
   ``bench_build.build_funding_volume``). In child processes (``bench_export``, see
   ``microsystems.bench_export``): our CSV of the big year against PostgreSQL's own
   ``COPY`` of the same query's rows (target within ``MAX_EXPORT_RATIO``; on SQLite there
   is no ``COPY`` and the output says it was not compared), the export's memory at both
   sizes, each in a fresh process (target: flat), and the CSV downloaded once through
   gunicorn. A miss is reported, and fails the run only with ``--strict``.
   ``--export-only`` measures just this and keeps the pages' results already in the file.
6. Measures the notification sweep on two datasets of their own (``<name>_bench_sweep`` and
   ``<name>_bench_sweep_small``, or ``bench/bench_sweep*.sqlite3``: the practices and staff,
   and ``--sweep-projects`` completed projects, 10,000 by default, or a tenth, whose 6-month
   follow-up falls due within 14 days; see ``bench_build.build_sweep_volume``). In a child
   process each (``bench_sweep``, see ``microsystems.bench_sweep``): the first sweep, which
   adds every reminder due, and the second, which adds nothing, each timed with its SQL
   statements counted. The run fails if the reads and updates differ between the two sizes
   or the INSERTs are more than the outbox's bulk batches. ``--sweep-only`` measures just
   this and keeps the other results already in the file; ``--sweep-projects 0`` skips it.

The programme pages (the dashboard and the reports) show charts the Celery worker draws,
and no worker runs while benchmarking: after building each dataset ``bench`` requests every
page marked ``draws_charts`` once in-process with Celery eager (``bench_build --warm``), so
the timed requests find the charts drawn, as on a warm production site.

Adding a page (every issue adds its own): append a ``Page`` to ``PAGES`` with its name
and a function from the ``Dataset`` to its URL. A page about one object takes it from
``dataset.sample(kind)``: the largest such object in the full dataset and the smallest
in the small one, so a query per row shows up as a difference. Kinds are defined in
``bench_build.samples()``, which is where an issue's new data goes too (``STEPS``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils import timezone

from evaluation.reporting import REPORTS
from microsystems.bench import QUERY_COUNT_HEADER
from projects.models import financial_year_of

from .bench_build import EXPORT_ROWS, NATIONAL_PRACTICES, SWEEP_PROJECTS, SWEEP_SMALL_SHARE

BENCH_SETTINGS = "microsystems.settings.bench"
BARE_URL = "/bench/bare/"
TARGET_P95_RATIO = 3.0
HOST = "127.0.0.1"
SMALL_ROUNDS = 5  # query counts only: a few requests are plenty
BUILD_TIMEOUT = 1800  # the national dataset builds in about 5 minutes on 2 idle cores, 11 on busy ones
HTTP_TIMEOUT = 30
SERVER_START_TIMEOUT = 60
SERVER_STOP_TIMEOUT = 15


@dataclass
class Dataset:
    label: str  # "full" or "small"
    practices: int
    database_url: str
    where: str  # the file or database, for people
    manifest: dict[str, Any] = field(default_factory=dict)
    export_rows: int = 0  # the funding export's dataset: payments in its year, and no pages
    sweep_projects: int = 0  # a notification sweep's dataset: projects with a follow-up due, and no pages

    @property
    def is_small(self) -> bool:
        return self.label == "small"

    def sample(self, kind: str) -> str:
        """The key of the object a page about one ``kind`` uses: the largest, or the smallest in the small dataset."""
        try:
            return str(self.manifest["samples"][kind]["smallest" if self.is_small else "largest"]["key"])
        except KeyError:
            raise CommandError(f"The {self.label} dataset has no {kind!r} sample: see bench_build.samples().") from None


@dataclass(frozen=True)
class Page:
    """A page to time. ``against`` names another page to compare with instead of the bare view;
    ``resolve`` finds a URL only a signed-in page can give (a signed chart link)."""

    name: str
    url: Callable[[Dataset], str]
    max_p95_ratio: float = TARGET_P95_RATIO
    against: str | None = None
    who: str = "lead"  # "lead", or "coach": the busiest coach of the lead's commissioner
    resolve: Callable[[Dataset, Client], str] | None = None
    draws_charts: bool = False  # requested once before timing, so the worker's charts are drawn (see ``warm``)


def _directory(query: str = "") -> Callable[[Dataset], str]:
    return lambda d: reverse("practices:directory") + query


def _projects(query: str = "") -> Callable[[Dataset], str]:
    return lambda d: reverse("projects:list") + query


def _project(name: str, *args: str) -> Callable[[Dataset], str]:
    """A page about the sample project: the biggest team in the full dataset, the smallest in the small one."""
    return lambda d: reverse(f"projects:{name}", args=[d.sample("project"), *args])


def _measure(name: str = "measure") -> Callable[[Dataset], str]:
    """A page about the sample measure: the most values in the full dataset, the fewest in the small one."""
    return lambda d: reverse(f"projects:{name}", args=d.sample("measure").split("/"))


def _dashboard(one_pcn_last_year: bool = False) -> Callable[[Dataset], str]:
    """The programme dashboard; or filtered to the PCN with the most practices (fewest in the small dataset)
    and the last whole financial year."""

    def url(d: Dataset) -> str:
        if not one_pcn_last_year:
            return reverse("programme:dashboard")
        last_year = financial_year_of(timezone.localdate()) - 1
        return reverse("programme:dashboard") + "?" + urlencode({"pcn": d.sample("pcn"), "year": last_year})

    return url


def _report(slug: str) -> Callable[[Dataset], str]:
    return lambda d: reverse("programme:report", args=[slug])


CHART_STATIC = "/static/bench-chart-sized.png"  # written by ``bench`` the size of the sample chart
CHART_IMAGE = re.compile(r'<img src="(/charts/[^"]+)"')


def _signed_chart_link(dataset: Dataset, client: Client) -> str:
    """The run chart's signed link, as the measure page hands it to the browser."""
    page = client.get(_measure()(dataset))
    found = CHART_IMAGE.search(page.body.decode())
    if page.status != 200 or not found:
        raise CommandError(f"The measure page ({page.status}) shows no chart: were the sample charts drawn?")
    return found.group(1)


PAGES: list[Page] = [
    Page("Home", lambda d: reverse("home")),
    Page("Practice directory", _directory()),
    Page("Practice directory, filtered and sorted", _directory("?engagement=engaged&sort=-list_size")),
    Page("Practice directory, page 2 by PCN", _directory("?sort=pcn&page=2")),
    Page("Practice detail", lambda d: reverse("practices:detail", args=[d.sample("practice")])),
    Page("Project list", _projects()),
    Page("Project list, filtered", _projects("?step=treat")),
    Page("Project overview", _project("overview")),
    Page("Workbook: Assess", _project("workbook", "assess")),
    Page("Workbook: Diagnose", _project("workbook", "diagnose")),
    Page("PDSA cycles", _project("cycles")),
    Page("Measures", _project("measures")),
    Page("Measure page", _measure()),
    Page("Coach directory", lambda d: reverse("coaching:coaches")),
    Page("Coach matching", lambda d: reverse("coaching:matching", args=[d.sample("project")])),
    Page("Coaching agreement", lambda d: reverse("coaching:agreement", args=[d.sample("project")])),
    Page("Sessions of a project", lambda d: reverse("coaching:project_sessions", args=[d.sample("project")])),
    Page("Coach home", lambda d: reverse("coaching:home"), who="coach"),
    Page("Sessions of a coach", lambda d: reverse("coaching:my_sessions"), who="coach"),
    Page("Programme dashboard", _dashboard(), draws_charts=True),
    Page("Programme dashboard, one PCN, last year", _dashboard(one_pcn_last_year=True), draws_charts=True),
    *(Page(f"Report: {title}", _report(slug), draws_charts=True) for slug, (title, _) in REPORTS.items()),
    Page("Programme report page", lambda d: reverse("programme:programme_report"), draws_charts=True),
    Page("Static file the size of the chart", lambda d: CHART_STATIC),
    Page(
        "Chart image (signed link)",
        lambda d: "",
        max_p95_ratio=2.0,
        against="Static file the size of the chart",
        resolve=_signed_chart_link,
    ),
]


# Databases -----------------------------------------------------------------------------


class SqliteDatabases:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.engine = "SQLite"

    def path(self, label: str) -> Path:
        return self.folder / ("bench.sqlite3" if label == "full" else f"bench_{label}.sqlite3")

    def url(self, label: str) -> str:
        return f"sqlite:///{self.path(label)}"

    def where(self, label: str) -> str:
        return str(self.path(label).relative_to(settings.BASE_DIR))

    def exists(self, label: str) -> bool:
        return self.path(label).exists()

    def recreate(self, label: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(label)}{suffix}").unlink(missing_ok=True)


class PostgresDatabases:
    """``<name>_bench`` and ``<name>_bench_small`` beside the configured database, on the same server."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.engine = "PostgreSQL"

    def name(self, label: str) -> str:
        return f"{self.config['NAME']}_bench" + ("" if label == "full" else f"_{label}")

    def url(self, label: str) -> str:
        c = self.config
        auth = quote(c.get("USER") or "", safe="")
        if c.get("PASSWORD"):
            auth += ":" + quote(c["PASSWORD"], safe="")
        netloc = (f"{auth}@" if auth else "") + (c.get("HOST") or "") + (f":{c['PORT']}" if c.get("PORT") else "")
        options = {k: v for k, v in (c.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
        return f"postgres://{netloc}/{self.name(label)}" + (f"?{urlencode(options)}" if options else "")

    def where(self, label: str) -> str:
        return f"database {self.name(label)}"

    @contextmanager
    def _server(self) -> Iterator[Any]:
        import psycopg2

        c = self.config
        connection = psycopg2.connect(
            dbname="postgres",
            user=c.get("USER") or None,
            password=c.get("PASSWORD") or None,
            host=c.get("HOST") or None,
            port=c.get("PORT") or None,
            connect_timeout=10,
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def exists(self, label: str) -> bool:
        with self._server() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name(label)])
            return cursor.fetchone() is not None

    def recreate(self, label: str) -> None:
        from psycopg2 import sql

        name = sql.Identifier(self.name(label))
        with self._server() as cursor:
            cursor.execute("SELECT current_setting('server_version_num')::int")
            if cursor.fetchone()[0] >= 130000:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            else:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [self.name(label)]
                )
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))


def databases_for(config: dict[str, Any]) -> SqliteDatabases | PostgresDatabases:
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return SqliteDatabases(Path(settings.BASE_DIR) / "bench")
    if engine == "django.db.backends.postgresql":
        return PostgresDatabases(config)
    raise CommandError(f"The benchmark runs on SQLite or PostgreSQL, not {engine}.")


# Subprocesses: building and serving ------------------------------------------------------


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS,
        "BENCH_DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }


def manage(database_url: str, *args: str, timeout: float = BUILD_TIMEOUT) -> str:
    """Run ``manage.py *args`` against the benchmark database; its output, or a CommandError."""
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
    try:
        done = subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
            command,
            cwd=settings.BASE_DIR,
            env=bench_env(database_url),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"`manage.py {' '.join(args)}` took more than {timeout:.0f}s.") from None
    if done.returncode:
        raise CommandError(f"`manage.py {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def gunicorn_command(port: int, workers: int) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "microsystems.wsgi:application",
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--timeout=60",
        "--graceful-timeout=5",
        "--log-level=warning",
        "--error-logfile=-",
    ]
    try:
        from gunicorn.config import KNOWN_SETTINGS

        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
            command.append("--no-control-socket")
    except ImportError:
        pass
    return command


def _die_with_parent() -> None:
    """In the child, before exec (Linux): have the kernel send SIGTERM if ``bench`` itself dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@contextmanager
def exit_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit while benchmarking, so servers are stopped on the way out."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Server:
    """gunicorn serving one benchmark database on a free loopback port; always stopped on exit."""

    def __init__(self, database_url: str, workers: int) -> None:
        self.database_url = database_url
        self.workers = workers
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in __exit__)

    def __enter__(self) -> Server:
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            gunicorn_command(self.port, self.workers),
            cwd=settings.BASE_DIR,
            env=bench_env(self.database_url),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, for the last-resort kill below
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn exited with status {self.process.returncode}:\n{self.output()}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
                connection.request("GET", "/account/login/")
                status = connection.getresponse().status
                connection.close()
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                return
            raise CommandError(f"gunicorn answered the sign-in page with {status}:\n{self.output()}")
        raise CommandError(f"gunicorn did not answer within {SERVER_START_TIMEOUT}s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()  # gunicorn's graceful shutdown: the master stops its workers
            try:
                process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the master and its workers
                process.wait(5)
        self.log.close()


# HTTP ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    elapsed_ms: float


class Client:
    """A browser enough for the benchmark: cookies, one connection a request, timed to the last byte."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        all_headers = {"User-Agent": "microsystems-bench", "Accept": "text/html", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(HOST, self.port, timeout=HTTP_TIMEOUT)
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return Response(response.status, response.headers, data, elapsed * 1000)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def sign_in(self, email: str, password: str) -> None:
        login = reverse("login")
        page = self.get(login)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if page.status != 200 or not match:
            raise CommandError(f"The sign-in page answered {page.status} without a CSRF token.")
        form = {"csrfmiddlewaretoken": match.group(1).decode(), "username": email, "password": password}
        response = self.request("POST", login, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})
        if response.status != 302 or "sessionid" not in self.cookies:
            raise CommandError(f"Signing in as {email} failed (status {response.status}).")


# Measuring -------------------------------------------------------------------------------


@dataclass
class Sample:
    times_ms: list[float] = field(default_factory=list)
    query_counts: list[int] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return round(statistics.median(self.times_ms), 2)

    @property
    def p95_ms(self) -> float:
        if len(self.times_ms) < 2:
            return round(self.times_ms[0], 2)
        return round(statistics.quantiles(self.times_ms, n=20, method="inclusive")[18], 2)

    @property
    def queries(self) -> int:
        """The usual count: the session's periodic last-seen write adds one now and then."""
        counts = Counter(self.query_counts).most_common()
        top = counts[0][1]
        return min(n for n, seen in counts if seen == top)


def measure(clients: dict[str, Client], who: list[str], urls: list[str], warmup: int, rounds: int) -> list[Sample]:
    """Request every URL once a round, in turn, each as its user: ``warmup`` rounds unrecorded, then ``rounds``."""
    samples = [Sample() for _ in urls]
    for round_ in range(warmup + rounds):
        for url, sample, user in zip(urls, samples, who, strict=True):
            try:
                response = clients[user].get(url)
            except (http.client.HTTPException, OSError) as e:  # a worker killed mid-response, say
                raise CommandError(f"GET {url} failed: {e!r}.") from None
            if response.status != 200:
                where = response.headers.get("Location")
                raise CommandError(f"GET {url} answered {response.status}" + (f", to {where}" if where else "") + ".")
            count = response.headers.get(QUERY_COUNT_HEADER)
            if count is None:
                raise CommandError(f"GET {url} has no {QUERY_COUNT_HEADER} header: is it served with {BENCH_SETTINGS}?")
            if round_ >= warmup:
                sample.times_ms.append(response.elapsed_ms)
                sample.query_counts.append(int(count))
    return samples


@dataclass
class Measurement:
    """One dataset's run: the bare view and each page in ``PAGES`` (same order), with their URLs."""

    dataset: Dataset
    bare: Sample
    urls: list[str]
    pages: list[Sample]


def warm(dataset: Dataset) -> str:
    """Request the pages that show the worker's charts once, in-process with Celery eager: the charts are drawn now.

    Without a worker the timed requests would otherwise find them still pending (and queue them
    again and again), which is neither what a live site shows nor the same work at both sizes.
    """
    urls = [page.url(dataset) for page in PAGES if page.draws_charts]
    return manage(dataset.database_url, "bench_build", "--warm", *urls) if urls else ""


def measure_dataset(dataset: Dataset, *, workers: int, warmup: int, rounds: int) -> Measurement:
    """Serve the dataset with gunicorn, sign in as its lead and measure the bare view and every page."""
    with Server(dataset.database_url, workers) as server:
        clients = {"lead": Client(server.port), "coach": Client(server.port)}
        try:
            clients["lead"].sign_in(**dataset.manifest["login"])
            if dataset.manifest.get("coach_login"):
                clients["coach"].sign_in(**dataset.manifest["coach_login"])
            client = clients["lead"]
            urls = [page.resolve(dataset, client) if page.resolve else page.url(dataset) for page in PAGES]
            who = ["lead", *(page.who for page in PAGES)]
            bare, *pages = measure(clients, who, [BARE_URL, *urls], warmup, rounds)
        except CommandError as e:
            raise CommandError(f"{e}\nThe server's log ends:\n{server.output()}") from None
    return Measurement(dataset, bare, urls, pages)


def summarise(full: Measurement, small: Measurement) -> dict[str, Any]:
    """The results in the shape of ``bench/results.json``, with the checks."""
    pages, query_problems, latency_problems, seen = [], [], [], {}
    bare = full.bare
    for page, url, url_small, sample, sample_small in zip(
        PAGES, full.urls, small.urls, full.pages, small.pages, strict=True
    ):
        yardstick = bare if page.against is None else full.pages[[p.name for p in PAGES].index(page.against)]
        ratio = sample.p95_ms / yardstick.p95_ms
        pages.append(
            {
                "name": page.name,
                "url": url,
                "p50_ms": sample.p50_ms,
                "p95_ms": sample.p95_ms,
                "queries": sample.queries,
                "queries_small": sample_small.queries,
                "p95_ratio": round(ratio, 2),
                "compared_with": page.against or "bare view",
                "max_p95_ratio": page.max_p95_ratio,
            }
        )
        seen[page.name] = {
            "full": sorted(set(sample.query_counts)),
            "small": sorted(set(sample_small.query_counts)),
            "url_small": url_small,
        }
        if sample.queries != sample_small.queries:
            query_problems.append(
                f"{page.name}: {sample.queries} queries with {full.dataset.practices:,} practices ({url}), "
                f"{sample_small.queries} with {small.dataset.practices:,} ({url_small})"
            )
        if ratio > page.max_p95_ratio:
            latency_problems.append(
                f"{page.name}: p95 {sample.p95_ms:.1f} ms is {ratio:.1f}× "
                f"{'the bare view' if page.against is None else page.against}'s "
                f"{yardstick.p95_ms:.1f} ms (target {page.max_p95_ratio:g}×)"
            )
    if bare.queries != small.bare.queries:
        query_problems.append(f"bare view: {bare.queries} queries, {small.bare.queries} with the small dataset")

    def about(d: Dataset) -> dict[str, Any]:
        m = d.manifest
        return {
            "where": d.where,
            **m["counts"],
            "signed_in_as": m["login"]["email"],
            "commissioner": m["commissioner"],
            "samples": m["samples"],
        }

    return {
        "bare": {"p50_ms": bare.p50_ms, "p95_ms": bare.p95_ms},
        "pages": pages,
        "dataset": {"full": about(full.dataset), "small": about(small.dataset)},
        "checks": {
            "queries_constant": not query_problems,
            "latency_within_target": not latency_problems,
            "query_problems": query_problems,
            "latency_problems": latency_problems,
            "bare_queries": bare.queries,
            "bare_queries_small": small.bare.queries,
            "query_counts_seen": seen,
        },
    }


def table(results: dict[str, Any]) -> list[str]:
    """The results as the lines of a plain-text table."""
    bare, checks = results["bare"], results["checks"]
    header = ("Page", "URL", "p50 ms", "p95 ms", "×bare p95", "queries", "queries_small", "ok?")
    # A page compared with another (the signed chart link with a static file) says so in its last column.
    rows = [
        ("bare view", BARE_URL, f"{bare['p50_ms']:.1f}", f"{bare['p95_ms']:.1f}", "1.0",
         str(checks["bare_queries"]), str(checks["bare_queries_small"]), ""),
    ]  # fmt: skip
    for page, result in zip(PAGES, results["pages"], strict=True):
        ratio = result["p95_ratio"]
        verdict = []
        if result["queries"] != result["queries_small"]:
            verdict.append("QUERIES VARY")
        if ratio > page.max_p95_ratio:
            verdict.append(f"SLOW (>{page.max_p95_ratio:g}×)")
        if page.against:
            verdict.append(f"× is against {page.against.lower()}")
        rows.append(
            (
                result["name"],
                result["url"],
                f"{result['p50_ms']:.1f}",
                f"{result['p95_ms']:.1f}",
                f"{ratio:.1f}",
                str(result["queries"]),
                str(result["queries_small"]),
                ", ".join(verdict) or "ok",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = range(2, 7)

    def line(row: tuple[str, ...]) -> str:
        cells = (c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


# Improvement data: files and computations ----------------------------------------------------

ANALYSIS_POINTS = 10_000
TIMED_RUNS = 5
MAX_RENDER_OVERHEAD = 0.5  # our drawing code may add at most 50% to matplotlib's own rendering


def write_chart_sized_file(dataset: Dataset) -> None:
    """A static file exactly the size of the sample chart, for the chart to be timed against."""
    size = dataset.manifest.get("chart", {}).get("bytes")
    if not size:
        raise CommandError("The full dataset has no drawn sample chart: see bench_build.render_sample_charts().")
    path = Path(settings.BASE_DIR) / "bench" / "static" / CHART_STATIC.rsplit("/", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))


def _median_ms(work: Callable[[], object], runs: int = TIMED_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def compute() -> dict[str, Any]:
    """Time the analysis of a 10,000-point series, and a chart drawn by our code against matplotlib's rendering.

    The chart is a year of weekly values with a shift and three PDSA cycles. "Ours" is everything
    the render task does (analysis, building the figure, alt text, PNG and SVG); "matplotlib" is
    rendering the same, already built, figure to PNG and SVG. The difference is our overhead.
    """
    import random
    from datetime import date, timedelta

    from projects.analysis import run_chart, xmr_chart
    from projects.charts import CycleSpan, alt_text_run, draw_run_chart, render
    from projects.series import Series, run_analysis

    rng = random.Random(7)  # noqa: S311  (benchmark data)
    values = [rng.gauss(20 if i < ANALYSIS_POINTS // 2 else 17, 3) for i in range(ANALYSIS_POINTS)]
    run_ms = _median_ms(lambda: run_chart(values, baseline=20))
    xmr_ms = _median_ms(lambda: xmr_chart(values, improvement="down", baseline=20, target=15))

    start = date(2025, 1, 6)
    weekly = [round(rng.gauss(12 if i < 20 else 8, 1.5), 1) for i in range(52)]
    series = Series(
        dates=[start + timedelta(weeks=i) for i in range(52)], values=weekly, notes=[""] * 52,
        astronomical=[False] * 52, baseline=12, target=6.0, improvement="down",
    )  # fmt: skip
    cycles = [
        CycleSpan.from_dates(number=n, planned_start=start + timedelta(weeks=18 + 4 * n),
                             planned_end=start + timedelta(weeks=20 + 4 * n), actual_start=None, actual_end=None)
        for n in range(1, 4)
    ]  # fmt: skip

    def ours() -> None:
        analysis = run_analysis(series)
        render(draw_run_chart(series, analysis, cycles, title="Days from result to action"))  # type: ignore[arg-type]
        alt_text_run(series, analysis)

    figure = draw_run_chart(series, run_analysis(series), cycles, title="Days from result to action")  # type: ignore[arg-type]
    ours()  # fonts and caches warmed before timing either
    ours_ms = _median_ms(ours)
    raw_ms = _median_ms(lambda: render(figure))
    overhead = round(ours_ms / raw_ms - 1, 3)
    lines = [
        f"Analysis of {ANALYSIS_POINTS:,} points: run chart {run_ms:.1f} ms, XmR chart {xmr_ms:.1f} ms.",
        f"Run chart, 52 points: drawn and rendered by our code {ours_ms:.0f} ms; matplotlib rendering the same "
        f"figure {raw_ms:.0f} ms; overhead {overhead:.0%} (target at most {MAX_RENDER_OVERHEAD:.0%}).",
    ]
    return {
        "analysis_10k_run_chart_ms": run_ms,
        "analysis_10k_xmr_chart_ms": xmr_ms,
        "chart_ours_ms": ours_ms,
        "chart_matplotlib_ms": raw_ms,
        "chart_overhead": overhead,
        "chart_overhead_within_target": overhead <= MAX_RENDER_OVERHEAD,
        "lines": lines,
    }


# The funding export -------------------------------------------------------------------------

EXPORT_RUNS = 5  # timed runs of the export and of COPY, taken in turn: the median of each
MAX_EXPORT_RATIO = 3.0  # our CSV export may take at most 3× PostgreSQL's own COPY of the same rows
MAX_MEMORY_RATIO = 1.5  # flat: the export's memory at the big year within 1.5× the small year's
MEMORY_FLOOR_MIB = 1.0  # resident growth below this is page and allocator noise, not the export
EXPORT_TIMEOUT = 600


def export_years(dataset: Dataset) -> tuple[int, int]:
    """The export dataset's year with the most payments (timed, and its memory) and with the fewest (memory)."""
    by_year = {int(year): n for year, n in dataset.manifest.get("payments_by_year", {}).items()}
    if len(by_year) < 2:
        raise CommandError(f"The export dataset in {dataset.where} has payments in {len(by_year)} year(s), not two.")
    return max(by_year, key=lambda y: by_year[y]), min(by_year, key=lambda y: by_year[y])


def _export_child(dataset: Dataset, *args: str) -> dict[str, Any]:
    return json.loads(manage(dataset.database_url, "bench_export", *args, timeout=EXPORT_TIMEOUT))


def _flat_ratio(big: dict[str, Any], small: dict[str, Any], key: str, floor: float = 0.0) -> float:
    return round(max(big[key], floor) / max(small[key], floor, 1e-9), 2)


def measure_export(dataset: Dataset, *, runs: int, engine: str) -> dict[str, Any]:
    """Time the funding export beside ``COPY`` and measure its memory at both sizes, each in a process of its own.

    Then, if the report's CSV download exists, fetch it once through gunicorn as a staff
    admin (every commissioner's rows), for what serving adds to the export itself.
    """
    year, small_year = export_years(dataset)
    timing = _export_child(dataset, f"--year={year}", f"--repeat={runs}")
    big = _export_child(dataset, f"--year={year}", "--memory")
    small = _export_child(dataset, f"--year={small_year}", "--memory")
    python_ratio = _flat_ratio(big, small, "python_peak_mib")
    rss_ratio = _flat_ratio(big, small, "rss_growth_mib", MEMORY_FLOOR_MIB)
    ratio = timing["ratio"]
    return {
        "database": engine,
        "where": dataset.where,
        "time": timing,
        "memory": {"rows": {"small": small["rows"], "big": big["rows"]}, "small": small, "big": big},
        "http": export_over_http(dataset, year, runs),
        "checks": {
            "copy_ratio": ratio,
            "max_copy_ratio": MAX_EXPORT_RATIO,
            "within_copy_target": None if ratio is None else ratio <= MAX_EXPORT_RATIO,
            "python_peak_ratio": python_ratio,
            "rss_growth_ratio": rss_ratio,
            "max_memory_ratio": MAX_MEMORY_RATIO,
            "memory_flat": python_ratio <= MAX_MEMORY_RATIO and rss_ratio <= MAX_MEMORY_RATIO,
        },
    }


def export_over_http(dataset: Dataset, year: int, runs: int) -> dict[str, Any]:
    """The payments CSV downloaded through gunicorn (streamed) by the staff admin: median time and size."""
    from django.urls import NoReverseMatch

    try:
        url = reverse("payments:export_csv") + "?" + urlencode({"view": "payments", "year": year})
    except NoReverseMatch:
        return {"skipped": "the reports have no payments:export_csv URL yet"}
    login = dataset.manifest.get("admin_login")
    if not login:
        return {"skipped": "the export dataset has no staff admin to sign in as"}
    times, sizes, streamed = [], [], []
    with Server(dataset.database_url, workers=1) as server:
        client = Client(server.port)
        try:
            client.sign_in(**login)
            for round_ in range(runs + 1):  # the first warms the worker up
                response = client.get(url)
                if response.status != 200:
                    raise CommandError(f"GET {url} answered {response.status}.")
                if round_:
                    times.append(response.elapsed_ms)
                    sizes.append(len(response.body))
                    # Streamed: sent as it is written, so no length is known up front.
                    streamed.append(response.headers.get("Content-Length") is None)
        except CommandError as e:
            raise CommandError(f"{e}\nThe server's log ends:\n{server.output()}") from None
    return {
        "url": url,
        "ms": round(statistics.median(times), 1),
        "runs_ms": [round(t, 1) for t in times],
        "bytes": sizes[-1],
        "streamed": all(streamed),
    }


def export_lines(export: dict[str, Any]) -> list[str]:
    """The funding export's results, for people."""
    t, m, http, checks = export["time"], export["memory"], export["http"], export["checks"]
    rows = f"{t['rows']:,} payments of {t['year']}/{(t['year'] + 1) % 100:02d}"
    lines = [
        f"Funding export on {export['database']} ({export['where']}): {rows}, {t['queries']} query, "
        f"{t['ours_bytes'] / 1e6:.1f} MB of CSV.",
        f"  Our CSV export: {t['ours_ms']:,.0f} ms (median of {t['runs']}; {t['rows_per_second']:,} rows a second).",
    ]
    if t["copy_ms"] is None:
        lines.append(f"  PostgreSQL's COPY of the same rows: NOT MEASURED ({t['copy_skipped']} to compare).")
    else:
        verdict = "ok" if checks["within_copy_target"] else "SLOWER THAN TARGET"
        lines.append(
            f"  PostgreSQL's COPY of the same query: {t['copy_ms']:,.0f} ms ({t['copy_bytes'] / 1e6:.1f} MB); "
            f"ours is {t['ratio']:.1f}× (target at most {MAX_EXPORT_RATIO:g}×): {verdict}."
        )
    if "skipped" in http:
        lines.append(f"  Through gunicorn: not measured ({http['skipped']}).")
    else:
        how = "streamed" if http["streamed"] else "NOT STREAMED: it has a Content-Length"
        lines.append(
            f"  Through gunicorn ({how}; signed in as the staff admin): {http['ms']:,.0f} ms for "
            f"{http['bytes'] / 1e6:.1f} MB."
        )
    small, big = m["small"], m["big"]
    flat = "flat" if checks["memory_flat"] else "NOT FLAT"
    lines.append(
        f"  Memory, each in a fresh process: {small['rows']:,} rows: Python peak {small['python_peak_mib']:.1f} MiB, "
        f"resident growth {small['rss_growth_mib']:.1f} MiB (of {small['rss_peak_mib']:.0f}); {big['rows']:,} rows: "
        f"{big['python_peak_mib']:.1f} MiB, {big['rss_growth_mib']:.1f} MiB (of {big['rss_peak_mib']:.0f}); "
        f"ratios {checks['python_peak_ratio']:.2f} and {checks['rss_growth_ratio']:.2f} "
        f"(target at most {MAX_MEMORY_RATIO:g}): {flat}."
    )
    return lines


def export_problems(export: dict[str, Any]) -> list[str]:
    checks = export["checks"]
    problems = []
    if checks["within_copy_target"] is False:
        problems.append(f"the funding export is {checks['copy_ratio']:.1f}× COPY (target {MAX_EXPORT_RATIO:g}×)")
    if not checks["memory_flat"]:
        problems.append(
            f"the funding export's memory grows with its rows (ratios {checks['python_peak_ratio']:.2f} "
            f"and {checks['rss_growth_ratio']:.2f}, target {MAX_MEMORY_RATIO:g})"
        )
    return problems


# The command -----------------------------------------------------------------------------


# The notification sweep ---------------------------------------------------------------------

SWEEP_TIMEOUT = 1800
BULK_BATCH = 500  # outbox.add_many inserts new rows in batches of this many


def sweep_checks(small: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """The sweep's statements must not grow with the projects: same reads and updates; INSERTs only by the batch."""
    problems = []
    for run in ("first", "second"):
        if small[run]["reads_and_updates"] != full[run]["reads_and_updates"]:
            problems.append(
                f"the {run} sweep reads or updates {small[run]['reads_and_updates']} times over "
                f"{small['projects']:,} projects but {full[run]['reads_and_updates']} over {full['projects']:,}"
            )
        allowed = -(-full[run]["created"] // BULK_BATCH) + full["finders"]
        if full[run]["inserts"] > allowed:
            problems.append(
                f"the {run} sweep sent {full[run]['inserts']} INSERTs for {full[run]['created']:,} new rows "
                f"(at most {allowed}: one a batch of {BULK_BATCH} of each finder's rows)"
            )
    if small["queue"]["queries"] != full["queue"]["queries"]:
        problems.append("reading the pending ids takes a different number of queries at each size")
    return {"queries_constant": not problems, "problems": problems}


def sweep_lines(sweep: dict[str, Any]) -> list[str]:
    """The sweep's results, for people."""
    lines = [f"Notification sweep on {sweep['database']}:"]
    for label in ("small", "full"):
        run = sweep[label]
        first, second = run["first"], run["second"]
        lines.append(
            f"  {run['projects']:,} projects ({run['follow_ups']:,} follow-ups, {run['finders']} finders, "
            f"{run['where']}): first sweep {first['ms']:,.0f} ms, {first['created']:,} rows added, "
            f"{first['queries']} statements ({first['reads_and_updates']} reads and updates, {first['inserts']} "
            f"INSERTs); second sweep {second['ms']:,.0f} ms, {second['created']} added, {second['queries']} "
            f"statements; pending ids {run['queue']['ms']:,.1f} ms, {run['queue']['queries']} query"
        )
    checks = sweep["checks"]
    lines.append(
        "  Queries: constant (reads and updates the same; INSERTs only the outbox's batches of 500)."
        if checks["queries_constant"]
        else "  Queries grow with the projects: " + "; ".join(checks["problems"])
    )
    return lines


class Command(BaseCommand):
    help = "Benchmark the key pages on a national-scale dataset with gunicorn; writes bench/results.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practices", type=int, default=NATIONAL_PRACTICES, help="Practices in the full dataset.")
        parser.add_argument("--repeat", type=int, default=60, help="Timed requests a page (after the warm-up).")
        parser.add_argument("--warmup", type=int, default=10, help="Untimed requests a page first.")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes.")
        parser.add_argument("--keep", action="store_true", help="Reuse datasets already built with these sizes.")
        parser.add_argument("--out", default="bench/results.json", help="Where to write the results (JSON).")
        parser.add_argument(
            "--strict", action="store_true", help="Also fail when a page or the funding export misses its target."
        )
        parser.add_argument(
            "--export-rows",
            type=int,
            default=EXPORT_ROWS,
            help="Payments in the funding export's year (its own dataset; a tenth for the memory comparison). "
            "0: no funding export.",
        )
        parser.add_argument("--export-runs", type=int, default=EXPORT_RUNS, help="Timed runs of the funding export.")
        parser.add_argument(
            "--export-only",
            action="store_true",
            help="Measure only the funding export; the pages' results already in --out are kept.",
        )
        parser.add_argument(
            "--sweep-projects",
            type=int,
            default=SWEEP_PROJECTS,
            help="Projects with a follow-up due in the notification sweep's dataset (a tenth in its small one). "
            "0: no sweep.",
        )
        parser.add_argument(
            "--sweep-only",
            action="store_true",
            help="Measure only the notification sweep; the other results already in --out are kept.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with exit_on_termination():
            self.run(options)

    def run(self, options: dict[str, Any]) -> None:
        started = time.monotonic()
        practices, repeat, warmup, workers = (options[k] for k in ("practices", "repeat", "warmup", "workers"))
        export_rows, export_runs = options["export_rows"], options["export_runs"]
        sweep_projects, sweep_only = options["sweep_projects"], options["sweep_only"]
        if practices < 10 or repeat < 1 or warmup < 0 or workers < 1 or export_runs < 1:
            raise CommandError(
                "Use --practices 10 or more, --repeat 1 or more, --warmup 0 or more, --workers 1 or more, "
                "--export-runs 1 or more."
            )
        if export_rows < 0 or (options["export_only"] and not export_rows):
            raise CommandError("--export-rows is 0 (no funding export) or more; --export-only needs more than 0.")
        if sweep_projects < 0 or (sweep_projects and sweep_projects < SWEEP_SMALL_SHARE * 10):
            raise CommandError(f"--sweep-projects is 0 (no sweep) or at least {SWEEP_SMALL_SHARE * 10}.")
        if sweep_only and (not sweep_projects or options["export_only"]):
            raise CommandError("--sweep-only needs --sweep-projects more than 0, and not --export-only.")
        out = Path(options["out"])
        if not out.is_absolute():
            out = Path(settings.BASE_DIR) / out

        databases = databases_for(settings.DATABASES["default"])
        if sweep_only:
            results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
            results["notification_sweep"] = self.measure_notification_sweep(databases, options)
            self.write_results(out, results, started)
            if not results["notification_sweep"]["checks"]["queries_constant"]:
                raise CommandError(
                    "The sweep's queries depend on the number of projects:\n  "
                    + "\n  ".join(results["notification_sweep"]["checks"]["problems"])
                )
            return
        if options["export_only"]:
            # Only the funding export: the pages' results already in the file are kept.
            results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        else:
            results = self.measure_pages(databases, options)
        if export_rows:
            results["funding_export"] = self.measure_funding_export(databases, options)
        else:
            results["funding_export"] = {"skipped": "--export-rows 0"}
            self.stdout.write("\nFunding export: not measured (--export-rows 0).")
        sweep_problems: list[str] = []
        if not options["export_only"]:
            if sweep_projects:
                results["notification_sweep"] = self.measure_notification_sweep(databases, options)
                sweep_problems = results["notification_sweep"]["checks"]["problems"]
            else:
                results["notification_sweep"] = {"skipped": "--sweep-projects 0"}
                self.stdout.write("\nNotification sweep: not measured (--sweep-projects 0).")

        self.write_results(out, results, started)

        misses = [] if export_rows == 0 else export_problems(results["funding_export"])
        for problem in misses:
            self.stdout.write(f"Funding export target missed: {problem}")
        if options["export_only"]:
            if options["strict"] and misses:
                raise CommandError("The funding export missed its targets (--strict).")
            return
        checks = results["checks"]
        for problem in checks["latency_problems"]:
            self.stdout.write(f"Latency target missed: {problem}")
        if not checks["queries_constant"] or sweep_problems:
            raise CommandError(
                "Query counts depend on the data size:\n  " + "\n  ".join(checks["query_problems"] + sweep_problems)
            )
        if options["strict"] and (misses or not checks["latency_within_target"]):
            raise CommandError("Pages or the funding export missed their targets (--strict).")

    def write_results(self, out: Path, results: dict[str, Any], started: float) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        shown = out.relative_to(settings.BASE_DIR) if out.is_relative_to(settings.BASE_DIR) else out
        self.stdout.write(f"\nWrote {shown} in {time.monotonic() - started:.0f}s.")

    def measure_pages(self, databases: SqliteDatabases | PostgresDatabases, options: dict[str, Any]) -> dict[str, Any]:
        """Build the two page datasets, time the computations and every page; print the table; the results."""
        started = time.monotonic()
        started_at = datetime.now(UTC)
        practices, repeat, warmup, workers = (options[k] for k in ("practices", "repeat", "warmup", "workers"))
        full, small = (
            Dataset(label, n, databases.url(label), databases.where(label))
            for label, n in (("full", practices), ("small", practices // 10))
        )
        (Path(settings.BASE_DIR) / "bench" / "static").mkdir(parents=True, exist_ok=True)
        for dataset in (full, small):
            self.prepare(databases, dataset, keep=options["keep"])
            for line in warm(dataset).splitlines():
                self.stdout.write(f"  {line}")
        write_chart_sized_file(full)
        computations = compute()
        for line in computations["lines"]:
            self.stdout.write(line)

        self.stdout.write(
            f"Measuring {len(PAGES)} pages and the bare view on {full.practices:,} practices: {warmup} warm-up and "
            f"{repeat} timed rounds, gunicorn with {workers} workers on {HOST}..."
        )
        measured = measure_dataset(full, workers=workers, warmup=warmup, rounds=repeat)
        self.stdout.write(f"Counting queries on {small.practices:,} practices...")
        measured_small = measure_dataset(small, workers=workers, warmup=2, rounds=SMALL_ROUNDS)

        results = summarise(measured, measured_small)
        results["computations"] = {k: v for k, v in computations.items() if k != "lines"}
        results["run"] = {
            "database": databases.engine,
            "server": f"gunicorn, {workers} sync workers, {HOST}",
            "warmup": warmup,
            "repeat": repeat,
            "small_rounds": SMALL_ROUNDS,
            "target_p95_ratio": TARGET_P95_RATIO,
            "strict": options["strict"],
            "started_at": started_at.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - started, 1),
        }
        m = full.manifest
        counts, commissioner = m["counts"], m["commissioner"]
        self.stdout.write(
            f"\n{databases.engine}: {counts['practices']:,} practices, {counts['pcns']:,} PCNs, "
            f"{counts['commissioners']} commissioners, {counts['users']:,} users. Signed in as {m['login']['email']}, "
            f"lead for {commissioner['name']} ({commissioner['practices']:,} practices). "
            f"{repeat} timed requests a page; queries_small with {small.practices:,} practices.\n"
        )
        for line in table(results):
            self.stdout.write(line)
        return results

    def measure_funding_export(
        self, databases: SqliteDatabases | PostgresDatabases, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Build the export's dataset, measure the export (see ``measure_export``) and print what it found."""
        started = time.monotonic()
        started_at = datetime.now(UTC)
        practices, rows, runs = options["practices"], options["export_rows"], options["export_runs"]
        label = "export"
        dataset = Dataset(label, practices, databases.url(label), databases.where(label), export_rows=rows)
        self.stdout.write("")
        self.prepare(databases, dataset, keep=options["keep"])
        if databases.engine != "PostgreSQL":
            self.stdout.write(
                f"The benchmark runs on {databases.engine} (DATABASE_URL), so the funding export is timed without "
                "PostgreSQL's COPY beside it: set DATABASE_URL=postgres://... for the comparison."
            )
        self.stdout.write(
            f"Measuring the funding export of {rows:,} payments: {runs} timed runs, then its memory at "
            f"{rows:,} and {rows // 10:,} rows, each in a fresh process..."
        )
        export = measure_export(dataset, runs=runs, engine=databases.engine)
        export["started_at"] = started_at.isoformat(timespec="seconds")
        export["duration_s"] = round(time.monotonic() - started, 1)
        for line in export_lines(export):
            self.stdout.write(line)
        return export

    def measure_notification_sweep(
        self, databases: SqliteDatabases | PostgresDatabases, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Build the two sweep datasets, sweep each in a child process (``bench_sweep``) and compare their queries."""
        started = time.monotonic()
        started_at = datetime.now(UTC)
        practices, projects = options["practices"], options["sweep_projects"]
        runs: dict[str, dict[str, Any]] = {}
        for label, count in (("sweep_small", projects // SWEEP_SMALL_SHARE), ("sweep", projects)):
            dataset = Dataset(label, practices, databases.url(label), databases.where(label), sweep_projects=count)
            self.stdout.write("")
            self.prepare(databases, dataset, keep=options["keep"])
            self.stdout.write(f"Sweeping {count:,} projects with a follow-up due...")
            runs[label] = json.loads(manage(dataset.database_url, "bench_sweep", timeout=SWEEP_TIMEOUT))
            runs[label]["where"] = dataset.where
        sweep = {
            "database": databases.engine,
            "small": runs["sweep_small"],
            "full": runs["sweep"],
            "checks": sweep_checks(runs["sweep_small"], runs["sweep"]),
            "started_at": started_at.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - started, 1),
        }
        for line in sweep_lines(sweep):
            self.stdout.write(line)
        return sweep

    def prepare(self, databases: SqliteDatabases | PostgresDatabases, dataset: Dataset, *, keep: bool) -> None:
        """Create (or with ``keep`` reuse), migrate and fill one dataset's database, then read its manifest."""
        began = time.monotonic()
        reuse = keep and databases.exists(dataset.label)
        self.stdout.write(f"{'Checking' if reuse else 'Building'} the {dataset.label} dataset in {dataset.where}...")
        if not reuse:
            databases.recreate(dataset.label)
        manage(dataset.database_url, "migrate", "--noinput", "--verbosity=0")
        build = ["bench_build", f"--practices={dataset.practices}", *(["--keep"] if reuse else [])]
        if dataset.export_rows:
            build.append(f"--export-rows={dataset.export_rows}")
        if dataset.sweep_projects:
            build.append(f"--sweep-projects={dataset.sweep_projects}")
        for line in manage(dataset.database_url, *build).splitlines():
            self.stdout.write(f"  {line}")
        dataset.manifest = json.loads(manage(dataset.database_url, "bench_build", "--describe"))
        if not dataset.manifest.get("login"):
            raise CommandError(f"The {dataset.label} dataset has no programme lead to sign in as.")
        self.stdout.write(f"  ready in {time.monotonic() - began:.1f}s")

"""Scale out: file storage chosen by environment, chart links on object storage, separate queues, one beat.

The storage settings are read at import, so each case imports the settings in a fresh process with
its own environment. Object storage is django-storages' real ``S3Storage``: presigning a URL is
local arithmetic, so no bucket (and no network) is needed; its endpoint here is a closed port.
The beat lock needs Redis (``REDIS_URL``); in CI a missing Redis is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage, default_storage
from storages.backends.s3 import S3Storage

from microsystems.beat import STANDBY_SECONDS, SingleBeatScheduler
from microsystems.celery import app as celery_app
from projects.chart_links import presigned_url, signed_url

ROOT = Path(__file__).resolve().parent.parent
KEY = "ab" * 32
PNG, SVG = f"charts/{KEY}-run.png", f"charts/{KEY}-run.svg"
SHOW_SETTINGS = """
import json, sys
try:
    from microsystems.settings import {module} as s
except Exception as error:
    print(json.dumps({{"error": f"{{type(error).__name__}}: {{error}}"}}))
    sys.exit(0)
print(json.dumps({{"default": s.STORAGES["default"], "img": s.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]}}))
"""
S3_OPTIONS = {
    "bucket_name": "charts",
    "endpoint_url": "http://127.0.0.1:9",  # nothing listens: any request to the bucket would fail
    "access_key": "AKIAEXAMPLE",
    "secret_key": "not-a-secret",
    "default_acl": "private",
    "querystring_auth": True,
    "signature_version": "s3v4",
}


def settings_from(env: dict[str, str], module: str = "base") -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORAGE_"))}
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS.format(module=module)],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


# Storage chosen by environment ----------------------------------------------------------------------


def test_with_nothing_set_files_are_stored_on_the_local_file_system():
    found = settings_from({})
    assert found["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert found["img"] == ["'self'", "data:"]


def test_a_bucket_name_switches_to_private_presigned_object_storage_at_its_endpoint():
    found = settings_from(
        {
            "AWS_STORAGE_BUCKET_NAME": "charts",
            "AWS_S3_ENDPOINT_URL": "https://objects.example.nhs.uk:9000",
            "AWS_S3_REGION_NAME": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "not-a-secret",
        }
    )
    assert found["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    options = found["default"]["OPTIONS"]
    assert options["bucket_name"] == "charts"
    assert options["endpoint_url"] == "https://objects.example.nhs.uk:9000"
    assert options["region_name"] == "eu-west-2"
    assert (options["access_key"], options["secret_key"]) == ("AKIAEXAMPLE", "not-a-secret")
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert "custom_domain" not in options
    # The chart links redirect to the bucket, so the page may show images from there.
    assert found["img"] == [
        "'self'",
        "data:",
        "https://objects.example.nhs.uk:9000",
        "https://charts.objects.example.nhs.uk:9000",
    ]


def test_production_on_aws_uses_the_instance_credentials_and_allows_the_buckets_own_hosts():
    found = settings_from(
        {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": "westkent-media",
            "AWS_S3_REGION_NAME": "eu-west-2",
            "SECRET_KEY": "x" * 50,
            "ALLOWED_HOSTS": "microsystems.example.nhs.uk",
            "DATABASE_URL": "postgres://app@db.example/microsystems",
        },
        module="production",
    )
    options = found["default"]["OPTIONS"]
    assert "access_key" not in options and "secret_key" not in options  # boto3's own chain: the instance role
    assert found["img"][2:] == [
        "https://westkent-media.s3.amazonaws.com",
        "https://westkent-media.s3.eu-west-2.amazonaws.com",
    ]
    storage = S3Storage(**{**options, "access_key": "AKIAEXAMPLE", "secret_key": "not-a-secret"})
    url = urlsplit(storage.url(PNG))
    assert f"{url.scheme}://{url.netloc}" in found["img"]


def test_object_storage_without_a_bucket_or_an_unknown_backend_is_refused_at_start():
    assert settings_from({"STORAGE_BACKEND": "s3"}) == {
        "error": "ImproperlyConfigured: STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME."
    }
    assert "must be filesystem or s3" in settings_from({"STORAGE_BACKEND": "ftp"})["error"]


# Signed chart links: streamed from storage, or a redirect to a presigned URL --------------------------


class PresigningMemoryStorage(InMemoryStorage):
    """Object storage as the chart middleware sees it: presigned URLs (``querystring_auth``)."""

    querystring_auth = True
    custom_domain = None

    def url(self, name, expire=None):  # type: ignore[no-untyped-def,override]
        return f"https://bucket.example/{name}?expires-in={expire}"


def use_storage(settings, backend: str, options: dict | None = None) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": backend, "OPTIONS": options or {}}}


def test_on_the_file_system_a_chart_link_streams_the_file(client, db):
    default_storage.save(PNG, ContentFile(b"\x89PNG-bytes"))
    response = client.get(signed_url(PNG))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response.content == b"\x89PNG-bytes"


def test_on_presigning_storage_a_png_link_redirects_to_a_url_valid_as_long_as_the_link(client, settings, db):
    use_storage(settings, "tests.test_scale_out.PresigningMemoryStorage")
    now = time.time()
    response = client.get(signed_url(PNG, now=now))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert (url.netloc, url.path) == ("bucket.example", f"/{PNG}")
    assert 12 * 3600 - 5 <= int(parse_qs(url.query)["expires-in"][0]) <= 13 * 3600
    assert response["Cache-Control"] == "private, max-age=3600"


def test_on_presigning_storage_an_svg_is_still_streamed_with_its_own_policy(client, settings, db):
    use_storage(settings, "tests.test_scale_out.PresigningMemoryStorage")
    default_storage.save(SVG, ContentFile(b"<svg></svg>"))
    response = client.get(signed_url(SVG))
    assert response.status_code == 200 and response.content == b"<svg></svg>"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_on_s3_a_chart_link_redirects_to_a_presigned_url_without_asking_the_bucket(client, settings, db):
    use_storage(settings, "storages.backends.s3.S3Storage", S3_OPTIONS)
    response = client.get(signed_url(PNG))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:9", f"/charts/{PNG}")
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"]
    assert 12 * 3600 - 5 <= int(query["X-Amz-Expires"][0]) <= 13 * 3600


def test_a_bad_link_is_refused_before_storage_is_asked(client, settings, db):
    use_storage(settings, "storages.backends.s3.S3Storage", S3_OPTIONS)
    assert client.get(signed_url(PNG)[:-2] + "xx").status_code == 404


def test_s3_behind_a_custom_domain_without_a_signer_cannot_presign_so_links_stream():
    assert presigned_url(S3Storage(**S3_OPTIONS, custom_domain="media.example.nhs.uk"), PNG, expires_in=60) is None
    assert presigned_url(InMemoryStorage(), PNG, expires_in=60) is None
    assert "X-Amz-Signature=" in (presigned_url(S3Storage(**S3_OPTIONS), PNG, expires_in=60) or "")


# Queues ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("projects.tasks.render_chart", "rendering"),
        ("evaluation.tasks.render_programme_report", "rendering"),  # report rendering, when it comes
        ("notifications.tasks.send_notification", "notifications"),
        ("notifications.tasks.sweep_notifications", "notifications"),
        ("projects.tasks.requeue_lost_charts", "default"),
        ("practices.tasks.import_ods", "default"),
    ],
)
def test_rendering_reminders_and_the_rest_each_go_to_their_own_queue(task, queue):
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue


def test_a_worker_started_without_a_queue_list_consumes_all_three():
    # The configured queues, which a worker started without -Q consumes (other tests may declare more at run time).
    assert sorted(celery_app.conf.task_queues) == ["default", "notifications", "rendering"]
    assert {"default", "notifications", "rendering"} <= set(celery_app.amqp.queues)


# One beat -------------------------------------------------------------------------------------------


@pytest.fixture
def beat_lock(request):
    if not django_settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The beat lock test needs Redis in CI.")
        pytest.skip("Needs REDIS_URL.")
    name = f"microsystems:beat:test:{request.node.name}"
    redis.Redis.from_url(django_settings.REDIS_URL).delete(name)

    class Scheduler(SingleBeatScheduler):
        lock_name = name
        lock_seconds = 1

    return Scheduler


def test_only_one_of_two_beats_schedules_and_the_other_takes_over_when_it_stops(beat_lock, db):
    first, second = beat_lock(app=celery_app, lazy=True), beat_lock(app=celery_app, lazy=True)
    assert first.hold() and not second.hold()
    assert second.tick() == STANDBY_SECONDS  # standing by: runs nothing
    assert first.hold()  # renewed
    first.close()  # a clean stop gives the lock back at once
    assert second.hold() and not first.hold()


def test_a_beat_that_dies_is_replaced_once_its_lock_lapses_and_it_cannot_take_it_back(beat_lock, db):
    first, second = beat_lock(app=celery_app, lazy=True), beat_lock(app=celery_app, lazy=True)
    assert first.hold() and not second.hold()
    time.sleep(1.3)  # first stopped renewing (hung, or killed): its lock lapses
    assert second.hold()
    assert not first.hold()  # back from a pause, it finds the lock taken and stands by
    assert second.hold()

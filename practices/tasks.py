"""Background work for practices: importing an uploaded ODS file."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from .models import OdsImport, OdsImportStatus
from .ods import ImportResult, OdsFileError, Progress, import_practices

log = logging.getLogger(__name__)

MAX_STORED_PROBLEMS = 1000
UNEXPECTED = (
    "The import stopped because of an unexpected error, and nothing was saved. "
    "Try again; if it happens again, tell the service desk the import number."
)


@shared_task(acks_late=True)
def run_ods_import(import_id: int, include_non_gp: bool = False) -> None:
    """Import an uploaded file. Safe to run twice: a finished import is left alone, and the
    import itself updates in place, so a run redelivered after a lost worker repeats cleanly."""
    ods_import = OdsImport.objects.select_related("commissioner", "uploaded_by").filter(pk=import_id).first()
    if ods_import is None or ods_import.is_finished:
        return
    OdsImport.objects.filter(pk=import_id).update(status=OdsImportStatus.RUNNING, rows_done=0)
    try:
        with ods_import.file.open("rb") as stored:
            data = stored.read()
        result = import_practices(
            data=data,
            commissioner=ods_import.commissioner,
            by=ods_import.uploaded_by,
            include_non_gp=include_non_gp,
            progress=_recorder(import_id),
        )
    except OdsFileError as e:
        _finish(import_id, OdsImportStatus.FAILED, problems=[{"line": None, "message": str(e)}])
    except Exception:
        log.exception("ODS import %s failed", import_id)
        _finish(import_id, OdsImportStatus.FAILED, problems=[{"line": None, "message": UNEXPECTED}])
    else:
        _finish(import_id, OdsImportStatus.DONE, **_outcome(result))


def _recorder(import_id: int) -> Progress:
    def record(done: int, total: int) -> None:
        OdsImport.objects.filter(pk=import_id).update(rows_done=done, rows_total=total)

    return record


def _outcome(result: ImportResult) -> dict[str, Any]:
    problems = [p.as_json() for p in result.problems[:MAX_STORED_PROBLEMS]]
    if len(result.problems) > MAX_STORED_PROBLEMS:
        more = len(result.problems) - MAX_STORED_PROBLEMS
        problems.append({"line": None, "message": f"… and {more} more problems (run the import command to see all)."})
    return {
        "rows_total": result.total,
        "rows_done": result.total,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "problems": problems,
    }


def _finish(import_id: int, status: str, **fields: Any) -> None:
    OdsImport.objects.filter(pk=import_id).update(status=status, finished_at=timezone.now(), **fields)

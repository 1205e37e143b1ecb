"""Record each Celery task that fails for good, so staff admins see it in the admin (``TaskFailure``).

Celery sends ``task_failure`` when a task raises, and when a task that retries runs out of
retries (its last error is raised then); a retry still to come sends ``task_retry`` instead and
is not recorded. Tasks take ids (``DESIGN.md``), so arguments are kept when they are numbers or
short codes; anything else is recorded only as its kind and length.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from celery.signals import task_failure

from .logs import current_request_id
from .models import TaskFailure

log = logging.getLogger(__name__)

CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # a key, a kind, an ODS code; never a sentence
MESSAGE_LIMIT = 2000
TRACEBACK_LIMIT = 20000


def safe_value(value: Any) -> Any:
    """The value if it is a number, a flag, nothing or a short code; otherwise only what kind of value it was."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and CODE.match(value):
        return value
    size = f" of {len(value)}" if isinstance(value, str | bytes | list | tuple | dict) else ""
    return f"<{type(value).__name__}{size} left out>"


def record_failure(
    *,
    task_name: str,
    task_id: str,
    args: Any,
    kwargs: Any,
    exception: BaseException,
    traceback: str,
    retries: int = 0,
    request_id: str | None = None,
) -> TaskFailure:
    """Write one ``TaskFailure`` row and return it."""
    return TaskFailure.objects.create(
        task_name=task_name[:200],
        task_id=(task_id or "")[:64],
        args=[safe_value(a) for a in args or ()],
        kwargs={str(k): safe_value(v) for k, v in (kwargs or {}).items()},
        retries=retries,
        exception_type=f"{type(exception).__module__}.{type(exception).__qualname__}"[:200],
        message=str(exception)[:MESSAGE_LIMIT],
        traceback=traceback[-TRACEBACK_LIMIT:],
        request_id=(request_id or "")[:128],
    )


@task_failure.connect(dispatch_uid="microsystems.task_failures.on_task_failure")
def on_task_failure(
    sender: Any = None,
    task_id: str = "",
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: Any = None,
    **extra: Any,
) -> None:
    if exception is None:
        return
    try:
        record_failure(
            task_name=getattr(sender, "name", None) or str(sender),
            task_id=task_id,
            args=args,
            kwargs=kwargs,
            exception=exception,
            traceback=str(getattr(einfo, "traceback", "") or ""),
            retries=int(getattr(getattr(sender, "request", None), "retries", 0) or 0),
            request_id=current_request_id(),
        )
    except Exception:  # the database may be why the task failed; the worker carries on, and the log has it
        name = getattr(sender, "name", sender)
        log.warning("Could not record the failure of task %s[%s].", name, task_id, exc_info=True)

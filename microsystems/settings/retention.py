"""How long data is kept (``manage.py purge_expired``). Imported at the end of ``base``.

Each period is a minimum, read from the environment, with its default from the NHS Records
Management Code of Practice for Health and Social Care (2021, updated 2023), Appendix II
(retention schedule), where an entry fits; otherwise it says it is a local decision. The
Code's periods are minimums: a records manager may keep things longer, never shorter
without a reason. Check the entries against the current online schedule before relying
on them: https://transform.england.nhs.uk/information-governance/guidance/records-management-code/
"""

import environ

__all__ = [
    "RETENTION_AUDIT_DAYS",
    "RETENTION_CLOSED_PROJECTS_DAYS",
    "RETENTION_FINANCIAL_RECORDS_YEARS",
    "RETENTION_NOTIFICATIONS_DAYS",
    "RETENTION_SESSION_LOGS_DAYS",
    "RETENTION_TASK_FAILURES_DAYS",
]

env = environ.Env()

YEAR = 365

# Reminders and digests sent by e-mail (sent, skipped or failed rows of the outbox), counted from
# when each was sent (or created, if never sent). Local decision, no entry applies: they are
# transient copies of what the project pages already show, so 2 years is ample to answer "was I told?".
RETENTION_NOTIFICATIONS_DAYS = env.int("RETENTION_NOTIFICATIONS_DAYS", default=2 * YEAR)

# The audit trail (who changed what, when), counted from each entry. Local decision: the schedule has
# no entry for an application's own audit trail, and Appendix III asks that audit trails be kept as
# long as the records they evidence. The longest-kept records here are the financial ones (6 years,
# below), so the audit trail is kept as long; raise it if you keep anything longer.
RETENTION_AUDIT_DAYS = env.int("RETENTION_AUDIT_DAYS", default=6 * YEAR)

# Coaching session logs (notes, decisions, attendance, actions raised, coaches' reflections), counted
# from the day the session was held. Code, corporate records, "Meetings and minutes" of meetings other
# than the board and its committees: 6 years. Sessions of a closed project go with it earlier (below);
# this limit reaches sessions of projects still open or kept for their financial records.
RETENTION_SESSION_LOGS_DAYS = env.int("RETENTION_SESSION_LOGS_DAYS", default=6 * YEAR)

# A closed project (Completed or Withdrawn) with everything it owns (team, workbook and its versions,
# cycles, measures, charts, agreement, sessions, follow-ups), counted from when it closed (its last
# step change to Completed or Withdrawn). Code, care records, "Clinical audit": 5 years, the nearest
# entry for quality-improvement project records (they hold no patient-identifiable data).
RETENTION_CLOSED_PROJECTS_DAYS = env.int("RETENTION_CLOSED_PROJECTS_DAYS", default=5 * YEAR)

# Payments and funding applications are financial records. Code, corporate records, finance
# ("Financial transaction records", "Invoices"): 6 years from the end of the financial year they
# relate to. A project with any payment or application is never deleted by the purge (payments are
# never deleted, and PostgreSQL refuses to delete a paid one); this period only says whether it is
# still within its financial retention or is past it and needs a records manager's decision.
RETENTION_FINANCIAL_RECORDS_YEARS = env.int("RETENTION_FINANCIAL_RECORDS_YEARS", default=6)

# Records of failed background tasks (for staff admins: which task, its error and traceback). Local
# decision, no entry applies: operational logs, useful while a fault is investigated, so 1 year.
RETENTION_TASK_FAILURES_DAYS = env.int("RETENTION_TASK_FAILURES_DAYS", default=YEAR)

"""Who may change a follow-up: the one place these rules live.

Everyone who sees the project sees its follow-ups (``selectors.follow_ups_for``). The
project's coaches, the coach it is assigned to and the programme lead record the review and
move the date; practice staff read them. Only a follow-up still to be held changes.
"""

from __future__ import annotations

import rules

from microsystems.models import User
from projects.permissions import is_lead_for_project, is_project_coach

from .models import FollowUp, FollowUpStatus


@rules.predicate
def is_lead_for_follow_up(user: User, follow_up: FollowUp) -> bool:
    return bool(is_lead_for_project(user, follow_up.project))


@rules.predicate
def is_follow_up_coach(user: User, follow_up: FollowUp) -> bool:
    """The coach it is assigned to, or a coach of the project."""
    if not user.is_authenticated:
        return False
    return user.pk == follow_up.assigned_to_id or bool(is_project_coach(user, follow_up.project))


@rules.predicate
def is_scheduled(user: User, follow_up: FollowUp) -> bool:
    return follow_up.status == FollowUpStatus.SCHEDULED


rules.add_perm("evaluation.record_review", (is_follow_up_coach | is_lead_for_follow_up) & is_scheduled)
rules.add_perm("evaluation.reschedule", (is_follow_up_coach | is_lead_for_follow_up) & is_scheduled)

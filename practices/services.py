"""Writes that change a practice or its people: each in a transaction, each audited."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from microsystems.audit import audit
from microsystems.models import User

from .models import Cohort, Engagement, EngagementChange, EngagementReason, Practice, PracticeMembership, StaffRole

NEEDS_REASON = {Engagement.DECLINED, Engagement.WITHDREW}


class PracticeError(Exception):
    """A change to a practice that the programme's rules do not allow; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def change_engagement(
    *,
    practice: Practice,
    engagement: str,
    cohort: str,
    effective_on: date,
    reason: str = "",
    reason_detail: str = "",
    by: User,
) -> EngagementChange:
    """Move a practice to a new engagement state or cohort, keeping the old one in its history."""
    if engagement not in Engagement.values:
        raise PracticeError("Choose an engagement state.", field="engagement")
    if cohort not in Cohort.values:
        raise PracticeError("Choose an adoption cohort.", field="cohort")
    if engagement == practice.engagement and cohort == practice.cohort:
        raise PracticeError("Nothing to change: choose a different engagement state or cohort.", field="engagement")
    if engagement in NEEDS_REASON and not reason:
        raise PracticeError(f"Say why the practice {Engagement(engagement).label.lower()}.", field="reason")
    if reason and reason not in EngagementReason.values:
        raise PracticeError("Choose a reason from the list.", field="reason")
    if reason == EngagementReason.OTHER and not reason_detail.strip():
        raise PracticeError("Describe the reason.", field="reason_detail")
    if effective_on > timezone.localdate():
        raise PracticeError("The date cannot be in the future.", field="effective_on")
    if engagement not in NEEDS_REASON:
        reason = ""

    with transaction.atomic():
        locked = Practice.objects.select_for_update().get(pk=practice.pk)
        change = EngagementChange.objects.create(
            practice=locked,
            changed_by=by,
            effective_on=effective_on,
            from_engagement=locked.engagement,
            to_engagement=engagement,
            from_cohort=locked.cohort,
            to_cohort=cohort,
            reason=reason,
            reason_detail=reason_detail.strip(),
        )
        if engagement != locked.engagement:
            locked.engagement_since = effective_on
        locked.engagement, locked.cohort = engagement, cohort
        locked.save(update_fields=["engagement", "cohort", "engagement_since"])
        audit(
            locked,
            "practice.engagement_changed",
            by=by,
            summary=f"{change.get_from_engagement_display()} → {change.get_to_engagement_display()}",
            changes={
                "engagement": [change.from_engagement, change.to_engagement],
                "cohort": [change.from_cohort, change.to_cohort],
                "reason": reason,
            },
        )
    practice.refresh_from_db()
    return change


def invitation_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL.rstrip("/") + reverse("accept_invitation", args=[uid, token])


def invite_staff(*, practice: Practice, email: str, full_name: str, role: str, by: User) -> PracticeMembership:
    """Add someone to a practice's staff and e-mail them; a new user sets a password from a single-use link."""
    email = email.strip().lower()
    if role not in StaffRole.values:
        raise PracticeError("Choose a role.", field="role")
    with transaction.atomic():
        user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name.strip()})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if PracticeMembership.objects.filter(user=user, practice=practice).exists():
            raise PracticeError(f"{email} is already on this practice's staff.", field="email")
        membership = PracticeMembership.objects.create(user=user, practice=practice, role=role, invited_by=by)
        audit(practice, "practice.staff_invited", by=by, summary=f"{email} as {membership.get_role_display()}")
    needs_password = not user.has_usable_password()
    transaction.on_commit(lambda: _send_invitation(membership, by=by, needs_password=needs_password))
    return membership


def _send_invitation(membership: PracticeMembership, *, by: User, needs_password: bool) -> None:
    context = {
        "membership": membership,
        "invited_by": by,
        "link": invitation_link(membership.user) if needs_password else settings.SITE_URL,
        "needs_password": needs_password,
        "expires_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    send_mail(
        subject=f"You have been invited to {membership.practice.name}'s microsystems work",
        message=render_to_string("practices/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[membership.user.email],
        html_message=render_to_string("practices/email/invitation.html", context),
    )

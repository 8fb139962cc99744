"""Who or what caused a job, and its manual retries, as Sync Health and the API say
it: the user, or "system" with the trigger (``JobTrigger``)."""

from __future__ import annotations

from typing import Any

from ..models import JobTrigger, SyncJob


def actor(job: SyncJob) -> str:
    """``"alice (A manual / historical sync)"`` or ``"system (A save in the app)"``."""
    who = job.requested_by if job.requested_by_id else None
    cause = JobTrigger(job.trigger).label if job.trigger in JobTrigger.values else job.trigger
    name = who.get_username() if who is not None else "system"
    return f"{name} ({cause})"


def retries(job: SyncJob) -> list[dict[str, Any]]:
    """The job's manual retries, oldest first: who, when, and whether the job had used
    up its automatic attempts (``beyond_cap``)."""
    return [
        {"user": r.user.get_username() if r.user_id else "system",
         "requested_at": r.requested_at, "attempts": r.attempts,
         "max_attempts": r.max_attempts, "beyond_cap": r.beyond_cap}
        for r in job.retries.select_related("user").order_by("requested_at", "pk")
    ]


def attempts_text(job: SyncJob, manual: int | None = None) -> str:
    """``"2 / max 5"``; with manual retries ``"6 / max 5 · 1 manual retry beyond the
    cap"``: the cap limits automatic tries, a person may retry past it."""
    text = f"{job.attempts} / max {job.max_attempts}"
    count = job.retries.count() if manual is None else manual
    if not count:
        return text
    word = "retry" if count == 1 else "retries"
    beyond = " beyond the cap" if job.attempts > job.max_attempts else ""
    return f"{text} · {count} manual {word}{beyond}"

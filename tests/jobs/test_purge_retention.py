"""The purge keeps each practice's audio and files as long as the practice chose, and the audit trail six years."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, AuditTrailIsAppendOnly, Practice
from jobs.artifacts import artifact_expiry
from jobs.models import Artifact
from jobs.purge import purge_run
from tests.factories import PracticeFactory
from tests.jobs.test_purge import (
    _artifact,
    _audio_is_kept,
    _audio_is_purged,
    _finished_job,
    _own_storage,
    _transcribed_session,
)

pytestmark = pytest.mark.django_db

__all__ = ["_own_storage"]


def _choose(practice: Practice, **choices: int | None) -> None:
    Practice.objects.filter(pk=practice.pk).update(**choices)


# --- Audio ---------------------------------------------------------------------------------------


def test_audio_a_practice_keeps_for_playback_stays_until_its_days_have_passed(settings):
    settings.AUDIO_RETENTION_HOURS = 72
    session, recording = _transcribed_session(finished_ago=dt.timedelta(days=5))
    _choose(session.practice, audio_retention_days=7)

    purge_run()

    assert _audio_is_kept(recording)


def test_audio_a_practice_keeps_for_playback_goes_once_its_days_have_passed():
    session, recording = _transcribed_session(finished_ago=dt.timedelta(days=8))
    _choose(session.practice, audio_retention_days=7)

    purge_run()

    assert _audio_is_purged(recording)


def test_a_practice_keeping_audio_one_day_loses_it_before_the_servers_default(settings):
    settings.AUDIO_RETENTION_HOURS = 72
    session, recording = _transcribed_session(finished_ago=dt.timedelta(hours=30))
    _choose(session.practice, audio_retention_days=1)

    purge_run()

    assert _audio_is_purged(recording)


def test_each_practice_gets_its_own_audio_retention_in_the_same_pass(settings):
    settings.AUDIO_RETENTION_HOURS = 72
    _, by_default = _transcribed_session(finished_ago=dt.timedelta(days=4))
    keeping_session, kept = _transcribed_session(finished_ago=dt.timedelta(days=4))
    short_session, short = _transcribed_session(finished_ago=dt.timedelta(days=2))
    _choose(keeping_session.practice, audio_retention_days=30)
    _choose(short_session.practice, audio_retention_days=1)

    run = purge_run()

    assert _audio_is_purged(by_default)
    assert _audio_is_kept(kept)
    assert _audio_is_purged(short)
    assert run.counts["recordings_audio"] == 2


def test_a_dry_run_counts_audio_by_each_practices_retention():
    session, recording = _transcribed_session(finished_ago=dt.timedelta(days=5))
    _choose(session.practice, audio_retention_days=7)
    _transcribed_session(finished_ago=dt.timedelta(days=5))

    assert purge_run(dry_run=True).counts["recordings_audio"] == 1
    assert _audio_is_kept(recording)


# --- Artifacts -------------------------------------------------------------------------------------


def _made(artifact: Artifact, ago: dt.timedelta) -> Artifact:
    Artifact.objects.filter(pk=artifact.pk).update(created_at=timezone.now() - ago)
    return artifact


def test_a_practices_shorter_file_retention_wins_over_the_expiry_stamped_at_creation():
    job = _finished_job()
    artifact = _made(_artifact(job, expires_in=dt.timedelta(days=20)), dt.timedelta(days=6))
    _choose(job.session.practice, artifact_ttl_days=5)

    purge_run()

    assert not Artifact.objects.filter(pk=artifact.pk).exists()


def test_a_practices_longer_file_retention_keeps_files_the_servers_default_would_delete():
    job = _finished_job()
    artifact = _made(_artifact(job, expires_in=-dt.timedelta(days=1)), dt.timedelta(days=31))
    _choose(job.session.practice, artifact_ttl_days=60)

    purge_run()

    assert Artifact.objects.filter(pk=artifact.pk).exists()


def test_practices_without_a_choice_keep_files_until_their_expiry():
    job = _finished_job()
    young = _made(_artifact(job, expires_in=dt.timedelta(days=1)), dt.timedelta(days=29))
    old = _made(_artifact(job, expires_in=-dt.timedelta(days=1)), dt.timedelta(days=31))
    _choose(PracticeFactory(), artifact_ttl_days=1)

    purge_run()

    assert Artifact.objects.filter(pk=young.pk).exists()
    assert not Artifact.objects.filter(pk=old.pk).exists()


def test_new_files_expire_after_their_practices_choice_or_the_servers(settings):
    settings.ARTIFACT_TTL_DAYS = 30
    job = _finished_job()
    assert artifact_expiry(job) - timezone.now() > dt.timedelta(days=29)

    _choose(job.session.practice, artifact_ttl_days=3)
    job.session.practice.refresh_from_db()

    assert dt.timedelta(days=2) < artifact_expiry(job) - timezone.now() <= dt.timedelta(days=3)


# --- The audit trail ---------------------------------------------------------------------------------


def _event_aged(days: float) -> AuditEvent:
    return AuditEvent.objects.create(
        action=AuditEvent.Action.VIEW, occurred_at=timezone.now() - dt.timedelta(days=days)
    )


def test_audit_events_are_kept_six_years_by_default(settings):
    assert settings.AUDIT_RETENTION_DAYS == 2190
    kept = _event_aged(2189)
    gone = _event_aged(2191)

    run = purge_run()

    assert AuditEvent.objects.filter(pk=kept.pk).exists()
    assert not AuditEvent.objects.filter(pk=gone.pk).exists()
    assert run.counts["audit_events"] == 1


def test_audit_events_past_retention_are_purged_in_batches(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    settings.PURGE_BATCH_SIZE = 3
    for _ in range(7):
        _event_aged(31)
    recent = audit_record(action=AuditEvent.Action.LOGIN, actor=None, practice_id=None)

    run = purge_run()

    assert run.counts["audit_events"] == 7
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_a_dry_run_counts_audit_events_and_deletes_none(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = _event_aged(31)

    assert purge_run(dry_run=True).counts["audit_events"] == 1
    assert AuditEvent.objects.filter(pk=old.pk).exists()


def test_outside_the_purge_not_even_an_old_audit_event_can_be_deleted(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    old = _event_aged(400)

    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.filter(pk=old.pk).delete()

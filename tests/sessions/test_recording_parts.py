"""Recordings made in the browser, part by part: storing parts, assembling them, and what goes wrong."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.dispatch import dispatch_pass
from jobs.models import Job
from jobs.purge import purge_run
from sessions.media import MediaRejected, probe
from sessions.models import ClinicalSession, LiveRecording, Recording, RecordingPart
from sessions.parts import (
    PartsRefused,
    recording_part_store,
    recording_parts_complete,
    recording_parts_discard,
    recording_parts_state,
)
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.support.media_recorder import live_webm, parts_at_clusters, parts_by_size, seconds_of_prefix

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def recorded() -> bytes:
    return live_webm()


@pytest.fixture
def session(alice) -> ClinicalSession:
    return ClinicalSessionFactory(
        practice=alice.memberships.get().practice, clinician=alice, consent_status="given", consent_method="verbal"
    )


def _store(session, n: int, data: bytes, tmp_path: Path, user=None, seconds=None):
    path = tmp_path / f"part-{n}-{hashlib.sha256(data).hexdigest()[:8]}"
    path.write_bytes(data)
    return recording_part_store(
        session=session,
        n=n,
        content=path,
        sha256=hashlib.sha256(data).hexdigest(),
        received_by=user,
        recorded_seconds=seconds,
    )


def _store_all(session, parts: list[bytes], tmp_path: Path) -> None:
    for n, data in enumerate(parts):
        _store(session, n, data, tmp_path)


def _stored_names(session) -> list[str]:
    return list(RecordingPart.objects.filter(session=session).values_list("storage_name", flat=True))


# --- storing parts -------------------------------------------------------------------------------


def test_a_part_is_stored_under_the_sessions_folder_and_a_repeat_is_a_no_op(session, alice, recorded, tmp_path):
    first = recorded[:40_000]
    part, created = _store(session, 0, first, tmp_path, user=alice, seconds=5.0)
    assert created
    assert part.storage_name.startswith(f"practices/{session.practice_id}/sessions/{session.pk}/recording-parts/")
    with default_storage.open(part.storage_name) as stored:
        assert stored.read() == first
    again, created = _store(session, 0, first, tmp_path, user=alice)
    assert not created
    assert again.pk == part.pk
    assert RecordingPart.objects.count() == 1
    assert (
        len(default_storage.listdir(f"practices/{session.practice_id}/sessions/{session.pk}/recording-parts/")[1]) == 1
    )
    live = LiveRecording.objects.get(session=session)
    assert live.started_by == alice
    assert live.completed_at is None


def test_other_bytes_for_a_stored_part_are_refused_and_the_first_kept(session, recorded, tmp_path):
    part, _ = _store(session, 0, recorded[:40_000], tmp_path)
    with pytest.raises(PartsRefused) as refused:
        _store(session, 0, recorded[:30_000], tmp_path)
    assert refused.value.reason == "part_differs"
    assert RecordingPart.objects.get().sha256 == part.sha256
    assert _stored_names(session) == [part.storage_name]


def test_a_repeated_part_counts_as_activity(session, recorded, tmp_path):
    _store(session, 0, recorded[:40_000], tmp_path)
    LiveRecording.objects.update(last_part_at=timezone.now() - dt.timedelta(hours=1))
    _store(session, 0, recorded[:40_000], tmp_path)
    assert LiveRecording.objects.get().last_part_at > timezone.now() - dt.timedelta(minutes=1)


@pytest.mark.parametrize("status", ["not_recorded", "declined"])
def test_parts_need_the_clients_consent(alice, status, recorded, tmp_path):
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice, consent_status=status)
    with pytest.raises(PartsRefused) as refused:
        _store(session, 0, recorded[:40_000], tmp_path)
    assert refused.value.reason == "consent_required"
    assert not RecordingPart.objects.exists()


def test_a_recording_stops_taking_parts_at_the_upload_limit(session, recorded, tmp_path, settings):
    settings.MAX_UPLOAD_MB = 1
    parts = parts_by_size(recorded, 300_000)
    _store(session, 0, parts[0], tmp_path)
    _store(session, 1, parts[1], tmp_path)
    with pytest.raises(PartsRefused) as refused:
        _store(session, 2, parts[1][:500_000] + parts[2], tmp_path)
    assert refused.value.reason == "recording_too_large"
    assert RecordingPart.objects.count() == 2


# --- assembling ----------------------------------------------------------------------------------


def test_parts_cut_at_clusters_assemble_into_the_whole_recording(
    session, alice, recorded, tmp_path, django_capture_on_commit_callbacks
):
    parts = parts_at_clusters(recorded)
    names = []
    for n, data in enumerate(parts):
        part, _ = _store(session, n, data, tmp_path)
        names.append(part.storage_name)

    with django_capture_on_commit_callbacks(execute=True):
        recording, created = recording_parts_complete(session=session, completed_by=alice)

    assert created
    assert recording.codec == "opus"
    assert recording.duration_seconds == pytest.approx(132, abs=0.5)
    assert recording.content_type == "audio/webm"
    assert recording.uploaded_by == alice
    assert recording.original_filename.startswith("recording-")
    # The stored file is a clean one: its header now states the duration the decoding found.
    with default_storage.open(recording.file.name) as stored:
        local = tmp_path / "stored.webm"
        local.write_bytes(stored.read())
    assert probe(local).duration_seconds == pytest.approx(132, abs=0.5)
    assert recording.peak_bytes_per_second == pytest.approx(probe(local).peak_bytes_per_second, rel=1e-9)
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.RECORDED
    assert not RecordingPart.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    state = recording_parts_state(session)
    assert state.completed
    assert not state.unfinished


def test_parts_cut_anywhere_assemble_too(session, alice, recorded, tmp_path):
    _store_all(session, parts_by_size(recorded, 37_777), tmp_path)
    recording, _ = recording_parts_complete(session=session, completed_by=alice)
    assert recording.duration_seconds == pytest.approx(132, abs=0.5)


def test_a_recording_cut_off_mid_cluster_is_valid_up_to_its_last_decodable_packet(session, alice, recorded, tmp_path):
    # The page was closed after eight parts; the last one arrived only in part (it ends inside a block).
    parts = parts_at_clusters(recorded)[:8]
    parts[-1] = parts[-1][: len(parts[-1]) // 2 + 3]
    _store_all(session, parts, tmp_path)
    expected = seconds_of_prefix(recorded, sum(len(part) for part in parts))

    recording, _ = recording_parts_complete(session=session, completed_by=alice)

    assert 35 < expected < 40
    assert recording.duration_seconds == pytest.approx(expected, abs=0.1)


def test_parts_of_a_recording_whose_header_claims_more_still_assemble(session, alice, tmp_path):
    # An uploaded-style file cut into parts: its header says 132 s, but only the first parts arrived.
    data = (AUDIO / "dialogue_short.webm").read_bytes()
    _store_all(session, parts_by_size(data, 50_000)[:6], tmp_path)
    recording, _ = recording_parts_complete(session=session, completed_by=alice)
    assert 30 < recording.duration_seconds < 132


def test_completing_again_returns_the_recording_and_further_parts_are_refused(session, alice, recorded, tmp_path):
    _store_all(session, parts_at_clusters(recorded)[:3], tmp_path)
    first, created = recording_parts_complete(session=session, completed_by=alice)
    again, created_again = recording_parts_complete(session=session, completed_by=alice)
    assert created
    assert not created_again
    assert again.pk == first.pk
    with pytest.raises(PartsRefused) as refused:
        _store(session, 3, recorded[:100], tmp_path)
    assert refused.value.reason == "recording_completed"
    with pytest.raises(PartsRefused):
        _store(session, 0, parts_at_clusters(recorded)[0], tmp_path)


def test_completing_without_parts_is_refused(session, alice):
    with pytest.raises(PartsRefused) as refused:
        recording_parts_complete(session=session, completed_by=alice)
    assert refused.value.reason == "no_parts"


def test_a_gap_in_the_parts_is_refused_and_the_parts_kept(session, alice, recorded, tmp_path):
    parts = parts_at_clusters(recorded)[:5]
    for n in (0, 1, 3, 4):
        _store(session, n, parts[n], tmp_path)
    with pytest.raises(PartsRefused) as refused:
        recording_parts_complete(session=session, completed_by=alice)
    assert refused.value.reason == "missing_parts"
    assert refused.value.details["missing"] == [2]
    assert RecordingPart.objects.count() == 4
    assert all(default_storage.exists(name) for name in _stored_names(session))
    # The page that kept part 2 sends it: now it assembles.
    _store(session, 2, parts[2], tmp_path)
    recording, _ = recording_parts_complete(session=session, completed_by=alice)
    assert recording.duration_seconds == pytest.approx(seconds_of_prefix(recorded, sum(map(len, parts))), abs=0.1)


def test_a_first_part_that_is_not_audio_is_refused_keeping_the_parts_and_the_previous_recording(
    session, alice, recorded, tmp_path
):
    previous = recording_replace(
        session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
    )
    parts = parts_at_clusters(recorded)[:3]
    _store_all(session, [b"\x00garbage" * 4000, *parts[1:]], tmp_path)
    with pytest.raises(MediaRejected) as rejected:
        recording_parts_complete(session=session, completed_by=alice)
    assert rejected.value.code == "not_audio"
    assert Recording.objects.get(session=session).pk == previous.pk
    assert default_storage.exists(previous.file.name)
    assert RecordingPart.objects.count() == 3
    assert all(default_storage.exists(name) for name in _stored_names(session))
    assert LiveRecording.objects.get().completion_error_code == "not_audio"
    assert recording_parts_state(session).error


def test_damage_before_the_last_part_is_refused_rather_than_dropped(session, alice, recorded, tmp_path):
    parts = parts_at_clusters(recorded)[:10]
    # From part 4 on, nothing a demuxer can read: a recording that would silently lose half its audio.
    damaged = [*parts[:4], *(bytes(len(part)) for part in parts[4:])]
    _store_all(session, damaged, tmp_path)
    with pytest.raises(MediaRejected) as rejected:
        recording_parts_complete(session=session, completed_by=alice)
    assert rejected.value.code == "corrupt"
    assert "part 3" in rejected.value.message
    assert RecordingPart.objects.count() == 10


def test_a_part_that_changed_in_storage_is_refused(session, alice, recorded, tmp_path):
    _store_all(session, parts_at_clusters(recorded)[:3], tmp_path)
    name = RecordingPart.objects.get(n=1).storage_name
    default_storage.delete(name)
    with pytest.raises(MediaRejected) as rejected:
        recording_parts_complete(session=session, completed_by=alice)
    assert rejected.value.code == "corrupt"
    assert "Part 1" in rejected.value.message


def test_a_part_arriving_during_assembly_stops_the_completion(session, alice, recorded, tmp_path, monkeypatch):
    parts = parts_at_clusters(recorded)[:4]
    _store_all(session, parts[:3], tmp_path)
    import sessions.parts as parts_module
    from sessions.part_audio import rewrite_joined_parts

    def slow_rewrite(*args, **kwargs):
        result = rewrite_joined_parts(*args, **kwargs)
        _store(session, 3, parts[3], tmp_path)
        return result

    monkeypatch.setattr(parts_module, "rewrite_joined_parts", slow_rewrite)
    with pytest.raises(PartsRefused) as refused:
        recording_parts_complete(session=session, completed_by=alice)
    assert refused.value.reason == "parts_changed"
    assert RecordingPart.objects.count() == 4
    assert not Recording.objects.filter(session=session).exists()
    assert not default_storage.listdir(f"practices/{session.practice_id}/sessions/{session.pk}/")[1]


def test_discarding_drops_the_parts_and_lets_a_new_recording_start(
    session, alice, recorded, tmp_path, django_capture_on_commit_callbacks
):
    _store_all(session, parts_at_clusters(recorded)[:2], tmp_path)
    recording_parts_complete(session=session, completed_by=alice)
    assert recording_parts_discard(session=session) == 0
    _part, created = _store(session, 0, parts_at_clusters(recorded)[0], tmp_path)
    assert created
    names = _stored_names(session)
    with django_capture_on_commit_callbacks(execute=True):
        assert recording_parts_discard(session=session) == 1
    assert not RecordingPart.objects.exists()
    assert not LiveRecording.objects.exists()
    assert not default_storage.exists(names[0])
    assert Recording.objects.filter(session=session).exists()


# --- the dispatcher and the purge ----------------------------------------------------------------


def test_the_dispatcher_assembles_and_processes_an_idle_recording(session, recorded, tmp_path, settings):
    settings.RECORDING_IDLE_MINUTES = 30
    _store_all(session, parts_at_clusters(recorded)[:6], tmp_path)
    assert dispatch_pass()["recordings_finished"] == 0

    LiveRecording.objects.update(last_part_at=timezone.now() - dt.timedelta(minutes=31))
    counts = dispatch_pass()

    assert counts["recordings_finished"] == 1
    recording = Recording.objects.get(session=session)
    assert recording.uploaded_by is None
    assert recording.duration_seconds == pytest.approx(30, abs=1)
    job = Job.objects.get(session=session)
    assert job.status == Job.Status.QUEUED
    assert job.media_sha256 == recording.sha256
    assert dispatch_pass()["recordings_finished"] == 0


def test_an_idle_recording_that_cannot_be_assembled_is_tried_again_only_after_a_new_part(
    session, recorded, tmp_path, monkeypatch
):
    parts = parts_at_clusters(recorded)[:4]
    for n in (0, 1, 3):
        _store(session, n, parts[n], tmp_path)
    LiveRecording.objects.update(last_part_at=timezone.now() - dt.timedelta(hours=1))
    assert dispatch_pass()["recordings_finished"] == 0
    live = LiveRecording.objects.get()
    assert live.completion_error_code == "missing_parts"
    import sessions.parts as parts_module

    def no_second_try(*args):
        pytest.fail("an assembly that failed was tried again without a new part")

    monkeypatch.setattr(parts_module, "_join", no_second_try)
    dispatch_pass()
    monkeypatch.undo()
    _store(session, 2, parts[2], tmp_path)
    LiveRecording.objects.update(
        last_part_at=timezone.now() - dt.timedelta(minutes=40),
        completion_failed_at=timezone.now() - dt.timedelta(hours=1),
    )
    assert dispatch_pass()["recordings_finished"] == 1


def test_idle_recording_is_assembled_but_not_processed_without_required_consent(session, practice, recorded, tmp_path):
    _store_all(session, parts_at_clusters(recorded)[:2], tmp_path)
    practice.require_consent_before_processing = True
    practice.save()
    ClinicalSession.objects.filter(pk=session.pk).update(consent_status="declined")
    LiveRecording.objects.update(last_part_at=timezone.now() - dt.timedelta(hours=1))
    assert dispatch_pass()["recordings_finished"] == 1
    assert Recording.objects.filter(session=session).exists()
    assert not Job.objects.exists()


def test_the_orphan_sweep_keeps_the_files_of_stored_parts(session, recorded, tmp_path, settings):
    settings.ORPHAN_GRACE_MINUTES = 1
    _store_all(session, parts_at_clusters(recorded)[:2], tmp_path)
    purge_run(now=timezone.now() + dt.timedelta(minutes=5))
    assert all(default_storage.exists(name) for name in _stored_names(session))


def test_the_purge_deletes_the_parts_of_a_recording_abandoned_for_the_retention_period(
    session, recorded, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.AUDIO_RETENTION_HOURS = 72
    _store_all(session, parts_at_clusters(recorded)[:2], tmp_path)
    names = _stored_names(session)
    assert purge_run().counts["recording_parts"] == 0
    LiveRecording.objects.update(last_part_at=timezone.now() - dt.timedelta(hours=73))
    assert purge_run(dry_run=True).counts["recording_parts"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_run().counts["recording_parts"] == 2
    assert not RecordingPart.objects.exists()
    assert not any(default_storage.exists(name) for name in names)


def test_deleting_the_session_deletes_its_parts(session, recorded, tmp_path, django_capture_on_commit_callbacks):
    from sessions.services import session_delete

    _store_all(session, parts_at_clusters(recorded)[:2], tmp_path)
    names = _stored_names(session)
    with django_capture_on_commit_callbacks(execute=True):
        session_delete(session=session)
    assert not any(default_storage.exists(name) for name in names)

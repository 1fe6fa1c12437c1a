from __future__ import annotations

import io

import docx
import pytest
from django.core.files.storage import default_storage

from jobs.models import Artifact, Job
from jobs.services import JobAlreadyActive, job_retry, job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import ClinicalSession, Transcript
from tests.fakes.server import Reply

pytestmark = pytest.mark.django_db


def _run(session, user) -> Job:
    job = job_start(session=session, requested_by=user)
    run_job(str(job.pk))
    job.refresh_from_db()
    return job


def test_stub_mode_takes_a_recording_to_a_transcript_and_a_drafted_note(alice, recorded_session, settings):
    settings.AI_MODE = "stub"
    session = recorded_session()
    job = _run(session, alice)
    assert job.status == Job.Status.SUCCEEDED, job.error_message
    assert job.stage == Job.Stage.DONE
    transcript = Transcript.objects.get(session=session)
    assert transcript.segments
    note = Note.objects.get(session=session)
    assert [s["key"] for s in note.sections] == ["chief_complaint", "hpi", "ros", "exam", "results", "assessment_plan"]
    assert all(s["evidence"] for s in note.sections if s["text"])
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.READY


@pytest.mark.parametrize(
    "name", ["dialogue_short.webm", "dialogue_short.mp3", "dialogue_short.m4a", "jfk.flac", "telehealth_clip.mp4"]
)
def test_live_mode_goes_end_to_end_through_the_real_sdks(alice, recorded_session, fake_anthropic, fake_openai, name):
    session = recorded_session(name)
    job = _run(session, alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert fake_openai.transcription_calls >= 1
    assert fake_anthropic.calls() == 1
    assert fake_openai.repeated_uploads == []
    transcript = Transcript.objects.get(session=session)
    ids = {segment["id"] for segment in transcript.segments}
    note = Note.objects.get(session=session)
    cited = {i for section in note.sections for i in section["evidence"]}
    assert cited
    assert cited <= ids
    docx_artifact = Artifact.objects.get(job=job, kind=Artifact.Kind.NOTE_DOCX)
    with default_storage.open(docx_artifact.storage_name, "rb") as handle:
        document = docx.Document(io.BytesIO(handle.read()))
    headings = [p.text for p in document.paragraphs if p.style is not None and str(p.style.name).startswith("Heading")]
    assert "Chief complaint" in headings


def test_a_rate_limited_transcription_is_retried_after_backoff_and_counted_once(
    alice, recorded_session, fake_anthropic, fake_openai, settings
):
    settings.JOB_BACKOFF_BASE_SECONDS = 0
    fake_openai.enqueue(Reply(status=429, headers={"Retry-After": "0"}), path="/v1/audio/transcriptions")
    session = recorded_session("jfk.flac")
    job = _run(session, alice)
    assert job.status == Job.Status.RETRY_WAIT
    assert job.error_code == "RATE_LIMITED"
    assert fake_openai.transcription_calls == 1
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.attempts == 2
    assert fake_openai.transcription_calls == 2
    assert fake_anthropic.calls() == 1


def test_a_refused_request_fails_at_once_with_a_clear_message(alice, recorded_session, fake_anthropic, fake_openai):
    fake_openai.enqueue(Reply(status=400), path="/v1/audio/transcriptions")
    session = recorded_session("jfk.flac")
    job = _run(session, alice)
    assert job.status == Job.Status.FAILED
    assert job.error_code == "VALIDATION_FAILED"
    assert "refused" in job.error_message
    assert job.attempts == 1
    assert fake_openai.transcription_calls == 1
    assert fake_anthropic.calls() == 0
    session.refresh_from_db()
    assert session.status == ClinicalSession.Status.FAILED


def test_manual_retry_resumes_at_the_failed_stage(alice, recorded_session, fake_anthropic, fake_openai):
    fake_anthropic.enqueue(Reply(status=400))
    session = recorded_session("jfk.flac")
    job = _run(session, alice)
    assert job.status == Job.Status.FAILED
    assert job.stage == Job.Stage.DRAFT
    calls_before = fake_openai.transcription_calls
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert fake_openai.transcription_calls == calls_before
    assert fake_anthropic.calls() == 2


def test_ai_mode_off_fails_new_jobs_at_once(alice, recorded_session, settings):
    settings.AI_MODE = "off"
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    assert job.status == Job.Status.FAILED
    assert job.error_code == "AI_DISABLED"


def test_a_second_start_returns_the_active_job(alice, recorded_session, settings):
    settings.AI_MODE = "stub"
    session = recorded_session("jfk.flac")
    first = job_start(session=session, requested_by=alice)
    with pytest.raises(JobAlreadyActive) as refused:
        job_start(session=session, requested_by=alice)
    assert refused.value.job == first


def test_identical_audio_reuses_the_practices_transcript(alice, recorded_session, fake_anthropic, fake_openai):
    first = recorded_session("jfk.flac")
    assert _run(first, alice).status == Job.Status.SUCCEEDED
    calls = fake_openai.transcription_calls
    second = recorded_session("jfk.flac")
    assert _run(second, alice).status == Job.Status.SUCCEEDED
    assert fake_openai.transcription_calls == calls
    assert Transcript.objects.get(session=second).segments == Transcript.objects.get(session=first).segments


def test_identical_audio_of_another_practice_is_transcribed_again(
    alice, charlie, recorded_session, fake_anthropic, fake_openai
):
    from sessions.services import recording_replace
    from tests.conftest import AUDIO
    from tests.factories import ClinicalSessionFactory

    assert _run(recorded_session("jfk.flac"), alice).status == Job.Status.SUCCEEDED
    calls = fake_openai.transcription_calls
    other = ClinicalSessionFactory(practice=charlie.memberships.get().practice, clinician=charlie)
    recording_replace(session=other, upload_path=AUDIO / "jfk.flac", original_filename="a.flac", uploaded_by=charlie)
    assert _run(other, charlie).status == Job.Status.SUCCEEDED
    assert fake_openai.transcription_calls == calls + 1


def test_silent_recording_fails_with_a_clear_message_and_sends_nothing(alice, recorded_session, fake_openai):
    session = recorded_session("silence_10s.ogg")
    job = _run(session, alice)
    assert job.status == Job.Status.FAILED
    assert job.error_code == "SILENT_RECORDING"
    assert fake_openai.transcription_calls == 0


def test_the_cut_audio_goes_once_the_transcript_is_committed(
    alice, recorded_session, settings, django_capture_on_commit_callbacks
):
    settings.AI_MODE = "stub"
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        run_job(str(job.pk))
    chunks = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO)
    assert chunks.exists()
    assert set(chunks.values_list("storage_name", flat=True)) == {""}
    prefix = f"practices/{session.practice_id}/sessions/{session.pk}/jobs/{job.pk}/"
    _, files = default_storage.listdir(prefix)
    assert not [name for name in files if name.startswith("chunk_audio")]


def test_a_worker_claiming_a_job_clears_temporary_files_a_killed_worker_left(alice, recorded_session, settings):
    from django.core.files.base import ContentFile

    from jobs.artifacts import job_storage_prefix

    settings.AI_MODE = "stub"
    session = recorded_session("jfk.flac")
    job = job_start(session=session, requested_by=alice)
    prefix = job_storage_prefix(job)
    # What a worker killed while writing a chunk's transcript leaves behind; a finished file of the job stays.
    default_storage.save(f"{prefix}/.chunk_transcript-1.json.abc123.tmp", ContentFile(b"{"))
    kept = default_storage.save(f"{prefix}/notes.txt", ContentFile(b"kept"))

    run_job(str(job.pk))

    _, files = default_storage.listdir(prefix)
    assert not [name for name in files if name.endswith(".tmp")]
    assert default_storage.exists(kept)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED


# --- the faithfulness checker in the pipeline --------------------------------------------------------


class _SlippingDrafter:
    """The demo drafter, with the demo's deliberate slips made in what it writes."""

    model = "stub-drafter"

    def draft(self, *, template, segments):
        from jobs.management.commands.seed_demo import with_deliberate_slips
        from jobs.providers.stub import StubDrafter

        return with_deliberate_slips(StubDrafter().draft(template=template, segments=segments))


def test_the_draft_stage_stores_the_checkers_flags_on_each_statement(alice, recorded_session, settings, monkeypatch):
    settings.AI_MODE = "stub"
    monkeypatch.setattr("jobs.pipeline.draft.get_drafter", _SlippingDrafter)
    session = recorded_session()

    job = _run(session, alice)

    assert job.status == Job.Status.SUCCEEDED, job.error_message
    note = Note.objects.get(session=session)
    flagged = {
        statement.text: [(flag.kind.value, flag.said) for flag in statement.flags]
        for section in note.content.sections
        for statement in section.statements
        if statement.flags
    }
    assert flagged == {
        "Reports taking naproxen 500 mg twice a day, and it helps a little.": [
            ("medication", "ibuprofen 400 milligrams")
        ],
        "Reports a fever; denies neck stiffness.": [("negation", "No, I haven't had any fever or neck stiffness.")],
    }
    assert note.flag_counts == {"medication": 1, "negation": 1}
    session.refresh_from_db()
    assert session.review_state == ClinicalSession.ReviewState.NEEDS_REVIEW


def test_the_demo_pipelines_faithful_draft_carries_no_flags(alice, recorded_session, settings):
    settings.AI_MODE = "stub"
    session = recorded_session()

    _run(session, alice)

    note = Note.objects.get(session=session)
    assert note.content.unresolved_flags == ()
    assert note.flag_counts == {}


class _InventingTranscriber:
    """Whisper over a recording with quiet stretches: stock phrases where nobody spoke, with a high no-speech
    probability; and a real "thank you" that was said."""

    model = "whisper-1"

    def transcribe(self, path, *, language=None, duration=None):
        from jobs.providers.base import Segment, TranscriptionResult

        said = [
            ("I have had a headache for three days.", 0.02),
            ("Thank you for watching.", 0.85),
            ("Thank you.", 0.91),
            ("Thank you, doctor, that helps.", 0.05),
        ]
        step = (duration or 8.0) / len(said)
        segments = tuple(
            Segment(id=i, start=i * step, end=(i + 1) * step, text=text, no_speech_prob=p, avg_logprob=-0.3)
            for i, (text, p) in enumerate(said)
        )
        return TranscriptionResult(
            text=" ".join(t for t, _p in said),
            language="en",
            duration=duration or 8.0,
            segments=segments,
            model=self.model,
        )


def test_segments_invented_over_silence_are_dropped_before_the_transcript_is_saved(
    alice, recorded_session, settings, monkeypatch
):
    settings.AI_MODE = "stub"
    monkeypatch.setattr("jobs.pipeline.transcribe.get_transcriber", _InventingTranscriber)
    session = recorded_session("jfk.flac")

    job = _run(session, alice)

    assert job.status == Job.Status.SUCCEEDED, job.error_message
    texts = [segment["text"] for segment in Transcript.objects.get(session=session).segments]
    assert "Thank you for watching." not in texts
    assert "Thank you." not in texts
    assert "Thank you, doctor, that helps." in texts
    assert [segment["id"] for segment in Transcript.objects.get(session=session).segments] == list(range(len(texts)))
    events = list(job.events.filter(stage=Job.Stage.TRANSCRIBE).values_list("message", flat=True))
    assert "2 segments dropped as likely speech-to-text inventions" in events


def test_a_transcript_with_nothing_invented_records_no_drop(alice, recorded_session, settings):
    settings.AI_MODE = "stub"
    job = _run(recorded_session(), alice)

    assert not job.events.filter(message__contains="speech-to-text invention").exists()

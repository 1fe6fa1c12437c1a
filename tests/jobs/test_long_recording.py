"""A two-hour recording through the whole pipeline: cut within the limits, sent concurrently, stitched
without losing or doubling speech at the seams, drafted."""

from __future__ import annotations

import itertools

import pytest

from jobs.audio.plan import limits_for_model
from jobs.models import Artifact, Job
from jobs.services import job_start
from jobs.tasks import run_job
from notes.models import Note
from sessions.models import Transcript
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.fakes.speech import SEGMENT_SECONDS
from tests.support.long_recording import make_long_recording

pytestmark = pytest.mark.django_db

MODEL = "gpt-4o-transcribe-diarize"


@pytest.fixture(scope="module")
def two_hour_recording(tmp_path_factory):
    return make_long_recording(
        AUDIO / "dialogue_short.webm", tmp_path_factory.mktemp("long") / "two_hours.webm", minutes=120
    )


def test_two_hour_recording_is_split_sent_concurrently_stitched_and_drafted(
    alice, fake_anthropic, fake_openai, settings, two_hour_recording
):
    settings.TRANSCRIPTION_MODEL = MODEL
    settings.TRANSCRIPTION_CONCURRENCY = 3
    # Chunks go out as they are cut: requests overlap when one takes longer than cutting the next chunk, which on
    # a busy machine can take a second.
    fake_openai.latency = 1.5
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)
    recording_replace(session=session, upload_path=two_hour_recording, original_filename="long.webm", uploaded_by=alice)
    job = job_start(session=session, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"

    # Split within the model's limits, every chunk sent exactly once, several at a time but never more than allowed.
    limits = limits_for_model(MODEL)
    chunks = sorted(Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO), key=lambda a: int(a.key))
    assert len(chunks) >= 6
    for chunk in chunks:
        assert chunk.bytes <= limits.max_bytes
        assert chunk.meta["end"] - chunk.meta["start"] <= limits.max_seconds
    assert fake_openai.transcription_calls == len(chunks)
    assert fake_openai.repeated_uploads == []
    assert 2 <= fake_openai.max_in_flight <= 3

    # Stitched: in time order, covering the two hours with no hole (nothing lost) and no segment kept from both
    # sides of a seam (nothing doubled). The fake lays its segments on each chunk's own clock, so at a seam the
    # last segment kept from one chunk may overlap the first kept from the next by less than one segment.
    segments = Transcript.objects.get(session=session).segments
    assert [s["id"] for s in segments] == list(range(len(segments)))
    assert segments[0]["start"] < SEGMENT_SECONDS
    assert segments[-1]["end"] > 120 * 60 - SEGMENT_SECONDS
    for before, after in itertools.pairwise(segments):
        assert after["start"] >= before["start"]
        assert after["start"] <= before["end"] + 0.01, "speech lost at a seam"
        assert before["end"] - after["start"] < SEGMENT_SECONDS, "speech doubled at a seam"
    covered = sum(s["end"] - s["start"] for s in segments)
    assert covered < 120 * 60 + len(chunks) * SEGMENT_SECONDS, "more speech than audio: segments doubled"
    seams = [chunk.meta["start"] for chunk in chunks[1:]]
    for seam in seams:
        near = [s for s in segments if abs((s["start"] + s["end"]) / 2 - seam) < 10]
        assert near, f"no speech kept around the seam at {seam:.0f} s"

    note = Note.objects.get(session=session)
    assert any(section["evidence"] for section in note.sections)
    assert fake_anthropic.calls() == 1

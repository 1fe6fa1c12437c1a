"""A long recording sized for speed: as many chunks as requests allowed at once, cut in one pass that hands each
chunk to the provider as soon as it exists, decoding only short windows around the seams."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from jobs.audio import container, pauses
from jobs.audio.plan import limits_for_model
from jobs.audio.split import audio_bytes_per_second
from jobs.models import Artifact, Job
from jobs.pipeline import chunks as chunk_cutter
from jobs.pipeline import prepare, transcribe
from jobs.providers.stub import StubTranscriber
from jobs.services import job_retry, job_start
from jobs.tasks import run_job
from sessions.models import Recording, Transcript
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory
from tests.fakes.server import Reply
from tests.support.long_recording import make_long_recording
from tests.support.synthetic_audio import write_wav

pytestmark = pytest.mark.django_db

TWENTY_MINUTES = 1200.0
TRANSCRIPTIONS = "/v1/audio/transcriptions"


@pytest.fixture(scope="module")
def twenty_minutes(tmp_path_factory):
    return make_long_recording(AUDIO / "dialogue_short.webm", tmp_path_factory.mktemp("long") / "twenty.webm", 20)


@pytest.fixture
def sized(settings):
    """Four requests at once, chunks of at least two minutes: twenty minutes make four chunks of five."""
    settings.TRANSCRIPTION_CONCURRENCY = 4
    settings.TRANSCRIPTION_MIN_CHUNK_SECONDS = 120
    settings.TRANSCRIPTION_MAX_CHUNK_SECONDS = None


def _session(user, path: Path):
    session = ClinicalSessionFactory(practice=user.memberships.get().practice, clinician=user)
    recording_replace(session=session, upload_path=path, original_filename=path.name, uploaded_by=user)
    return session


def _run(session, user) -> Job:
    job = job_start(session=session, requested_by=user)
    run_job(str(job.pk))
    job.refresh_from_db()
    return job


def _chunks(job: Job) -> list[Artifact]:
    return sorted(Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO), key=lambda a: int(a.key))


def test_the_upload_records_the_byte_rate_planning_needs(alice, twenty_minutes):
    session = _session(alice, twenty_minutes)
    recording = Recording.objects.get(session=session)
    assert recording.peak_bytes_per_second == pytest.approx(audio_bytes_per_second(twenty_minutes), rel=1e-9)


def test_a_long_recording_is_cut_into_one_chunk_per_request_allowed_with_seams_in_pauses(
    alice, fake_anthropic, fake_openai, sized, twenty_minutes
):
    fake_openai.latency = 1.0  # longer than cutting a chunk, even on a busy machine: the requests overlap
    job = _run(_session(alice, twenty_minutes), alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    chunks = _chunks(job)
    assert len(chunks) == 4
    limits = limits_for_model("whisper-1")
    lengths = [chunk.meta["end"] - chunk.meta["start"] for chunk in chunks]
    assert all(chunk.bytes <= limits.usable_bytes for chunk in chunks)
    # Equal chunks, their seams moved by at most the pause search either way.
    assert max(lengths) - min(lengths) <= 4 * pauses.PAUSE_SEARCH_SECONDS
    assert min(lengths) >= 120
    assert chunks[0].meta["start"] == 0.0
    assert chunks[-1].meta["end"] == pytest.approx(TWENTY_MINUTES, abs=0.1)
    nominal = (TWENTY_MINUTES - 5) / 4
    for number, (before, after) in enumerate(itertools.pairwise(chunks), start=1):
        assert before.meta["end"] - after.meta["start"] == pytest.approx(5.0, abs=0.002)
        centre = (before.meta["end"] + after.meta["start"]) / 2
        assert abs(centre - (number * nominal + 2.5)) <= pauses.PAUSE_SEARCH_SECONDS
    assert fake_openai.transcription_calls == 4
    assert 2 <= fake_openai.max_in_flight <= 4
    assert job.timings["cut"] > 0


def test_preparation_reads_the_recording_once_and_decodes_only_windows_around_the_seams(
    alice, monkeypatch, settings, sized, twenty_minutes
):
    settings.AI_MODE = "stub"
    session = _session(alice, twenty_minutes)
    stored = Recording.objects.get(session=session).file.path
    opened: list[str] = []
    decoded: list[float] = []

    def measured(real):
        def decode_range(container, stream, start=None, end=None):
            for frame in real(container, stream, start, end):
                decoded.append(frame.samples / frame.sample_rate)
                yield frame

        return decode_range

    def never(*args, **kwargs):
        raise AssertionError("the byte rate was measured again although the upload recorded it")

    real_open = container.open_audio

    def open_audio(src):
        opened.append(str(src))
        return real_open(src)

    monkeypatch.setattr("jobs.audio.pauses.decode_range", measured(container.decode_range))
    monkeypatch.setattr("jobs.audio.silence.decode_range", measured(container.decode_range))
    monkeypatch.setattr(chunk_cutter, "audio_bytes_per_second", never)
    monkeypatch.setattr("jobs.audio.split.open_audio", open_audio)

    job = _run(session, alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert len(_chunks(job)) == 4
    # One pass of stream copy over the file...
    assert opened == [stored]
    # ...and a few seconds decoded around each of the three seams and at the start of each chunk (proof of sound).
    assert sum(decoded) <= 3 * (2 * pauses.PAUSE_SEARCH_SECONDS + 1) + 4 * 2
    assert sum(decoded) < TWENTY_MINUTES / 20


def test_a_recording_stored_before_uploads_measured_its_byte_rate_is_measured_by_its_first_run(
    alice, settings, sized, twenty_minutes
):
    settings.AI_MODE = "stub"
    session = _session(alice, twenty_minutes)
    Recording.objects.filter(session=session).update(peak_bytes_per_second=None)
    job = _run(session, alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert len(_chunks(job)) == 4
    recording = Recording.objects.get(session=session)
    assert recording.peak_bytes_per_second == pytest.approx(audio_bytes_per_second(twenty_minutes), rel=1e-9)


def test_the_first_chunk_is_sent_before_the_last_one_is_cut(alice, monkeypatch, settings, sized, twenty_minutes):
    """The cutter is held before it places the last seam (so before the last chunk exists) until the provider has
    been sent a chunk: were the chunks sent only once all were cut, the provider would hear from the last seam first.
    """
    settings.AI_MODE = "stub"
    events: list[str] = []
    lock = threading.Lock()
    first_sent = threading.Event()

    def log(event: str) -> None:
        with lock:
            events.append(event)

    class Transcriber(StubTranscriber):
        def transcribe(self, path, **kwargs):
            log(f"sent {path.stem}")
            first_sent.set()
            return super().transcribe(path, **kwargs)

    real_quietest = pauses.quietest_point
    seams = itertools.count()

    def quietest_point(container, stream, *, centre, radius):
        seam = next(seams)
        if seam == 2:  # the last of four chunks' three seams
            first_sent.wait(timeout=10)
            log("placing the last seam")
        return real_quietest(container, stream, centre=centre, radius=radius)

    monkeypatch.setattr(chunk_cutter, "quietest_point", quietest_point)
    monkeypatch.setattr(transcribe, "get_transcriber", Transcriber)
    monkeypatch.setattr(prepare, "get_transcriber", Transcriber)

    job = _run(_session(alice, twenty_minutes), alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert events.index("sent chunk-0") < events.index("placing the last seam")
    assert sorted(event for event in events if event.startswith("sent")) == [f"sent chunk-{i}" for i in range(4)]


def test_a_retry_sends_only_the_chunks_without_a_transcript(alice, fake_anthropic, fake_openai, sized, twenty_minutes):
    fake_openai.enqueue(Reply(), Reply(), Reply(status=400), path=TRANSCRIPTIONS)
    session = _session(alice, twenty_minutes)
    job = _run(session, alice)
    assert job.status == Job.Status.FAILED
    assert job.stage == Job.Stage.TRANSCRIBE
    transcribed = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT).count()
    assert 2 <= transcribed < 4
    calls = fake_openai.transcription_calls

    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert fake_openai.transcription_calls == calls + 4 - transcribed
    assert fake_openai.repeated_uploads == []
    assert len(_chunks(job)) == 4


def _fail_second_of_two_chunks(alice, fake_openai, settings, recording) -> Job:
    """A run cut into two chunks whose second request is refused: both chunks cut, one transcribed, failed."""
    settings.TRANSCRIPTION_CONCURRENCY = 2
    fake_openai.enqueue(Reply(), Reply(status=400), path=TRANSCRIPTIONS)
    job = _run(_session(alice, recording), alice)
    assert job.status == Job.Status.FAILED
    assert len(_chunks(job)) == 2
    assert Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT).count() == 1
    return job


def test_a_retry_keeps_the_chunks_cut_even_after_the_settings_changed(
    alice, fake_anthropic, fake_openai, settings, sized, twenty_minutes
):
    job = _fail_second_of_two_chunks(alice, fake_openai, settings, twenty_minutes)
    before = [(chunk.pk, chunk.meta) for chunk in _chunks(job)]
    settings.TRANSCRIPTION_CONCURRENCY = 4
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert [(chunk.pk, chunk.meta) for chunk in _chunks(job)] == before
    assert fake_openai.transcription_calls == 3
    assert fake_openai.repeated_uploads == []


def test_a_retry_of_a_cut_left_unfinished_under_other_settings_keeps_nothing_of_the_old_chunks(
    alice, fake_anthropic, fake_openai, settings, sized, twenty_minutes
):
    job = _fail_second_of_two_chunks(alice, fake_openai, settings, twenty_minutes)
    old = {(a.kind, a.key, a.meta.get("start"), a.meta.get("end")) for a in Artifact.objects.filter(job=job)}
    # As if the attempt had died before storing its last chunk.
    Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO, key="1").delete()

    settings.TRANSCRIPTION_CONCURRENCY = 4
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    chunks = _chunks(job)
    assert len(chunks) == 4
    assert fake_openai.transcription_calls == 2 + 4
    transcripts = {a.key: a for a in Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT)}
    assert sorted(transcripts) == ["0", "1", "2", "3"]
    for chunk in chunks:
        assert (transcripts[chunk.key].meta["start"], transcripts[chunk.key].meta["end"]) == (
            chunk.meta["start"],
            chunk.meta["end"],
        )
        assert (chunk.kind, chunk.key, chunk.meta["start"], chunk.meta["end"]) not in old
    segments = Transcript.objects.get(session=job.session).segments
    assert segments[-1]["end"] > TWENTY_MINUTES - 10
    for before, after in itertools.pairwise(segments):
        assert after["start"] <= before["end"] + 0.01


def test_a_recording_the_provider_would_not_take_is_transcoded_once_then_cut_the_same_way(
    alice, settings, sized, tmp_path
):
    settings.AI_MODE = "stub"
    wav = write_wav(tmp_path / "talk.wav", [(130.0, -12.0), (1.0, None), (129.0, -12.0)])
    session = _session(alice, wav)
    measured = Recording.objects.get(session=session).peak_bytes_per_second
    job = _run(session, alice)
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    chunks = _chunks(job)
    # Four minutes and twenty seconds in two chunks of at least two minutes, their seam in the pause.
    assert len(chunks) == 2
    assert all(chunk.storage_name == "" or chunk.storage_name.endswith(".ogg") for chunk in chunks)
    assert (chunks[0].meta["end"] + chunks[1].meta["start"]) / 2 == pytest.approx(130.5, abs=0.3)
    # The row keeps the byte rate of the recording as uploaded, not that of the transcoded copy.
    assert Recording.objects.get(session=session).peak_bytes_per_second == measured


def test_a_retry_planning_fewer_chunks_than_an_unfinished_cut_drops_the_rest(
    alice, fake_anthropic, fake_openai, settings, sized, twenty_minutes
):
    fake_openai.latency = 0.3
    fake_openai.enqueue(Reply(), Reply(), Reply(), Reply(status=400), path=TRANSCRIPTIONS)
    job = _run(_session(alice, twenty_minutes), alice)
    assert job.status == Job.Status.FAILED
    assert len(_chunks(job)) == 4
    # As if the attempt had died before storing its last chunk.
    Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_AUDIO, key="3").delete()

    settings.TRANSCRIPTION_CONCURRENCY = 2
    job_retry(job=job, requested_by=alice)
    run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, f"{job.error_code}: {job.error_message}"
    assert [chunk.key for chunk in _chunks(job)] == ["0", "1"]
    transcripts = Artifact.objects.filter(job=job, kind=Artifact.Kind.CHUNK_TRANSCRIPT)
    assert sorted(transcripts.values_list("key", flat=True)) == ["0", "1"]
    assert Transcript.objects.get(session=job.session).segments[-1]["end"] > TWENTY_MINUTES - 10

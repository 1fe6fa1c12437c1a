"""The session page as the review workspace: the note statement by statement beside the transcript."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.services import job_start
from jobs.tasks import run_job
from notes.content import Flag, FlagKind, NoteContent, Section, Statement
from notes.models import Note
from notes.services import note_add_addendum, note_apply_draft, note_sign
from sessions.models import ClinicalSession, Recording, Transcript
from sessions.services import recording_replace
from sessions.transcripts import transcript_save
from tests.conftest import AUDIO

pytestmark = pytest.mark.django_db

SEGMENTS = [
    {"id": 0, "start": 0.0, "end": 4.0, "speaker": "A", "text": "What brings you in?"},
    {"id": 1, "start": 4.0, "end": 9.5, "speaker": "B", "text": "I have had a headache for three days."},
    {"id": 2, "start": 9.5, "end": 14.0, "speaker": "B", "text": "I take fifty milligrams of sertraline."},
]


class _Elements(HTMLParser):
    """Every element's attributes, to check ids and references."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def _elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


def _detail(client, session: ClinicalSession) -> str:
    response = client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk}))
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.fixture
def drafted(alice_session: ClinicalSession, alice) -> Note:
    transcript_save(
        session=alice_session, media_sha256="0" * 64, model="m", language="en", segments=SEGMENTS, provider_metadata={}
    )
    dose = Flag(FlagKind.DOSE, "The transcript says 50 mg.", (2,), said="fifty milligrams")
    content = NoteContent(
        sections=(
            Section.from_statements(
                key="subjective",
                heading="Subjective",
                statements=(
                    Statement("Reports a headache for three days.", (1,)),
                    Statement("Takes sertraline 100 mg.", (2,), (dose,)),
                    Statement("Lives alone.", (), (Flag.uncited(),)),
                ),
            ),
            Section(key="objective", heading="Objective", text=""),
            Section(key="assessment", heading="Assessment", text=""),
            Section.from_statements(key="plan", heading="Plan", statements=(Statement("Review in a week.", (0, 1)),)),
        )
    )
    return note_apply_draft(session=alice_session, draft=content, draft_ref="job-1", model="m", prompt_version="v1")


def test_each_statement_is_its_own_element_with_its_evidence(alice_client, drafted):
    html = _detail(alice_client, drafted.session)

    statements = {attrs["id"]: attrs for tag, attrs in _elements(html) if "statement" in attrs.get("class", "").split()}
    assert [attrs["data-evidence"] for attrs in statements.values()] == ["1", "2", "", "0 1"]
    assert all(attrs["tabindex"] == "0" for attrs in statements.values())
    assert 'id="segment-1"' in html
    assert "data-review" in html


def test_every_description_a_statement_or_segment_points_to_exists(alice_client, drafted):
    html = _detail(alice_client, drafted.session)

    elements = _elements(html)
    ids = {attrs["id"] for _, attrs in elements if "id" in attrs}
    described = [attrs["aria-describedby"] for _, attrs in elements if "aria-describedby" in attrs]
    assert len(described) >= 6
    assert all(reference in ids for value in described for reference in value.split())
    links = re.findall(r'href="#([^"]+)"', html)
    assert links
    assert all(target in ids for target in links)


def test_flagged_and_uncited_statements_are_marked_with_the_reason_and_the_words_said(alice_client, drafted):
    html = _detail(alice_client, drafted.session)

    classes = {attrs["id"]: attrs.get("class", "").split() for _, attrs in _elements(html) if "id" in attrs}
    assert "needs-review" in classes["note-subjective-s2"]
    assert "needs-review" in classes["note-subjective-s3"]
    assert "needs-review" not in classes["note-subjective-s1"]
    flagged = html.split('id="note-subjective-s2"', 1)[1].split("</li>", 1)[0]
    assert "Dose:</strong> The transcript says 50 mg." in flagged
    assert "Said: “fifty milligrams”" in flagged
    uncited = html.split('id="note-subjective-s3"', 1)[1].split("</li>", 1)[0]
    assert "Unsupported:</strong> Nothing in the transcript is cited" in uncited
    assert "2 statements to check" in html
    fine = html.split('id="note-subjective-s1"', 1)[1].split("</li>", 1)[0]
    assert 'class="statement-why visually-hidden"' in fine
    assert "“I have had a headache for three days.”" in fine


def test_a_segment_lists_the_statements_citing_it(alice_client, drafted):
    html = _detail(alice_client, drafted.session)

    segment = html.split('id="segment-1"', 1)[1].split("</li>", 1)[0]
    assert 'Cited by <a href="#note-subjective-s1">Subjective, statement 1</a>, ' in segment
    assert '<a href="#note-plan-s1">Plan, statement 1</a>' in segment
    assert "Cited by" not in html.split('id="segment-2"', 1)[0].rsplit('id="segment-1"', 1)[0].split("</li>")[-1]


def test_saving_from_the_workspace_rederives_statements_and_comes_back_to_the_session(alice_client, drafted):
    url = reverse("notes:edit", kwargs={"pk": drafted.pk})
    text = "Reports a headache for three days.\nTakes sertraline 50 mg. Sleeps badly."

    response = alice_client.post(
        url, {"version": 1, "section_subjective": text, "return_to": "session"}, HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 302
    assert response["Location"] == f"/sessions/{drafted.session_id}/#note"
    subjective = Note.objects.get(pk=drafted.pk).content.sections[0]
    assert [(s.text, s.evidence, [f.kind for f in s.flags]) for s in subjective.statements] == [
        ("Reports a headache for three days.", (1,), []),
        ("Takes sertraline 50 mg.", (), [FlagKind.EDITED]),
        ("Sleeps badly.", (), [FlagKind.EDITED]),
    ]
    html = _detail(alice_client, drafted.session)
    assert "Edited by clinician:</strong>" in html
    # "Lives alone." is gone with its flag; nothing else was flagged.
    assert "to check" not in html.split('id="review-summary"', 1)[1].split("</p>", 1)[0]
    assert "Nothing flagged; 2 statements are yours, marked as edited." in html


def test_a_session_without_a_note_offers_to_open_one_beside_its_transcript(alice_client, alice_session):
    html = _detail(alice_client, alice_session)

    assert "Open note editor" in html
    assert "The transcript appears here once the recording is processed." in html


def test_the_audio_player_is_there_while_the_audio_is_kept(alice_client, alice, alice_session):
    recording = recording_replace(
        session=alice_session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
    )
    audio_url = reverse("clinical_sessions:audio", kwargs={"pk": alice_session.pk, "recording_id": recording.pk})

    assert f'<audio id="session-audio" controls preload="metadata" src="{audio_url}">' in _detail(
        alice_client, alice_session
    )

    Recording.objects.filter(pk=recording.pk).update(purged_at=timezone.now())
    html = _detail(alice_client, alice_session)
    assert "<audio" not in html
    assert "deleted under the practice" in html


def test_segment_times_play_the_recording_from_their_start(alice_client, alice, alice_session):
    recording_replace(
        session=alice_session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
    )
    transcript_save(
        session=alice_session, media_sha256="0" * 64, model="m", language="en", segments=SEGMENTS, provider_metadata={}
    )

    html = _detail(alice_client, alice_session)

    assert (
        '<button type="button" class="timestamp seek" data-seek="9.500" aria-label="Play from 0:10">0:10</button>'
        in html
    )


def test_a_signed_note_shows_who_signed_and_its_addenda_on_the_session_page(alice_client, drafted, alice, bob):
    note_sign(note=drafted, version=1, signed_by=alice, acknowledge_flags=True)
    note_add_addendum(note=drafted, text="Client called back.", author=alice)

    html = _detail(alice_client, drafted.session)

    assert "Signed by Alice Alder on " in html
    assert "Addendum — Alice Alder" in html
    assert "Client called back." in html
    assert 'id="session-status">Amended</span>' in html
    assert 'action="' + reverse("notes:add_addendum", kwargs={"pk": drafted.pk}) + '"' in html
    assert 'name="return_to" value="session"' in html
    assert 'action="' + reverse("notes:sign", kwargs={"pk": drafted.pk}) + '"' not in html


def test_the_demo_pipeline_drafts_a_note_whose_every_statement_cites_the_transcript(alice_client, alice, settings):
    settings.AI_MODE = "stub"
    session = ClinicalSession.objects.create(
        practice=alice.memberships.get().practice,
        clinician=alice,
        client_label="Demo",
        occurred_at=timezone.now(),
        note_type="medical",
    )
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="visit.webm", uploaded_by=alice
    )
    run_job(str(job_start(session=session, requested_by=alice).pk))

    note = Note.objects.get(session=session)
    segment_ids = {segment["id"] for segment in Transcript.objects.get(session=session).segments}
    statements = [statement for section in note.content.sections for statement in section.statements]
    assert len(statements) >= 8
    assert all(statement.evidence and set(statement.evidence) <= segment_ids for statement in statements)
    assert not any(statement.text.startswith("The clinician said") for statement in statements)
    html = _detail(alice_client, session)
    assert "Headache for three days, mostly on the right side." in html
    assert 'id="session-status">Draft</span>' in html

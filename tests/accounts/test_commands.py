from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiKey, Membership, Practice, User
from jobs.models import Job
from notes.models import Note
from sessions.models import ClinicalSession, Recording

pytestmark = pytest.mark.django_db


def _run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_practice_prints_only_the_slug_and_makes_the_owner(monkeypatch):
    slug = _run(
        "create_practice",
        "Maple Therapy",
        "--owner-email",
        "Owner@Maple.test",
        "--password-stdin",
        stdin="a-strong-password-1\n",
        monkeypatch=monkeypatch,
    )
    assert slug == "maple-therapy"
    practice = Practice.objects.get(slug=slug)
    owner = User.objects.get(email="owner@maple.test")
    assert owner.check_password("a-strong-password-1")
    assert Membership.objects.get(user=owner, practice=practice).role == Membership.Role.OWNER


def test_create_practice_makes_slugs_unique():
    first = _run("create_practice", "Maple Therapy", "--owner-email", "a@maple.test")
    second = _run("create_practice", "Maple Therapy", "--owner-email", "b@maple.test")
    assert first != second
    assert second.startswith("maple-therapy-")


def test_create_practice_without_password_leaves_an_unusable_one():
    _run("create_practice", "Oak", "--owner-email", "o@oak.test")
    assert not User.objects.get(email="o@oak.test").has_usable_password()


@pytest.mark.parametrize(
    ("args", "stdin", "phrase"),
    [
        (["Oak", "--owner-email", "not-an-email"], None, "not a valid email"),
        (["  ", "--owner-email", "o@oak.test"], None, "name is empty"),
        (["Oak", "--owner-email", "o@oak.test", "--password-stdin"], "\n", "No password"),
        (["Oak", "--owner-email", "o@oak.test", "--password-stdin"], "123\n", "too weak"),
    ],
)
def test_create_practice_refuses_bad_input(monkeypatch, args, stdin, phrase):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(CommandError, match=phrase):
        call_command("create_practice", *args, stdout=io.StringIO())
    assert not Practice.objects.exists()


def test_create_api_key_prints_only_the_key_and_stores_its_hash(practice):
    key = _run("create_api_key", practice.slug, "--name", "EHR sync")
    assert key.startswith("ssk_")
    assert "\n" not in key
    stored = ApiKey.objects.get(practice=practice)
    assert stored.name == "EHR sync"
    assert stored.key_hash == ApiKey.hash_secret(key)
    assert key not in {stored.prefix, stored.key_hash}


def test_create_api_key_refuses_an_unknown_practice(db):
    with pytest.raises(CommandError, match="No practice"):
        call_command("create_api_key", "nope", "--name", "x", stdout=io.StringIO())


def test_seed_demo_creates_a_practice_clinician_and_a_recorded_session_once(settings):
    settings.AI_MODE = "stub"
    output = _run("seed_demo")
    assert "clinician@demo.sessionscribe.test" in output
    _run("seed_demo")
    practice = Practice.objects.get(slug="demo-practice")
    session = ClinicalSession.objects.get(practice=practice, client_label="Demo client A")
    recording = Recording.objects.get(session=session)
    assert recording.duration_seconds == pytest.approx(132, abs=0.5)
    assert Job.objects.filter(session=session).count() == 1
    # The sample session's consent names the demo practice's consent script, written once.
    assert session.consent_status == "given"
    assert session.consent_script is not None
    assert session.consent_script.version == 1
    clinician = User.objects.get(email="clinician@demo.sessionscribe.test")
    assert clinician.check_password("sessionscribe-demo")
    assert User.objects.get(email="staff@demo.sessionscribe.test").is_staff


def test_seed_demo_adds_a_session_whose_draft_shows_the_checker_with_deliberate_slips(settings):
    settings.AI_MODE = "stub"
    output = _run("seed_demo")
    assert "Faithfulness checker example" in output
    assert "deliberate slips" in output
    _run("seed_demo")

    example = ClinicalSession.objects.get(client_label="Demo client B (faithfulness checker example)")
    note = Note.objects.get(session=example)
    flags = {(flag.kind.value, flag.said) for flag in note.content.unresolved_flags}
    assert ("medication", "ibuprofen 400 milligrams") in flags
    assert any(kind == "negation" for kind, _said in flags)
    assert note.flag_counts == {"medication": 1, "negation": 1}
    # The demo's other session is drafted by the stub as it is: faithfully, with nothing flagged.
    assert ClinicalSession.objects.filter(practice=example.practice).count() == 2


def test_seed_demo_makes_no_checker_example_without_the_simulated_providers(settings):
    settings.AI_MODE = "off"
    output = _run("seed_demo")
    assert "Faithfulness checker example" not in output
    assert not ClinicalSession.objects.filter(client_label__contains="checker example").exists()

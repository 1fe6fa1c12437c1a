"""A practice's own formats: created and changed only when valid, retired rather than deleted from under notes,
reordered; a member's default format."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from formats.catalogue import available_templates, default_note_type, get_template, note_type_choices
from formats.models import NoteTemplate
from formats.services import (
    FormatInvalid,
    Removal,
    format_create,
    format_delete,
    format_move,
    format_restore,
    format_retire,
    format_update,
    member_default_format_set,
)
from formats.usage import format_in_use, registered_usage_checks
from tests.factories import ClinicalSessionFactory, NoteFactory

pytestmark = pytest.mark.django_db

SECTIONS = [
    {"heading": "Presenting problem", "instruction": "Why the client came, in their words."},
    {"heading": "Plan", "instruction": "What happens next."},
]


def _create(practice, key="intake", **overrides):
    return format_create(
        practice=practice, key=key, name=overrides.pop("name", "Intake"), sections=SECTIONS, **overrides
    )


def _errors(call) -> dict[str, list[str]]:
    with pytest.raises(FormatInvalid) as raised:
        call()
    return raised.value.errors


def test_a_format_is_created_with_section_keys_derived_from_headings(practice):
    template = _create(practice, length="brief")
    assert [s["key"] for s in template.sections] == ["presenting_problem", "plan"]
    assert (template.name, template.length, template.retired_at) == ("Intake", "brief", None)
    spec = get_template(practice, "intake")
    assert spec is not None
    assert spec.length == "brief"
    assert [s.heading for s in spec.sections] == ["Presenting problem", "Plan"]


def test_new_formats_go_after_the_practices_others(practice):
    first = _create(practice, key="one")
    second = _create(practice, key="two")
    assert second.position > first.position


@pytest.mark.parametrize(
    ("key", "message"),
    [("soap", "built-in"), ("from-example", "reserved"), ("Intake", "lowercase"), ("a b", "lowercase"), ("", "")],
)
def test_keys_must_be_slug_like_and_not_builtin_or_reserved(practice, key, message):
    errors = _errors(lambda: _create(practice, key=key))
    assert message in " ".join(errors["key"])


def test_keys_are_unique_in_a_practice_but_not_across_practices(practice, other_practice):
    _create(practice)
    assert "already has" in _errors(lambda: _create(practice))["key"][0]
    assert _create(other_practice).practice == other_practice


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        ([], "sections"),
        ([{"heading": "H", "instruction": "I"}] * 31, "sections"),
        ("not a list", "sections"),
        ([{"heading": " ", "instruction": "I"}], "sections.0.heading"),
        ([{"heading": "H", "instruction": ""}], "sections.0.instruction"),
        ([{"heading": "H\x07", "instruction": "I"}], "sections.0.heading"),
        ([{"heading": "H", "instruction": "line\nbreak"}], "sections.0.instruction"),
        ([{"heading": "H\u202e", "instruction": "I"}], "sections.0.heading"),
        ([{"heading": "H" * 101, "instruction": "I"}], "sections.0.heading"),
        ([{"heading": "H", "instruction": "I" * 501}], "sections.0.instruction"),
        ([{"key": "Bad Key", "heading": "H", "instruction": "I"}], "sections.0.key"),
        (
            [{"key": "a", "heading": "H", "instruction": "I"}, {"key": "a", "heading": "G", "instruction": "I"}],
            "sections.1.key",
        ),
        (["not an object"], "sections.0"),
    ],
)
def test_bad_sections_are_refused_by_field(practice, sections, field):
    errors = _errors(lambda: format_create(practice=practice, key="intake", name="Intake", sections=sections))
    assert field in errors
    assert not NoteTemplate.objects.exists()


@pytest.mark.parametrize(("name", "length"), [("", "standard"), ("x" * 101, "standard"), ("Tab\tname", "standard")])
def test_names_are_one_bounded_line(practice, name, length):
    assert "name" in _errors(lambda: format_create(practice=practice, key="k", name=name, sections=SECTIONS))


def test_an_unknown_length_is_refused(practice):
    assert "length" in _errors(lambda: _create(practice, length="epic"))


def test_every_problem_is_reported_at_once(practice):
    errors = _errors(lambda: format_create(practice=practice, key="SOAP!", name="", sections=[]))
    assert {"key", "name", "sections"} <= errors.keys()


def test_an_update_keeps_given_section_keys_and_the_formats_key(practice):
    template = _create(practice)
    format_update(
        template=template,
        name="Intake v2",
        length="detailed",
        sections=[
            {"key": "plan", "heading": "Next steps", "instruction": "Plan."},
            {"heading": "Risk", "instruction": "Risk."},
        ],
    )
    template.refresh_from_db()
    assert (template.key, template.name, template.length) == ("intake", "Intake v2", "detailed")
    assert [(s["key"], s["heading"]) for s in template.sections] == [("plan", "Next steps"), ("risk", "Risk")]


def test_a_retired_format_is_not_offered_but_still_resolves_for_its_notes(practice):
    template = _create(practice)
    assert format_retire(template=template) is True
    assert format_retire(template=template) is False
    assert "intake" not in [key for key, _ in note_type_choices(practice)]
    assert "intake" not in [spec.key for spec in available_templates(practice)]
    assert get_template(practice, "intake") is not None
    assert "intake" in dict(note_type_choices(practice, include_retired=True))
    assert dict(note_type_choices(practice, keep="intake"))["intake"] == "Intake (retired)"
    assert format_restore(template=template) is True
    assert "intake" in dict(note_type_choices(practice))


def test_a_format_nobody_uses_is_deleted(practice):
    template = _create(practice)
    assert format_delete(template=template) == Removal.DELETED
    assert not NoteTemplate.objects.exists()


def test_a_format_a_session_uses_is_retired_instead_of_deleted(practice, alice):
    template = _create(practice)
    ClinicalSessionFactory(practice=practice, clinician=alice, note_type="intake")
    assert format_delete(template=template) == Removal.RETIRED
    template.refresh_from_db()
    assert template.retired_at is not None
    assert get_template(practice, "intake") is not None


def test_a_format_only_a_note_still_uses_is_retired_instead_of_deleted(practice, alice):
    template = _create(practice)
    session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="soap")
    NoteFactory(session=session, note_type="intake", template_name="Intake")
    assert format_delete(template=template) == Removal.RETIRED


def test_use_in_another_practice_does_not_count(practice, other_practice, charlie):
    template = _create(practice)
    ClinicalSessionFactory(practice=other_practice, clinician=charlie, note_type="intake")
    assert format_in_use(practice, "intake") is False
    assert format_delete(template=template) == Removal.DELETED


def test_sessions_and_notes_both_answer_whether_a_format_is_in_use():
    assert registered_usage_checks() == ("notes", "sessions")


def test_formats_move_up_and_down_among_those_in_use(practice):
    one, two, three = (_create(practice, key=key, name=key.title()) for key in ("one", "two", "three"))
    assert format_move(template=three, offset=-1) is True
    assert [spec.key for spec in available_templates(practice)][-3:] == ["one", "three", "two"]
    assert format_move(template=one, offset=-1) is False
    assert format_move(template=two, offset=1) is False


def test_a_members_default_format_starts_their_sessions_while_it_is_offered(practice, alice):
    membership = Membership.objects.get(user=alice)
    assert default_note_type(membership) == "soap"
    template = _create(practice)
    member_default_format_set(membership=membership, key="intake")
    assert default_note_type(membership) == "intake"
    format_retire(template=template)
    assert default_note_type(membership) == "soap"


def test_a_default_must_be_a_format_offered_to_the_practice(practice, alice, other_practice):
    membership = Membership.objects.get(user=alice)
    _create(other_practice, key="theirs")
    assert "default_note_type" in _errors(lambda: member_default_format_set(membership=membership, key="theirs"))
    member_default_format_set(membership=membership, key="dap")
    assert default_note_type(membership) == "dap"
    member_default_format_set(membership=membership, key="")
    assert default_note_type(membership) == "soap"

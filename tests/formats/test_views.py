"""The formats page: members see formats and choose a default; owners and admins build, edit, reorder, retire
and delete the practice's own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from formats.models import NoteTemplate
from formats.services import format_create, format_retire
from tests.factories import ClinicalSessionFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = reverse("formats:list")
CREATE = reverse("formats:create")
FROM_EXAMPLE = reverse("formats:from_example")
DEFAULT = reverse("formats:default")


def _format(practice, key="intake", name="Intake", **kwargs) -> NoteTemplate:
    sections = kwargs.pop("sections", [{"heading": "Problem", "instruction": "Why they came."}])
    return format_create(practice=practice, key=key, name=name, sections=sections, **kwargs)


def _post_data(
    sections: list[dict[str, Any]], *, name: str = "Intake", key: str = "", length: str = "standard"
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "key": key,
        "length": length,
        "sections-TOTAL_FORMS": str(len(sections)),
        "sections-INITIAL_FORMS": "0",
        "sections-MIN_NUM_FORMS": "1",
        "sections-MAX_NUM_FORMS": "30",
    }
    for index, section in enumerate(sections):
        data[f"sections-{index}-ORDER"] = str(section.get("ORDER", index + 1))
        for field in ("key", "heading", "instruction"):
            data[f"sections-{index}-{field}"] = section.get(field, "")
        if section.get("DELETE"):
            data[f"sections-{index}-DELETE"] = "on"
    return data


def _admin_client(practice) -> Client:
    user = UserFactory()
    MembershipFactory(user=user, practice=practice, role=Membership.Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


# --- the list ---------------------------------------------------------------------------------


def test_the_formats_page_needs_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_list_shows_builtin_formats_with_their_sections_and_the_practices_own(alice_client, practice):
    _format(practice, name="Intake assessment")
    page = alice_client.get(LIST).content.decode()
    assert "Intake assessment" in page
    assert "Medical visit" in page
    assert "History of present illness" in page
    assert reverse("formats:edit", kwargs={"pk": NoteTemplate.objects.get().pk}) in page


def test_the_list_hides_other_practices_formats(alice_client, other_practice):
    _format(other_practice, name="Cedar secret format")
    assert "Cedar secret format" not in alice_client.get(LIST).content.decode()


def test_clinicians_see_the_formats_but_no_way_to_change_them(bob_client, practice):
    template = _format(practice, name="Intake assessment")
    page = bob_client.get(LIST).content.decode()
    assert "Intake assessment" in page
    assert reverse("formats:edit", kwargs={"pk": template.pk}) not in page
    assert CREATE not in page
    assert FROM_EXAMPLE not in page


def test_retired_formats_are_listed_apart(alice_client, practice):
    format_retire(template=_format(practice, name="Old intake"))
    page = alice_client.get(LIST).content.decode()
    assert page.index("Retired formats") < page.index("Old intake")


def test_the_list_takes_the_same_queries_for_many_formats(alice_client, practice, django_assert_max_num_queries):
    _format(practice, key="first")
    with django_assert_max_num_queries(20) as few:
        alice_client.get(LIST)
    for n in range(15):
        _format(practice, key=f"format-{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert alice_client.get(LIST).status_code == 200


def test_the_menu_links_to_the_formats_page(bob_client):
    assert f'href="{LIST}"' in bob_client.get(reverse("clinical_sessions:list")).content.decode()


# --- creating and editing ---------------------------------------------------------------------


def test_an_owner_creates_a_format_with_sections_in_the_chosen_order(alice_client, practice):
    data = _post_data(
        [
            {"heading": "Plan", "instruction": "Next steps.", "ORDER": "2"},
            {"heading": "Presenting problem", "instruction": "Why they came.", "ORDER": "1"},
        ],
        name="Intake assessment",
        key="intake",
        length="detailed",
    )
    response = alice_client.post(CREATE, data)
    assert response.status_code == 302
    template = NoteTemplate.objects.get(practice=practice)
    assert (template.key, template.name, template.length) == ("intake", "Intake assessment", "detailed")
    assert [s["heading"] for s in template.sections] == ["Presenting problem", "Plan"]


def test_an_admin_may_create_formats_too(practice):
    response = _admin_client(practice).post(CREATE, _post_data([{"heading": "Plan", "instruction": "Next."}]))
    assert response.status_code == 302
    assert NoteTemplate.objects.get().key == "intake"


def test_the_key_is_derived_from_the_name_when_left_empty(alice_client, practice):
    _format(practice, key="intake-assessment")
    alice_client.post(CREATE, _post_data([{"heading": "Plan", "instruction": "Next."}], name="Intake assessment"))
    assert set(NoteTemplate.objects.values_list("key", flat=True)) == {"intake-assessment", "intake-assessment-2"}


def test_a_textarea_instruction_on_several_lines_becomes_one(alice_client):
    alice_client.post(CREATE, _post_data([{"heading": "Plan", "instruction": "Next steps,\r\nand homework."}]))
    assert NoteTemplate.objects.get().sections[0]["instruction"] == "Next steps, and homework."


def test_removed_and_blank_rows_are_left_out(alice_client):
    rows: list[dict[str, Any]] = [
        {"heading": "Keep", "instruction": "Kept."},
        {"heading": "Drop", "instruction": "Dropped.", "DELETE": True},
        {"heading": "", "instruction": ""},
    ]
    assert alice_client.post(CREATE, _post_data(rows)).status_code == 302
    assert [s["heading"] for s in NoteTemplate.objects.get().sections] == ["Keep"]


@pytest.mark.parametrize(
    ("rows", "data", "message"),
    [
        ([{"heading": "Plan", "instruction": ""}], {}, "This field is required"),
        ([{"heading": "Plan\x07", "instruction": "x"}], {}, "control characters"),
        ([{"heading": "", "instruction": ""}], {}, "at least one section"),
        ([{"heading": "Plan", "instruction": "x"}], {"key": "soap"}, "built-in"),
        ([{"heading": "Plan", "instruction": "x"}], {"name": "  "}, "Enter a name"),
        ([{"heading": "Plan", "instruction": "x"}], {"sections-TOTAL_FORMS": "31"}, "at most 30 sections"),
        ([{"heading": "Plan", "instruction": "x"}], {"sections-TOTAL_FORMS": "x"}, "at least one section"),
        ([{"heading": "Plan", "instruction": "x"}], {"length": "epic"}, "Select a valid choice"),
    ],
)
def test_an_invalid_format_is_shown_again_with_its_errors_and_nothing_saved(alice_client, rows, data, message):
    response = alice_client.post(CREATE, {**_post_data(rows), **data})
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not NoteTemplate.objects.exists()


def test_a_taken_key_is_named_on_the_key_field(alice_client, practice):
    _format(practice)
    response = alice_client.post(CREATE, _post_data([{"heading": "Plan", "instruction": "x"}], key="intake"))
    assert response.status_code == 400
    assert "already has a format" in response.content.decode()
    assert NoteTemplate.objects.count() == 1


def test_adding_a_section_without_javascript_keeps_what_was_typed_and_saves_nothing(alice_client):
    data = _post_data(
        [
            {"heading": "Second", "instruction": "b", "ORDER": "2"},
            {"heading": "First", "instruction": "a", "ORDER": "1"},
        ],
        name="",
    )
    response = alice_client.post(CREATE, {**data, "add_section": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index('value="First"') < page.index('value="Second"')
    assert 'name="sections-2-heading"' in page
    assert 'name="sections-TOTAL_FORMS" value="3"' in page
    assert "errorlist" not in page
    assert not NoteTemplate.objects.exists()


def test_a_builtin_format_is_the_starting_point_of_a_copy(alice_client):
    page = alice_client.get(CREATE, {"from": "medical"}).content.decode()
    assert 'value="Medical visit (copy)"' in page
    assert 'value="History of present illness"' in page


def test_an_unknown_starting_point_gives_a_blank_format(alice_client):
    response = alice_client.get(CREATE, {"from": "nope"})
    assert response.status_code == 200
    assert 'name="sections-0-heading"' in response.content.decode()


def test_an_owner_edits_a_format_but_not_its_key(alice_client, practice):
    template = _format(practice)
    url = reverse("formats:edit", kwargs={"pk": template.pk})
    assert "Problem" in alice_client.get(url).content.decode()
    rows = [{"key": "problem", "heading": "Presenting problem", "instruction": "Why."}]
    response = alice_client.post(url, _post_data(rows, name="Intake v2", key="changed", length="brief"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.key, template.name, template.length) == ("intake", "Intake v2", "brief")
    assert template.sections == [{"key": "problem", "heading": "Presenting problem", "instruction": "Why."}]


def test_an_invalid_edit_is_a_400_and_changes_nothing(alice_client, practice):
    template = _format(practice)
    url = reverse("formats:edit", kwargs={"pk": template.pk})
    response = alice_client.post(url, _post_data([{"heading": "x" * 101, "instruction": "y"}]))
    assert response.status_code == 400
    template.refresh_from_db()
    assert template.sections[0]["heading"] == "Problem"


# --- building from an example -----------------------------------------------------------------


def test_an_example_note_opens_the_editor_with_a_proposal_and_saves_nothing(alice_client):
    response = alice_client.post(FROM_EXAMPLE, {"example": "SUBJECTIVE\nFeels better.\n## Plan\nReview in May."})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="Subjective"' in page
    assert "Like: Review in May." in page
    assert "nothing is saved yet" in page
    assert f'action="{CREATE}"' in page
    assert not NoteTemplate.objects.exists()


def test_the_proposal_saves_like_any_new_format(alice_client, practice):
    proposal = alice_client.post(FROM_EXAMPLE, {"example": "SUBJECTIVE\nFeels better.\n## Plan\nReview."})
    assert proposal.status_code == 200
    data = _post_data(
        [
            {"key": "subjective", "heading": "Subjective", "instruction": "Like: Feels better."},
            {"key": "plan", "heading": "Plan", "instruction": "Like: Review."},
        ],
        name="Our SOAP",
    )
    assert alice_client.post(CREATE, data).status_code == 302
    assert [s["key"] for s in NoteTemplate.objects.get(practice=practice).sections] == ["subjective", "plan"]


@pytest.mark.parametrize(("example", "message"), [("no headings here at all.", "No headings found"), ("", "Paste")])
def test_an_unusable_example_is_explained_on_the_formats_page(alice_client, example, message):
    response = alice_client.post(FROM_EXAMPLE, {"example": example})
    assert response.status_code == 400
    assert message in response.content.decode()


# --- retiring, restoring, deleting, moving ----------------------------------------------------


def test_retiring_hides_a_format_from_new_sessions(alice_client, practice):
    template = _format(practice)
    assert alice_client.post(reverse("formats:retire", kwargs={"pk": template.pk})).status_code == 302
    template.refresh_from_db()
    assert template.retired_at is not None
    assert 'value="intake"' not in alice_client.get(reverse("clinical_sessions:create")).content.decode()
    alice_client.post(reverse("formats:restore", kwargs={"pk": template.pk}))
    assert 'value="intake"' in alice_client.get(reverse("clinical_sessions:create")).content.decode()


def test_deleting_a_format_in_use_retires_it(alice, alice_client, practice):
    template = _format(practice)
    ClinicalSessionFactory(practice=practice, clinician=alice, note_type="intake")
    response = alice_client.post(reverse("formats:delete", kwargs={"pk": template.pk}), follow=True)
    assert "stays, retired" in response.content.decode()
    template.refresh_from_db()
    assert template.retired_at is not None


def test_deleting_an_unused_format_deletes_it(alice_client, practice):
    template = _format(practice)
    alice_client.post(reverse("formats:delete", kwargs={"pk": template.pk}))
    assert not NoteTemplate.objects.exists()


def test_moving_a_format_changes_its_place_in_the_session_form(alice_client, practice):
    _format(practice, key="alpha", name="Alpha")
    beta = _format(practice, key="beta", name="Beta")
    alice_client.post(reverse("formats:move", kwargs={"pk": beta.pk}), {"direction": "up"})
    page = alice_client.get(reverse("clinical_sessions:create")).content.decode()
    assert page.index('value="beta"') < page.index('value="alpha"')


def test_a_move_needs_a_direction(alice_client, practice):
    template = _format(practice)
    assert alice_client.post(reverse("formats:move", kwargs={"pk": template.pk}), {"direction": "x"}).status_code == 400


# --- a member's default -----------------------------------------------------------------------


def test_a_clinician_chooses_the_default_format_of_their_new_sessions(bob, bob_client):
    response = bob_client.post(DEFAULT, {"default_note_type": "birp"})
    assert response.status_code == 302
    assert Membership.objects.get(user=bob).default_note_type == "birp"
    page = bob_client.get(reverse("clinical_sessions:create")).content.decode()
    assert '<option value="birp" selected>' in page


def test_a_default_outside_the_practices_formats_is_refused(bob, bob_client, other_practice):
    _format(other_practice, key="theirs")
    assert bob_client.post(DEFAULT, {"default_note_type": "theirs"}).status_code == 400
    assert Membership.objects.get(user=bob).default_note_type == ""


def test_a_session_in_a_retired_format_can_still_be_edited(alice, alice_client, practice):
    template = _format(practice)
    session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="intake")
    format_retire(template=template)
    url = reverse("clinical_sessions:edit", kwargs={"pk": session.pk})
    assert "Intake (retired)" in alice_client.get(url).content.decode()
    response = alice_client.post(
        url, {"client_label": "AB", "occurred_at": "2025-01-01T10:00", "note_type": "intake", "consent_method": ""}
    )
    assert response.status_code == 302
    assert "Intake" in alice_client.get(reverse("clinical_sessions:detail", kwargs={"pk": session.pk})).content.decode()


# --- the trio: login, tenancy, methods --------------------------------------------------------

PK_ROUTES = ["formats:edit", "formats:retire", "formats:restore", "formats:delete", "formats:move"]


@pytest.mark.parametrize("name", PK_ROUTES)
def test_format_pages_need_login(client, practice, name):
    url = reverse(name, kwargs={"pk": _format(practice).pk})
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PK_ROUTES)
def test_another_practices_format_is_a_404(charlie_client, practice, name):
    template = _format(practice)
    assert charlie_client.post(reverse(name, kwargs={"pk": template.pk}), {"direction": "up"}).status_code == 404
    assert NoteTemplate.objects.get().retired_at is None


@pytest.mark.parametrize("name", PK_ROUTES)
def test_clinicians_may_not_change_formats(bob_client, practice, name):
    template = _format(practice)
    assert bob_client.post(reverse(name, kwargs={"pk": template.pk}), {"direction": "up"}).status_code == 403
    assert NoteTemplate.objects.get().retired_at is None


@pytest.mark.parametrize("url", [CREATE, FROM_EXAMPLE])
def test_clinicians_may_not_build_formats(bob_client, url):
    assert bob_client.get(url).status_code in {403, 405}
    assert bob_client.post(url, _post_data([{"heading": "Plan", "instruction": "x"}])).status_code == 403
    assert not NoteTemplate.objects.exists()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("formats:retire", "get"),
        ("formats:restore", "get"),
        ("formats:delete", "get"),
        ("formats:move", "get"),
        ("formats:edit", "put"),
    ],
)
def test_format_pages_refuse_the_wrong_method(alice_client, practice, name, method):
    url = reverse(name, kwargs={"pk": _format(practice).pk})
    assert getattr(alice_client, method)(url).status_code == 405


@pytest.mark.parametrize(("url", "method"), [(LIST, "post"), (CREATE, "put"), (FROM_EXAMPLE, "get"), (DEFAULT, "get")])
def test_formats_pages_without_an_id_refuse_the_wrong_method(alice_client, url, method):
    assert getattr(alice_client, method)(url).status_code == 405


def test_a_user_without_a_practice_is_refused(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(LIST).status_code == 403

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_clinician_logs_in_with_email_and_lands_on_sessions(client, alice):
    response = client.post(reverse("accounts:login"), {"login": "ALICE@alder.test", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical_sessions:list")
    assert client.get(reverse("clinical_sessions:list")).status_code == 200


def test_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("accounts:login"), {"login": "alice@alder.test", "password": "nope"})
    assert response.status_code == 200
    assert b"are not correct" in response.content
    assert "_auth_user_id" not in client.session


def test_login_redirects_back_to_the_page_asked_for(client, alice):
    target = reverse("clinical_sessions:create")
    response = client.post(
        reverse("accounts:login") + f"?next={target}",
        {"login": "alice@alder.test", "password": TEST_PASSWORD, "next": target},
    )
    assert response["Location"] == target


def test_login_never_redirects_to_another_site(client, alice):
    response = client.post(
        reverse("accounts:login"),
        {"login": "alice@alder.test", "password": TEST_PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("clinical_sessions:list")


def test_logout_is_a_post_only(alice_client):
    assert alice_client.get(reverse("accounts:logout")).status_code == 405
    response = alice_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert alice_client.get(reverse("clinical_sessions:list")).status_code == 302


def test_password_change_needs_the_old_password(alice, alice_client):
    url = reverse("accounts:password_change")
    refused = alice_client.post(
        url, {"old_password": "wrong", "new_password1": "a-new-long-pass-9", "new_password2": "a-new-long-pass-9"}
    )
    assert refused.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(TEST_PASSWORD)
    accepted = alice_client.post(
        url, {"old_password": TEST_PASSWORD, "new_password1": "a-new-long-pass-9", "new_password2": "a-new-long-pass-9"}
    )
    assert accepted.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-pass-9")


def test_password_reset_sends_a_link_that_sets_a_new_password(client, alice):
    response = client.post(reverse("accounts:password_reset"), {"email": "alice@alder.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "fresh-password-77", "new_password2": "fresh-password-77"})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("fresh-password-77")


def test_password_reset_does_not_reveal_whether_an_account_exists(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []

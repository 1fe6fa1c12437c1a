from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_storage(client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True


def test_readyz_is_unavailable_when_storage_fails(client, monkeypatch):
    from django.core.files.storage import default_storage

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", broken_save)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == {"ok": False, "error": "OSError"}


def test_every_response_carries_a_request_id(client):
    generated = client.get(reverse("healthz"))
    assert len(generated["X-Request-ID"]) == 32
    echoed = client.get(reverse("healthz"), headers={"X-Request-ID": "abc-123"})
    assert echoed["X-Request-ID"] == "abc-123"
    forged = client.get(reverse("healthz"), headers={"X-Request-ID": "evil\nline"})
    assert forged["X-Request-ID"] != "evil\nline"

"""/metrics: Prometheus' text format behind a bearer token, with the families the design lists, moving as a job
runs (in stub mode)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs.models import Job
from jobs.services import job_start
from jobs.tasks import run_job
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"

FAMILIES = [
    "sessionscribe_job_stage_seconds",
    "sessionscribe_jobs_total",
    "sessionscribe_job_retries_total",
    "sessionscribe_queue_depth",
    "sessionscribe_oldest_queued_job_age_seconds",
    "sessionscribe_provider_request_seconds",
    "sessionscribe_provider_requests_total",
    "sessionscribe_upload_seconds",
    "sessionscribe_storage_seconds",
    "sessionscribe_faithfulness_flags_total",
]


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> str:
        response = client.get(reverse("metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return str(response.content.decode())

    return get


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels…}`` (labels in any order, others allowed), 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        sample_labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_need_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get(reverse("metrics")).status_code == 404
    wrong = client.get(reverse("metrics"), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    right = client.get(reverse("metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200


def test_metrics_without_a_token_are_refused_in_production_and_open_in_the_demo(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get(reverse("metrics")).status_code == 404
    settings.DEBUG = True
    assert client.get(reverse("metrics")).status_code == 200


def test_every_family_of_the_design_is_exposed(scrape):
    text = scrape()
    for family in FAMILIES:
        base = family.removesuffix("_total")
        assert f"# TYPE {base}" in text or f"# TYPE {family}" in text, family


def test_a_job_run_in_stub_mode_moves_the_job_provider_upload_and_storage_metrics(
    scrape, alice, practice, django_capture_on_commit_callbacks
):
    before = scrape()
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    recording_replace(
        session=session,
        upload_path=AUDIO / "dialogue_short.webm",
        original_filename="dialogue_short.webm",
        uploaded_by=alice,
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(session=session, requested_by=alice)
    queued = scrape()
    assert _value(queued, "sessionscribe_queue_depth") == 1
    assert _value(queued, "sessionscribe_oldest_queued_job_age_seconds") >= 0
    with django_capture_on_commit_callbacks(execute=True):
        run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("sessionscribe_jobs_total", status="queued") == 1
    assert moved("sessionscribe_jobs_total", status="running") == 1
    assert moved("sessionscribe_jobs_total", status="succeeded") == 1
    for stage in ("prepare", "transcribe", "draft", "export"):
        assert moved("sessionscribe_job_stage_seconds_count", stage=stage) == 1, stage
    assert moved("sessionscribe_provider_requests_total", provider="stub", operation="transcribe", outcome="ok") >= 1
    assert moved("sessionscribe_provider_requests_total", provider="stub", operation="draft", outcome="ok") == 1
    assert moved("sessionscribe_provider_request_seconds_count", provider="stub", operation="draft") == 1
    assert moved("sessionscribe_upload_seconds_count", operation="store") == 1
    assert moved("sessionscribe_storage_seconds_count", operation="save") >= 2
    assert _value(after, "sessionscribe_queue_depth") == 0


def test_a_retry_is_counted_by_its_error_code(scrape, alice, practice, monkeypatch, django_capture_on_commit_callbacks):
    from jobs.providers.base import ProviderError, ProviderErrorCode
    from jobs.providers.stub import StubDrafter

    def overloaded(self, **kwargs):
        raise ProviderError(ProviderErrorCode.RATE_LIMITED)

    monkeypatch.setattr(StubDrafter, "draft", overloaded)
    before = scrape()
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="a.webm", uploaded_by=alice
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(session=session, requested_by=alice)
        run_job(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.RETRY_WAIT
    after = scrape()
    code = job.error_code
    assert (
        _value(after, "sessionscribe_job_retries_total", error_code=code)
        - _value(before, "sessionscribe_job_retries_total", error_code=code)
        == 1
    )
    assert _value(after, "sessionscribe_provider_requests_total", provider="stub", outcome="rate_limited") >= 1


def test_readyz_reports_the_queue(client, alice, practice, django_capture_on_commit_callbacks):
    session = ClinicalSessionFactory(practice=practice, clinician=alice)
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="a.webm", uploaded_by=alice
    )
    job_start(session=session, requested_by=alice)
    body = client.get(reverse("readyz")).json()
    assert body["queue"]["depth"] == 1
    assert 0 <= body["queue"]["oldest_age_seconds"] < 60


def test_flags_the_checker_raises_are_counted_by_kind(scrape, alice, practice, settings, monkeypatch):
    from jobs.services import job_start
    from jobs.tasks import run_job
    from sessions.services import recording_replace
    from tests.conftest import AUDIO
    from tests.factories import ClinicalSessionFactory
    from tests.jobs.test_pipeline import _SlippingDrafter

    settings.AI_MODE = "stub"
    monkeypatch.setattr("jobs.pipeline.draft.get_drafter", _SlippingDrafter)
    before = scrape()
    session = ClinicalSessionFactory(practice=practice, clinician=alice, note_type="medical")
    recording_replace(
        session=session, upload_path=AUDIO / "dialogue_short.webm", original_filename="a.webm", uploaded_by=alice
    )
    run_job(str(job_start(session=session, requested_by=alice).pk))
    after = scrape()

    for kind in ("medication", "negation"):
        name = "sessionscribe_faithfulness_flags_total"
        assert _value(after, name, kind=kind) == _value(before, name, kind=kind) + 1

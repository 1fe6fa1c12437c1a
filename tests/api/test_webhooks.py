"""Outbound webhooks: events of finished jobs, signed as documented, retried with backoff, and sent only to
destinations that pass the SSRF guard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django_q.models import Schedule

from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.webhooks import DestinationRefused, check_destination, new_secret
from jobs.models import Job
from jobs.notifications import notify_job_finished
from jobs.services import job_start
from jobs.tasks import run_job
from tests.api.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_recipe():
    """The signature check exactly as docs/api.md gives it to integrators."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    [recipe] = [block for block in blocks if "def verify_signature" in block]
    namespace: dict[str, object] = {}
    exec(compile(recipe, str(DOCS), "exec"), namespace)  # noqa: S102 — our own documentation
    return namespace["verify_signature"]


@pytest.fixture
def queued(monkeypatch):
    """The ids handed to the task queue."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


@pytest.fixture
def endpoint(practice, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return WebhookEndpoint.objects.create(practice=practice, url="http://127.0.0.1:9/none", secret=new_secret())


def webhook_deliver(delivery_id) -> WebhookDelivery:
    delivery = webhooks.webhook_deliver(delivery_id)
    assert delivery is not None
    return delivery


def _deliveries_of(job: Job) -> list[WebhookDelivery]:
    return [d for d in WebhookDelivery.objects.all() if d.payload["data"]["job_id"] == str(job.pk)]


def test_a_succeeded_job_queues_one_event_per_active_endpoint(
    succeeded_job, endpoint, practice, queued, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(practice=practice, url="http://127.0.0.1:9/off", secret="s", active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify_job_finished(succeeded_job.pk)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == endpoint
    assert delivery.event_type == "job.succeeded"
    assert delivery.payload["data"] == {
        "job_id": str(succeeded_job.pk),
        "session_id": str(succeeded_job.session_id),
        "status": "succeeded",
        "error_code": None,
        "finished_at": succeeded_job.finished_at.isoformat().replace("+00:00", "Z"),
    }
    assert queued == [("integrations.tasks.deliver_webhook", str(delivery.pk))]


def test_an_event_holds_no_clinical_text(succeeded_job, endpoint, queued):
    notify_job_finished(succeeded_job.pk)
    sent = json.dumps(WebhookDelivery.objects.get().payload)
    session = succeeded_job.session
    assert session.client_label not in sent
    for segment in session.transcript.segments:
        assert segment["text"] not in sent


def test_notifying_the_same_ending_twice_sends_it_once(succeeded_job, endpoint, queued):
    notify_job_finished(succeeded_job.pk)
    notify_job_finished(succeeded_job.pk)
    assert WebhookDelivery.objects.count() == 1


def test_other_practices_endpoints_hear_nothing(succeeded_job, other_practice, queued):
    WebhookEndpoint.objects.create(practice=other_practice, url="https://hooks.example.org/x", secret="s")
    notify_job_finished(succeeded_job.pk)
    assert not WebhookDelivery.objects.exists()


def test_the_pipeline_notifies_when_a_job_ends(
    recorded_session, alice, endpoint, queued, settings, django_capture_on_commit_callbacks
):
    settings.AI_MODE = "stub"
    job = job_start(session=recorded_session, requested_by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        run_job(str(job.pk))
    [delivery] = _deliveries_of(job)
    assert delivery.event_type == "job.succeeded"


def test_a_failed_job_sends_job_failed_with_its_error_code(recorded_session, alice, endpoint, queued):
    job = job_start(session=recorded_session, requested_by=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error_code="AUDIO_UNREADABLE")
    from django.utils import timezone

    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
    notify_job_finished(job.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "job.failed"
    assert delivery.payload["data"]["error_code"] == "AUDIO_UNREADABLE"


def test_a_delivery_is_signed_as_documented(succeeded_job, endpoint, queued):
    verify_signature = documented_recipe()
    with WebhookReceiver() as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        notify_job_finished(succeeded_job.pk)
        delivery = webhook_deliver(WebhookDelivery.objects.get().pk)
    [request] = receiver.received
    assert request.path == "/hooks/sessionscribe"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Sessionscribe-Event"] == "job.succeeded"
    assert request.headers["Sessionscribe-Delivery"] == str(delivery.pk)
    signature = request.headers["Sessionscribe-Signature"]
    assert verify_signature(endpoint.secret, signature, request.body)
    assert not verify_signature("whsec_other", signature, request.body)
    assert not verify_signature(endpoint.secret, signature, request.body.replace(b"succeeded", b"failed"))
    assert json.loads(request.body)["data"]["job_id"] == str(succeeded_job.pk)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_a_refused_delivery_is_retried_later_with_backoff(succeeded_job, endpoint, queued, settings):
    with WebhookReceiver(status=500) as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        notify_job_finished(succeeded_job.pk)
        delivery = webhook_deliver(WebhookDelivery.objects.get().pk)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        "pending",
        1,
        "The endpoint answered HTTP 500.",
    )
    assert delivery.next_attempt_at is not None
    assert delivery.last_attempt_at is not None
    assert 25 < (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() <= 31


def test_a_retry_is_scheduled_once_the_attempt_is_recorded(
    succeeded_job, endpoint, queued, django_capture_on_commit_callbacks
):
    with WebhookReceiver(status=503) as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        notify_job_finished(succeeded_job.pk)
        with django_capture_on_commit_callbacks(execute=True):
            delivery = webhook_deliver(WebhookDelivery.objects.get().pk)
    [schedule] = Schedule.objects.filter(func="integrations.tasks.deliver_webhook")
    assert str(delivery.pk) in schedule.args
    assert schedule.schedule_type == Schedule.ONCE
    assert delivery.next_attempt_at is not None
    assert abs((schedule.next_run - delivery.next_attempt_at).total_seconds()) < 1


def test_a_delivery_gives_up_after_the_last_attempt(succeeded_job, endpoint, queued, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with WebhookReceiver(status=500) as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        notify_job_finished(succeeded_job.pk)
        delivery_id = WebhookDelivery.objects.get().pk
        webhook_deliver(delivery_id)
        delivery = webhook_deliver(delivery_id)
        assert webhook_deliver(delivery_id).attempts == 2  # a finished delivery is not sent again
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert len(receiver.received) == 2


def test_a_redirect_is_not_followed(succeeded_job, endpoint, queued):
    target = "http://169.254.169.254/latest/meta-data/"
    with WebhookReceiver(status=302, headers={"Location": target}) as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        notify_job_finished(succeeded_job.pk)
        delivery = webhook_deliver(WebhookDelivery.objects.get().pk)
    assert len(receiver.received) == 1
    assert delivery.status != "succeeded"
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def test_a_destination_that_turned_private_fails_at_once(succeeded_job, endpoint, queued, settings):
    with WebhookReceiver() as receiver:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url.replace("http:", "https:"))
        notify_job_finished(succeeded_job.pk)
        settings.WEBHOOKS_ALLOW_PRIVATE = False
        delivery = webhook_deliver(WebhookDelivery.objects.get().pk)
    assert receiver.received == []
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "private" in delivery.last_error


# --- The SSRF guard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:a9fe:a9fe]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
    ],
)
def test_the_guard_refuses_private_and_special_addresses(url):
    with pytest.raises(DestinationRefused, match="private, loopback"):
        check_destination(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.org/x", "http://hooks.example.org/x", "https://user:pw@hooks.example.org/x", "https:///x"],
)
def test_the_guard_refuses_other_schemes_credentials_and_hostless_urls(url, monkeypatch):
    monkeypatch.setattr("integrations.webhooks.resolve", lambda host, port: ["93.184.216.34"])
    with pytest.raises(DestinationRefused):
        check_destination(url, allow_private=False)


def test_the_guard_refuses_a_name_with_one_private_address_among_public_ones(monkeypatch):
    monkeypatch.setattr("integrations.webhooks.resolve", lambda host, port: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(DestinationRefused, match="private, loopback"):
        check_destination("https://hooks.example.org/x", allow_private=False)


def test_the_guard_accepts_a_public_https_destination_and_pins_its_address(monkeypatch):
    monkeypatch.setattr("integrations.webhooks.resolve", lambda host, port: ["93.184.216.34"])
    destination = check_destination("https://hooks.example.org:8443/in?x=1", allow_private=False)
    assert (destination.host, destination.port, destination.target) == ("hooks.example.org", 8443, "/in?x=1")
    assert destination.address == "93.184.216.34"


def test_the_setting_allows_loopback_for_development():
    assert check_destination("http://127.0.0.1:9/x", allow_private=True).address == "127.0.0.1"


# --- The webhooks page ---------------------------------------------------------------------------


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(alice_client, practice, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    url = reverse("integrations:webhooks")
    response = alice_client.post(url, {"url": "http://127.0.0.1:9/in", "description": "EHR"})
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(practice=practice)
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in alice_client.get(url).content.decode()


def test_the_page_refuses_a_private_destination(alice_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = alice_client.post(reverse("integrations:webhooks"), {"url": "https://10.0.0.1/in"})
    assert response.status_code == 400
    assert "public addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_page_shows_the_delivery_history(alice_client, succeeded_job, endpoint, queued):
    notify_job_finished(succeeded_job.pk)
    WebhookDelivery.objects.update(attempts=2, last_status_code=500, last_error="The endpoint answered HTTP 500.")
    for url in (reverse("integrations:webhooks"), reverse("integrations:webhook_detail", kwargs={"pk": endpoint.pk})):
        page = alice_client.get(url).content.decode()
        assert "job.succeeded" in page
        assert "The endpoint answered HTTP 500." in page


def test_the_page_takes_the_same_queries_for_many_endpoints(alice_client, practice, django_assert_max_num_queries):
    def add(n):
        for index in range(n):
            WebhookEndpoint.objects.create(practice=practice, url=f"https://h{index}.example.org/", secret="s")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add(1)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(reverse("integrations:webhooks"))
    add(5)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(reverse("integrations:webhooks"))
    assert len(many) == len(few)


def test_an_owner_removes_an_endpoint(alice_client, endpoint):
    response = alice_client.post(reverse("integrations:webhook_delete", kwargs={"pk": endpoint.pk}))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("name", "method"), [("integrations:webhooks", "get"), ("integrations:webhooks", "post")])
def test_clinicians_may_not_manage_webhooks(bob_client, name, method):
    assert getattr(bob_client, method)(reverse(name)).status_code == 403


@pytest.mark.parametrize(
    ("name", "method"), [("integrations:webhook_detail", "get"), ("integrations:webhook_delete", "post")]
)
def test_another_practices_endpoint_is_a_404(charlie_client, endpoint, name, method):
    response = getattr(charlie_client, method)(reverse(name, kwargs={"pk": endpoint.pk}))
    assert response.status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


@pytest.mark.parametrize(
    ("name", "method"), [("integrations:webhook_delete", "get"), ("integrations:webhook_detail", "post")]
)
def test_webhook_pages_refuse_the_wrong_method(alice_client, endpoint, name, method):
    assert getattr(alice_client, method)(reverse(name, kwargs={"pk": endpoint.pk})).status_code == 405


def test_a_pending_delivery_whose_task_was_lost_is_queued_again_by_the_dispatcher(
    alice, django_capture_on_commit_callbacks, settings
):
    import datetime as dt

    from django.utils import timezone

    from integrations.models import WebhookDelivery, WebhookEndpoint
    from jobs.dispatch import dispatch_pass

    settings.JOB_RESEND_AFTER_SECONDS = 600
    endpoint = WebhookEndpoint.objects.create(
        practice=alice.memberships.get().practice, url="https://hooks.example.org/x", secret="s" * 32
    )
    import uuid

    stuck = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=uuid.uuid4(), event_type="job.succeeded", payload={"id": "x"}
    )
    WebhookDelivery.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    WebhookDelivery.objects.create(endpoint=endpoint, event_id=uuid.uuid4(), event_type="job.failed", payload={})
    with django_capture_on_commit_callbacks() as queued:
        assert dispatch_pass()["webhooks_resent"] == 1
        assert dispatch_pass()["webhooks_resent"] == 0
    assert len(queued) == 1


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_delivery_timeout(settings):
    import socket
    import threading
    import time

    from integrations.webhooks import post_signed

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)  # each byte well within a per-read timeout

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            post_signed(f"http://127.0.0.1:{server.getsockname()[1]}/hook", b"{}", {}, timeout=1.0)
        # Cut off near the deadline, not after the 20 s the drip would take.
        assert time.monotonic() - started < 10
    finally:
        stop.set()
        server.close()

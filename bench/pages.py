"""Pages and API lists at 10,000 and 100,000 sessions: queries and latency should not grow with the rows.

A throwaway database is seeded with sessions spread over four practices (the measured one holds 85 % of them),
each session with its recording, its job, its transcript (nine segments) and its note: at 100,000 sessions that is
1,000,000 notes and transcript segments. Transcript and note text go through the model fields, so they are stored
encrypted as in production. Then each page and endpoint is requested many times with Django's test client, logged
in as the practice's owner (who sees the whole practice) or through the practice's API key, and the query count
and the p50/p95 latency are reported at each size, with the ratio of the larger size to the smaller: the baseline
is the same request on the smaller database, measured in the same run. Flat (1.0x) is the goal.

The API list is also measured on SQLite at 1,000 and 5,000 sessions (in a subprocess, on a temporary file).

PostgreSQL when DATABASE_URL names it (a database called ``bench_pages`` on that server, created and dropped
here); otherwise SQLite, with a note that the figures are not the production database's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pages.py [--write]
    .venv/bin/python bench/pages.py --sizes 1000,5000 --repeat 50      # a quick run
"""

# bench-needs: postgresql

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    QueryCounter,
    database_label,
    django_setup,
    run_benchmark,
    table,
    throwaway_database,
    write_section,
)

django_setup()

from django.db import connection, models, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiKey, Membership, Practice, User  # noqa: E402
from accounts.services import practice_create  # noqa: E402
from jobs.models import Job  # noqa: E402
from jobs.services import job_start  # noqa: E402
from jobs.tasks import run_job  # noqa: E402
from notes.models import Note  # noqa: E402
from sessions.models import ClinicalSession, Recording, Transcript  # noqa: E402
from sessions.services import recording_replace, session_create, session_delete  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio" / "dialogue_short.webm"
SEGMENTS_PER_TRANSCRIPT = 9
CLINICIANS_IN_MAIN_PRACTICE = 10
MAIN_SHARE = 0.85
BATCH = 2000
SAVE_TARGETS = 20


# --- The throwaway database ---------------------------------------------------------------------------------


@contextmanager
def own_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create write created_at/updated_at as given (auto_now would stamp every row with the same now)."""
    changed = []
    for model in model_classes:
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.DateTimeField) and (model_field.auto_now or model_field.auto_now_add):
                changed.append((model_field, model_field.auto_now, model_field.auto_now_add))
                model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in changed:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


# --- Seeding ------------------------------------------------------------------------------------------------


@dataclass
class Cast:
    main: Practice
    owner: User
    clinician: User  # a clinician of the main practice who sees only their own sessions
    raw_key: str
    # Per practice: the users whose sessions it holds.
    clinicians: dict[Any, list[User]] = field(default_factory=dict)
    others: list[Practice] = field(default_factory=list)


@dataclass
class Content:
    """What a processed session holds, taken from one real run of the (stub) pipeline on a real recording."""

    segments: list[dict[str, Any]]
    text: str
    sections: list[dict[str, Any]]
    flags: list[Any]
    template_name: str
    recording: dict[str, Any]


def make_cast() -> Cast:
    main = practice_create(name="Bench Main Practice", owner_email="owner@bench.test")
    owner = User.objects.get(email="owner@bench.test")
    clinicians = {main.pk: [owner]}
    for number in range(1, CLINICIANS_IN_MAIN_PRACTICE):
        user = User.objects.create_user(email=f"clinician{number}@bench.test", full_name=f"Clinician {number}")
        Membership.objects.create(user=user, practice=main, role=Membership.Role.CLINICIAN)
        clinicians[main.pk].append(user)
    others = []
    for letter in "BCD":
        other = practice_create(name=f"Bench Practice {letter}", owner_email=f"owner-{letter.lower()}@bench.test")
        others.append(other)
        clinicians[other.pk] = [User.objects.get(email=f"owner-{letter.lower()}@bench.test")]
    _, raw_key = ApiKey.issue(practice=main, name="Bench", created_by=owner)
    return Cast(
        main=main, owner=owner, clinician=clinicians[main.pk][1], raw_key=raw_key, clinicians=clinicians, others=others
    )


def processed_content(cast: Cast) -> Content:
    session = session_create(
        practice=cast.main,
        clinician=cast.owner,
        client_label="template",
        occurred_at=timezone.now(),
        note_type="soap",
        consent_method=ClinicalSession.ConsentMethod.VERBAL,
        created_by=cast.owner,
    )
    recording = recording_replace(
        session=session, upload_path=AUDIO, original_filename="visit.webm", uploaded_by=cast.owner
    )
    job = job_start(session=session, requested_by=cast.owner)
    run_job(str(job.pk))
    transcript = Transcript.objects.get(session=session)
    note = Note.objects.get(session=session)
    segments = list(transcript.segments)
    while len(segments) < SEGMENTS_PER_TRANSCRIPT:
        extra = dict(segments[len(segments) % len(transcript.segments)])
        extra["id"] = len(segments)
        segments.append(extra)
    content = Content(
        segments=segments[:SEGMENTS_PER_TRANSCRIPT],
        text=transcript.text,
        sections=note.sections,
        flags=note.flags,
        template_name=note.template_name,
        recording={
            "content_type": recording.content_type,
            "bytes": recording.bytes,
            "sha256": recording.sha256,
            "duration_seconds": recording.duration_seconds,
            "codec": recording.codec,
            "container": recording.container,
            "sample_rate": recording.sample_rate,
            "channels": recording.channels,
        },
    )
    session_delete(session=session)
    return content


class Seeder:
    """Adds sessions, each with its recording, job, transcript and note, until the database holds ``total``."""

    def __init__(self, cast: Cast, content: Content) -> None:
        self.cast = cast
        self.content = content
        self.count = 0
        self.random = random.Random(20240601)
        self.now = timezone.now()
        self.save_targets: list[Note] = []

    def practice_for(self, index: int) -> Practice:
        share = (index * 7919) % 100
        if share < MAIN_SHARE * 100:
            return self.cast.main
        return self.cast.others[share % len(self.cast.others)]

    def seed_to(self, total: int) -> float:
        started = time.perf_counter()
        with own_timestamps(ClinicalSession, Recording, Transcript, Note, Job):
            while self.count < total:
                size = min(BATCH, total - self.count)
                with transaction.atomic():
                    self._batch(size)
                self.count += size
        # A table filled a second ago has no planner statistics; autovacuum would have made them long ago.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        return time.perf_counter() - started

    def _batch(self, size: int) -> None:
        sessions, recordings, transcripts, notes, jobs = [], [], [], [], []
        content = self.content
        for offset in range(size):
            index = self.count + offset
            practice = self.practice_for(index)
            people = self.cast.clinicians[practice.pk]
            clinician = people[index % len(people)]
            # The first hundred sessions are today's; the rest spread over three years.
            if index < 100:
                occurred = self.now - dt.timedelta(minutes=index)
            else:
                occurred = self.now - dt.timedelta(days=1, seconds=self.random.randrange(3 * 365 * 86400))
            created = min(occurred + dt.timedelta(hours=1), self.now)
            # The owner's first sessions stay drafts: their notes are the ones saved below.
            target = practice == self.cast.main and clinician == self.cast.owner and len(self.save_targets) < 20
            review = (
                ClinicalSession.ReviewState.DRAFT
                if target
                else self.random.choices(
                    [ClinicalSession.ReviewState.SIGNED, ClinicalSession.ReviewState.DRAFT, "needs_review"],
                    [7, 2, 1],
                )[0]
            )
            session = ClinicalSession(
                practice=practice,
                clinician=clinician,
                client_label=f"C-{index:06d}",
                occurred_at=occurred,
                note_type="soap",
                status=ClinicalSession.Status.READY,
                review_state=review,
                consent_status=ClinicalSession.ConsentStatus.GIVEN,
                consent_method=ClinicalSession.ConsentMethod.VERBAL,
                consent_recorded_at=created,
                consent_recorded_by=clinician,
                created_at=created,
                updated_at=created,
            )
            sessions.append(session)
            recordings.append(
                Recording(
                    session=session,
                    file=f"practices/{practice.pk}/sessions/{session.pk}/recording-{index}.webm",
                    original_filename=f"visit-{index}.webm",
                    uploaded_by=clinician,
                    created_at=created,
                    **content.recording,
                )
            )
            job = Job(
                session=session,
                media_sha256=content.recording["sha256"],
                status=Job.Status.SUCCEEDED,
                stage=Job.Stage.DONE,
                attempts=1,
                requested_by=clinician,
                created_at=created,
                started_at=created,
                finished_at=created,
                updated_at=created,
            )
            jobs.append(job)
            transcripts.append(
                Transcript(
                    session=session,
                    media_sha256=content.recording["sha256"],
                    model="stub",
                    language="en",
                    text=content.text,
                    segments=content.segments,
                    created_at=created,
                    updated_at=created,
                )
            )
            signed = review == ClinicalSession.ReviewState.SIGNED
            note = Note(
                session=session,
                note_type="soap",
                template_name=content.template_name,
                status=Note.Status.SIGNED if signed else Note.Status.DRAFT,
                sections=content.sections,
                flags=content.flags,
                signed_at=created if signed else None,
                signed_by=clinician if signed else None,
                created_at=created,
                updated_at=created,
            )
            notes.append(note)
            if target:
                self.save_targets.append(note)
        ClinicalSession.objects.bulk_create(sessions)
        Recording.objects.bulk_create(recordings)
        Job.objects.bulk_create(jobs)
        Transcript.objects.bulk_create(transcripts)
        Note.objects.bulk_create(notes)


def row_counts() -> dict[str, int]:
    notes = Note.objects.count()
    transcripts = Transcript.objects.count()
    return {
        "sessions": ClinicalSession.objects.count(),
        "notes": notes,
        "segments": transcripts * SEGMENTS_PER_TRANSCRIPT,
        "notes and segments": notes + transcripts * SEGMENTS_PER_TRANSCRIPT,
        "visible to the owner": ClinicalSession.objects.visible_to(User.objects.get(email="owner@bench.test")).count(),
    }


# --- Measuring ----------------------------------------------------------------------------------------------


def checked(client: Client, method: str, path: str, expected: int, **kwargs: Any) -> Any:
    response = getattr(client, method)(path, **kwargs)
    if response.status_code != expected:
        raise SystemExit(f"{method.upper()} {path} answered {response.status_code}, not {expected}")
    return response


Request = Callable[[int], Any]


@dataclass
class Site:
    """One seeded database and the requests measured on it."""

    size: int
    database: str
    requests: list[tuple[str, Request]] = field(default_factory=list)
    queries: dict[str, int] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    seed_seconds: float = 0.0


def requests_for(cast: Cast, targets: list[Note]) -> list[tuple[str, Request]]:
    owner = Client()
    owner.force_login(cast.owner)
    clinician = Client()
    clinician.force_login(cast.clinician)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {cast.raw_key}")
    session_ids = [str(note.session_id) for note in targets]
    note_ids = [str(note.pk) for note in targets]
    job_ids = [str(pk) for pk in Job.objects.filter(session_id__in=session_ids).values_list("pk", flat=True)]
    versions = {pk: Note.objects.get(pk=pk).version for pk in note_ids}
    section_key = targets[0].sections[0]["key"]

    def save_page(i: int) -> Any:
        pk = note_ids[i % len(note_ids)]
        data = {"version": versions[pk], f"section_{section_key}": f"Edited {i} by the benchmark."}
        response = checked(owner, "post", f"/notes/{pk}/", 302, data=data)
        versions[pk] += 1
        return response

    def save_api(i: int) -> Any:
        pk = note_ids[i % len(note_ids)]
        body = {"version": versions[pk], "sections": [{"key": section_key, "text": f"API edit {i}."}]}
        response = checked(api, "patch", f"/api/v1/notes/{pk}", 200, data=body, content_type="application/json")
        versions[pk] = response.json()["version"]
        return response

    def each(items: list[str]) -> Callable[[int], str]:
        return lambda i: items[i % len(items)]

    session_id, note_id, job_id = each(session_ids), each(note_ids), each(job_ids)
    return [
        ("session list page (owner)", lambda i: checked(owner, "get", "/sessions/", 200)),
        ("session list page (clinician)", lambda i: checked(clinician, "get", "/sessions/", 200)),
        ("session list page 3 (owner)", lambda i: checked(owner, "get", "/sessions/", 200, data={"page": 3})),
        ("session detail page", lambda i: checked(owner, "get", f"/sessions/{session_id(i)}/", 200)),
        ("note page (editor)", lambda i: checked(owner, "get", f"/notes/{note_id(i)}/", 200)),
        ("note save (page POST)", save_page),
        ("note save (API PATCH)", save_api),
        ("GET /api/v1/sessions (API key)", lambda i: checked(api, "get", "/api/v1/sessions", 200)),
        ("GET /api/v1/sessions (signed in)", lambda i: checked(owner, "get", "/api/v1/sessions", 200)),
        (
            "GET /api/v1/sessions?status=signed",
            lambda i: checked(api, "get", "/api/v1/sessions", 200, data={"status": "signed"}),
        ),
        ("GET /api/v1/sessions/{id}", lambda i: checked(api, "get", f"/api/v1/sessions/{session_id(i)}", 200)),
        ("GET /api/v1/jobs/{id}", lambda i: checked(api, "get", f"/api/v1/jobs/{job_id(i)}", 200)),
        ("GET /api/v1/notes/{id}", lambda i: checked(api, "get", f"/api/v1/notes/{note_id(i)}", 200)),
        ("GET /api/v1/audit-events", lambda i: checked(api, "get", "/api/v1/audit-events", 200)),
    ]


def use(site: Site) -> None:
    """Point the connection at the site's database (the next query reconnects)."""
    if connection.settings_dict["NAME"] != site.database:
        connection.close()
        connection.settings_dict["NAME"] = site.database


def measure(sites: list[Site], repeat: int, rounds: int) -> None:
    """Every request ``repeat`` times on every site, in ``rounds`` rounds that alternate between the sites, so
    that whatever else the machine does meanwhile weighs on both sizes alike. Queries are counted on a request
    of their own, outside the timed ones."""
    for site in sites:
        use(site)
        for name, request in site.requests:
            for warm in range(3):
                request(warm)
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                request(3)
            site.queries[name] = counter.count
            site.times[name] = []
            site.cpu[name] = []
    per_round = max(1, repeat // rounds)
    number = 4
    for _ in range(rounds):
        for site in sites:
            use(site)
            for name, request in site.requests:
                request(number)  # untimed: the first after switching reconnects
                number += 1
                for _ in range(per_round):
                    cpu = time.process_time()
                    started = time.perf_counter()
                    request(number)
                    site.times[name].append((time.perf_counter() - started) * 1000)
                    site.cpu[name].append((time.process_time() - cpu) * 1000)
                    number += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def explain(cast: Cast) -> None:
    """Print each query of the list requests with the database's plan for it (``--explain``)."""
    owner = Client()
    owner.force_login(cast.owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {cast.raw_key}")
    for label, client, path in (
        ("session list page (owner)", owner, "/sessions/"),
        ("GET /api/v1/sessions (API key)", api, "/api/v1/sessions"),
        ("GET /api/v1/sessions (signed in)", owner, "/api/v1/sessions"),
    ):
        client.get(path)
        queries: list[tuple[str, Any]] = []

        def keep(execute, sql, params, many, context, queries=queries):
            queries.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(keep):
            client.get(path)
        print(f"\n== {label}", file=sys.stderr)
        for sql, params in queries:
            if "clinical_sessions" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql, params)
                plan = cursor.fetchall()
            print(f"-- {sql[:300]} … {sql[-300:]}", file=sys.stderr)
            for row in plan:
                print("   " + " ".join(str(cell) for cell in row), file=sys.stderr)


@contextmanager
def seeded_sites(sizes: list[int], *, show_plans: bool) -> Iterator[list[Site]]:
    """A throwaway database per size, each seeded from the same recording, created one after the other and all
    dropped at the end."""
    sites: list[Site] = []
    with ExitStack() as databases:
        for size in sizes:
            site = Site(size=size, database=databases.enter_context(throwaway_database(f"bench_pages_{size}")))
            cast = make_cast()
            seeder = Seeder(cast, processed_content(cast))
            site.seed_seconds = seeder.seed_to(size)
            site.rows = row_counts()
            print(
                f"seeded {size:,} sessions in {site.seed_seconds:.1f} s: "
                + ", ".join(f"{value:,} {label}" for label, value in site.rows.items()),
                file=sys.stderr,
            )
            if show_plans:
                explain(cast)
            site.requests = requests_for(cast, seeder.save_targets)
            sites.append(site)
        yield sites


def run_sizes(sizes: list[int], repeat: int, rounds: int, *, show_plans: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {
        "sizes": sizes,
        "figures": {},
        "seconds": {},
        "rows": {},
        "repeat": repeat,
        "rounds": rounds,
    }
    with seeded_sites(sizes, show_plans=show_plans) as sites:
        result["database"] = database_label()
        result["load_before"] = os.getloadavg()[0]
        started = time.perf_counter()
        measure(sites, repeat, rounds)
        result["load_after"] = os.getloadavg()[0]
        print(f"measured in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for site in sites:
            result["seconds"][site.size] = site.seed_seconds
            result["rows"][site.size] = site.rows
            result["figures"][site.size] = [
                {
                    "name": name,
                    "queries": site.queries[name],
                    "p50_ms": statistics.median(site.times[name]),
                    "p95_ms": percentile(site.times[name], 0.95),
                    "cpu_p50_ms": statistics.median(site.cpu[name]),
                }
                for name, _ in site.requests
            ]
    return result


# --- Report -------------------------------------------------------------------------------------------------


def ratio(larger: float, smaller: float) -> str:
    return f"{larger / smaller:.2f}x" if smaller else "n/a"


def report(result: dict[str, Any], label: str) -> tuple[str, list[list[str]]]:
    small, large = result["sizes"][0], result["sizes"][-1]
    header = [
        "request",
        f"queries at {small:,}",
        f"queries at {large:,}",
        f"p50 at {small:,}",
        f"p50 at {large:,}",
        f"p95 at {small:,}",
        f"p95 at {large:,}",
        "p50 ratio",
        "p95 ratio",
        "CPU p50 ratio",
    ]
    rows = []
    by_name = {figure["name"]: figure for figure in result["figures"][small]}
    for figure in result["figures"][large]:
        base = by_name[figure["name"]]
        rows.append(
            [
                figure["name"],
                str(base["queries"]),
                str(figure["queries"]),
                f"{base['p50_ms']:.1f} ms",
                f"{figure['p50_ms']:.1f} ms",
                f"{base['p95_ms']:.1f} ms",
                f"{figure['p95_ms']:.1f} ms",
                ratio(figure["p50_ms"], base["p50_ms"]),
                ratio(figure["p95_ms"], base["p95_ms"]),
                f"{ratio(figure['cpu_p50_ms'], base['cpu_p50_ms'])} ({figure['cpu_p50_ms']:.1f} ms)",
            ]
        )
    print(f"\n{label}: {large:,} sessions against {small:,} (the baseline, same run)")
    for row in [header, *rows]:
        print(f"  {row[0]:<36} " + " ".join(f"{cell:>13}" for cell in row[1:]))
    return label, [header, *rows]


def sqlite_api_list(repeat: int, sizes: str) -> dict[str, Any]:
    """The API list on SQLite at 1,000 and 5,000 sessions, in a subprocess (Django holds one database per run)."""
    env = {**os.environ, "DATABASE_URL": ""}
    out = subprocess.run(
        [sys.executable, __file__, "--sizes", sizes, "--repeat", str(repeat), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"the SQLite run failed ({out.returncode})")
    result = dict(json.loads(out.stdout))
    # JSON keeps object keys as strings: the sizes are numbers again.
    for key in ("figures", "seconds", "rows"):
        result[key] = {int(size): value for size, value in result[key].items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="session counts, smallest first")
    parser.add_argument("--repeat", type=int, default=100, help="timed requests per page and size")
    parser.add_argument("--write", action="store_true", help="write the pages section of docs/performance.md")
    parser.add_argument("--rounds", type=int, default=5, help="rounds alternating between the sizes")
    parser.add_argument("--explain", action="store_true", help="print the plan of each list query at each size")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sqlite-sizes", default="1000,5000", help="session counts of the SQLite run")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite API list at 1,000 and 5,000")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    if connection.vendor == "sqlite" and not options.json:
        print(
            "note: DATABASE_URL names no PostgreSQL server, so this runs on SQLite; production figures need PostgreSQL",
            file=sys.stderr,
        )
    started = time.perf_counter()
    result = run_sizes(sizes, options.repeat, options.rounds, show_plans=options.explain)
    result["total_seconds"] = time.perf_counter() - started
    if options.json:
        print(json.dumps(result))
        return

    _, main_rows = report(result, result["database"])
    sqlite = None
    if not options.no_sqlite:
        sqlite = sqlite_api_list(options.repeat, options.sqlite_sizes)
        _, sqlite_rows = report(sqlite, sqlite["database"])
    if options.write:
        write_section("pages", markdown(result, main_rows, sqlite, sqlite_rows if sqlite else None))


def markdown(
    result: dict[str, Any], rows: list[list[str]], sqlite: dict[str, Any] | None, sqlite_rows: list[list[str]] | None
) -> str:
    small, large = result["sizes"][0], result["sizes"][-1]
    counts = result["rows"][large]
    seeding = sum(result["seconds"].values())
    parts = [
        f"On {result['database']}, {large:,} sessions against {small:,} (the baseline, measured in the same run): "
        f"{counts['notes']:,} notes and {counts['segments']:,} transcript segments "
        f"({counts['notes and segments']:,} in all), {counts['visible to the owner']:,} of the sessions in the "
        f"measured practice. Seeding took {seeding:.0f} s; the whole run {result['total_seconds'] / 60:.1f} min. "
        f"Each request was timed {result['repeat']} times per size, in {result['rounds']} rounds alternating between "
        f"the two databases, so that other work on the machine weighs on both alike (load average "
        f"{result['load_before']:.1f} before, {result['load_after']:.1f} after, on {os.cpu_count()} cores). "
        "CPU p50 is this process's own CPU time per request (Django, templates, decryption; on SQLite the "
        "database's work too), which other load changes least.",
        "",
        table(rows[0], rows[1:]),
    ]
    if sqlite is not None and sqlite_rows is not None:
        parts += [
            "",
            f"The same requests on {sqlite['database']}, {sqlite['sizes'][-1]:,} sessions against "
            f"{sqlite['sizes'][0]:,} (load average {sqlite['load_before']:.1f} before, {sqlite['load_after']:.1f} "
            "after):",
            "",
            table(sqlite_rows[0], sqlite_rows[1:]),
        ]
    return "\n".join(parts)


if __name__ == "__main__":
    run_benchmark(main)

"""Atomic local storage: a name appears only with its whole content, and nothing half-written outlives a writer."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage, storages
from django.utils import timezone

from config.storage import AtomicFileSystemStorage, is_temp_name
from jobs.purge import purge_run
from sessions.services import recording_replace
from tests.conftest import AUDIO
from tests.factories import ClinicalSessionFactory

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def storage(tmp_path: Path) -> AtomicFileSystemStorage:
    return AtomicFileSystemStorage(location=str(tmp_path), file_permissions_mode=0o600)


def _temp_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and is_temp_name(path.name)]


def test_saved_file_has_its_content_and_owner_only_permissions(storage, tmp_path):
    name = storage.save("practices/p1/sessions/s1/note.txt", ContentFile(b"first line\nsecond line\n"))

    assert name == "practices/p1/sessions/s1/note.txt"
    assert (tmp_path / name).read_bytes() == b"first line\nsecond line\n"
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert _temp_files(tmp_path) == []


def test_text_content_is_stored_as_utf8(storage, tmp_path):
    name = storage.save("notes/plan.txt", ContentFile("Plan: réévaluer dans 2 semaines"))

    assert (tmp_path / name).read_bytes() == "Plan: réévaluer dans 2 semaines".encode()


def test_new_folders_get_the_configured_mode(tmp_path):
    storage = AtomicFileSystemStorage(
        location=str(tmp_path), file_permissions_mode=0o600, directory_permissions_mode=0o700
    )

    storage.save("practices/p1/sessions/s1/a.bin", ContentFile(b"a"))

    for folder in ("practices", "practices/p1", "practices/p1/sessions", "practices/p1/sessions/s1"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700


@pytest.mark.parametrize("interruption", [OSError("disk full"), KeyboardInterrupt(), SystemExit(1)])
def test_an_interrupted_write_leaves_neither_a_temporary_nor_a_final_file(storage, tmp_path, monkeypatch, interruption):
    def copy_then_fail(self, content, handle):
        handle.write(b"half of the file")
        raise interruption

    monkeypatch.setattr(AtomicFileSystemStorage, "_copy_content", copy_then_fail)

    with pytest.raises(type(interruption)):
        storage.save("practices/p1/recording.webm", ContentFile(b"x" * 10_000))

    assert not (tmp_path / "practices/p1/recording.webm").exists()
    assert _temp_files(tmp_path) == []


def test_a_failure_to_publish_removes_the_temporary_file(storage, tmp_path, monkeypatch):
    def refuse(self, temp_path, full_path):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(AtomicFileSystemStorage, "_publish", refuse)

    with pytest.raises(PermissionError):
        storage.save("a/b.bin", ContentFile(b"data"))

    assert list(tmp_path.rglob("*.bin")) == []
    assert _temp_files(tmp_path) == []


def test_an_existing_name_is_never_overwritten(storage, tmp_path):
    first = storage.save("a/report.txt", ContentFile(b"first"))
    second = storage.save("a/report.txt", ContentFile(b"second"))

    assert second != first
    assert (tmp_path / first).read_bytes() == b"first"
    assert (tmp_path / second).read_bytes() == b"second"


def test_a_name_taken_while_writing_moves_the_new_file_to_the_next_free_name(storage, tmp_path, monkeypatch):
    target = tmp_path / "a" / "chunk.bin"
    original_copy = AtomicFileSystemStorage._copy_content

    def copy_while_another_writer_finishes(self, content, handle):
        original_copy(self, content, handle)
        target.write_bytes(b"the other writer's file")

    monkeypatch.setattr(AtomicFileSystemStorage, "_copy_content", copy_while_another_writer_finishes)

    name = storage.save("a/chunk.bin", ContentFile(b"ours"))

    assert name != "a/chunk.bin"
    assert target.read_bytes() == b"the other writer's file"
    assert (tmp_path / name).read_bytes() == b"ours"
    assert _temp_files(tmp_path) == []


def test_a_storage_that_allows_overwrite_replaces_the_file_whole(tmp_path):
    storage = AtomicFileSystemStorage(location=str(tmp_path), file_permissions_mode=0o600, allow_overwrite=True)
    storage.save("a/export.docx", ContentFile(b"old"))

    name = storage.save("a/export.docx", ContentFile(b"new"))

    assert name == "a/export.docx"
    assert (tmp_path / name).read_bytes() == b"new"
    assert _temp_files(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the synced descriptors")
def test_the_file_and_its_folder_are_flushed_to_disk_before_the_save_returns(storage, tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(str(Path(f"/proc/self/fd/{descriptor}").readlink()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)

    storage.save("a/b/c.bin", ContentFile(b"durable"))

    assert any(is_temp_name(Path(path).name) and Path(path).parent == tmp_path / "a" / "b" for path in synced)
    assert str(tmp_path / "a" / "b") in synced
    # The new folders' entries too.
    assert str(tmp_path / "a") in synced
    assert str(tmp_path) in synced


def test_a_file_handle_is_streamed_to_storage(storage, tmp_path):
    source = AUDIO / "jfk.flac"
    with source.open("rb") as handle:
        name = storage.save("practices/p1/recording.flac", File(handle))

    assert (tmp_path / name).read_bytes() == source.read_bytes()


def test_recordings_are_stored_through_the_atomic_storage_when_it_is_the_default(settings, alice):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "config.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(settings.MEDIA_ROOT), "file_permissions_mode": 0o600},
        },
    }
    session = ClinicalSessionFactory(practice=alice.memberships.get().practice, clinician=alice)

    recording = recording_replace(
        session=session, upload_path=AUDIO / "jfk.flac", original_filename="jfk.flac", uploaded_by=alice
    )

    assert isinstance(storages["default"], AtomicFileSystemStorage)
    stored = Path(default_storage.path(recording.file.name))
    assert stored.read_bytes() == (AUDIO / "jfk.flac").read_bytes()
    assert _temp_files(stored.parent) == []


# A process that writes a large file through the storage, slowly, and says when it is halfway.
_WRITER = r"""
import sys, time
import django
from django.conf import settings
settings.configure(USE_TZ=True, MEDIA_ROOT=sys.argv[1])
django.setup()
from django.core.files.base import File
from config.storage import AtomicFileSystemStorage

class SlowLargeFile(File):
    def chunks(self, chunk_size=None):
        block = b"\0" * (1 << 20)
        yield block
        print("writing", flush=True)
        for _ in range(100):
            time.sleep(0.05)
            yield block

AtomicFileSystemStorage(file_permissions_mode=0o600).save(sys.argv[2], SlowLargeFile(None, name="big.bin"))
print("finished", flush=True)
"""


@pytest.mark.django_db
def test_a_killed_writer_leaves_no_final_file_and_its_temporary_file_is_swept_after_the_grace_period(
    settings, tmp_path
):
    media = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "config.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(media), "file_permissions_mode": 0o600},
        },
    }
    name = f"practices/{uuid.uuid4()}/sessions/{uuid.uuid4()}/recording-{uuid.uuid4()}.webm"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(media), name], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()

    assert writer.returncode == -signal.SIGKILL
    assert not (media / name).exists()
    left = _temp_files((media / name).parent)
    assert len(left) == 1

    purge_run()
    assert left[0].exists(), "a temporary file younger than the grace period may still be written to"

    run = purge_run(now=timezone.now() + dt.timedelta(hours=2))
    assert not left[0].exists()
    assert run.counts["temp_files"] == 1
    assert not (media / name).exists()

"""Local file storage whose saves are atomic: nobody, not even after a crash, finds half a file under its name.

Each save writes a temporary file in the destination folder (``.<name>.<random>.tmp``), flushes and fsyncs it,
moves it to its final name in one step and fsyncs the folder, so the name appears only with its whole content and
survives a power cut once ``save`` has returned. Whatever interrupts the write (an error, Ctrl-C, SystemExit) the
temporary file is removed. Only a process killed outright (SIGKILL, power loss) can leave one behind; those are
never referenced by a row and the retention purge (``jobs.purge``) deletes them once they are older than its grace
period.

A name that already exists is never overwritten: as with Django's FileSystemStorage, ``save`` asks
``get_available_name`` for a free name, and if another writer takes that name meanwhile, the next free one is used.
Callers that want a fixed name delete the old file first (``jobs.artifacts``). With ``allow_overwrite=True`` the
new file replaces the old one in one step.

S3 (django-storages' S3Storage) needs none of this: an object becomes visible only when its single PUT, or the
completion of its multipart upload (large files), succeeds. An interrupted multipart upload leaves only invisible
parts, which a lifecycle rule on the bucket (``AbortIncompleteMultipartUpload``) removes.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

from config.metrics import STORAGE_SECONDS, timed

TEMP_SUFFIX = ".tmp"
# The temporary name must stay within the 255 bytes most file systems allow for one name.
_TEMP_STEM_MAX = 200
# Hard links are how a file is published without overwriting; these errors mean the file system has none.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV})


def is_temp_name(basename: str) -> bool:
    """Whether a stored file's base name is one of this storage's temporary files."""
    return basename.startswith(".") and basename.endswith(TEMP_SUFFIX)


class MeasuredStorageMixin:
    """Times saves, opens and deletes for the metrics (``sessionscribe_storage_seconds``), on any backend."""

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        with timed(STORAGE_SECONDS, operation="save"):
            return super().save(name, content, max_length=max_length)  # type: ignore[misc, no-any-return]

    def open(self, name: str, mode: str = "rb") -> File[Any]:
        with timed(STORAGE_SECONDS, operation="open"):
            return super().open(name, mode)  # type: ignore[misc, no-any-return]

    def delete(self, name: str) -> None:
        with timed(STORAGE_SECONDS, operation="delete"):
            super().delete(name)  # type: ignore[misc]


@deconstructible(path="config.storage.AtomicFileSystemStorage")
class AtomicFileSystemStorage(MeasuredStorageMixin, FileSystemStorage):
    def _save(self, name: str, content: File[Any]) -> str:
        full_path = Path(self.path(name))
        directory = full_path.parent
        self._make_directories(directory)
        descriptor, temp_name = tempfile.mkstemp(
            prefix=f".{full_path.name[:_TEMP_STEM_MAX]}.", suffix=TEMP_SUFFIX, dir=directory
        )
        temp_path = Path(temp_name)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                self._copy_content(content, handle)
                handle.flush()
                os.fsync(handle.fileno())
            if self.file_permissions_mode is not None:
                # Set before the file has its name, so it is never readable by more than it should be.
                temp_path.chmod(self.file_permissions_mode)
            while True:
                try:
                    self._publish(temp_path, full_path)
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = Path(self.path(name))
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        _fsync_directory(directory)
        # Same group as the storage root, as FileSystemStorage does.
        self._ensure_location_group_id(str(full_path))  # type: ignore[attr-defined]
        return full_path.relative_to(self.location).as_posix()

    def _copy_content(self, content: File[Any], handle: IO[bytes]) -> None:
        """Stream the content into the open temporary file a chunk at a time: uploads are never held whole."""
        for chunk in content.chunks():
            handle.write(chunk.encode() if isinstance(chunk, str) else chunk)

    def _publish(self, temp_path: Path, full_path: Path) -> None:
        """Give the complete temporary file its final name in one step; FileExistsError if the name is taken."""
        if getattr(self, "_allow_overwrite", False):
            temp_path.replace(full_path)
            return
        try:
            # Unlike a rename, a link fails when the name exists, so another writer's file is never replaced.
            full_path.hardlink_to(temp_path)
        except FileExistsError:
            raise
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            # Without hard links, check then rename: only a writer choosing the very same name at the same instant
            # could be overwritten, and stored names carry unique ids.
            if full_path.is_symlink() or full_path.exists():
                raise FileExistsError(errno.EEXIST, "File exists", str(full_path)) from None
            temp_path.replace(full_path)
            return
        temp_path.unlink()

    def _make_directories(self, directory: Path) -> None:
        missing: list[Path] = []
        current = directory
        while not current.is_dir() and current != current.parent:
            missing.append(current)
            current = current.parent
        mode = self.directory_permissions_mode
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=mode if mode is not None else 0o777)
            except FileExistsError:
                if not folder.is_dir():
                    raise FileExistsError(f"{folder} exists and is not a directory.") from None
                continue
            if mode is not None:
                # mkdir's mode is masked by the umask; the configured mode is meant exactly.
                folder.chmod(mode)
            # A new folder's entry lives in its parent: fsync the parent so the folder survives a power cut too.
            _fsync_directory(folder.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        # Some platforms (Windows) cannot open a folder; their rename is durable without it.
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(descriptor)

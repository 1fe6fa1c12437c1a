"""Local copies of stored files, for the audio libraries that need a path."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import default_storage


@contextmanager
def local_copy(storage_name: str, *, suffix: str = "") -> Iterator[Path]:
    """A path to the stored file: the file itself on local storage, else a temporary download removed after."""
    try:
        local = default_storage.path(storage_name)
    except NotImplementedError:
        local = None
    if local is not None:
        yield Path(local)
        return
    with tempfile.TemporaryDirectory(prefix="sessionscribe-") as folder:
        target = Path(folder) / f"media{suffix or Path(storage_name).suffix}"
        with default_storage.open(storage_name, "rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, length=1024 * 1024)
        yield target


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sessionscribe-job-") as folder:
        yield Path(folder)

"""S3-compatible storage (django-storages), with its operations timed for the metrics like the local one's."""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from config.storage import MeasuredStorageMixin


class MeasuredS3Storage(MeasuredStorageMixin, S3Storage):  # type: ignore[misc]  # django-storages ships no types
    pass

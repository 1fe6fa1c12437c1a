"""A pipeline worker loads what its jobs need as soon as it starts, not on its first job's critical path.

Importing the providers' SDKs takes a second or more (pydantic builds thousands of models), and the faithfulness
checker reads its drug lexicon once per process; left to the first job, both would add to the time from upload to
note. django-q2 sends ``post_spawn`` in each worker process it starts (and restarts, after ``recycle`` tasks),
before the worker takes a task.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def warm_worker(**kwargs: Any) -> None:
    """Import the pipeline and build the configured providers (no request is sent), and read the drug lexicon."""
    try:
        import jobs.tasks  # noqa: F401 — the pipeline's stages and everything they import
        from jobs.providers.base import ProviderError
        from jobs.providers.factory import get_drafter, get_transcriber
        from notes.faithfulness.drugs import lexicon

        try:
            get_transcriber()
            get_drafter()
        except ProviderError:
            pass  # AI switched off: jobs fail at once, there is nothing to load for them
        lexicon()
    except Exception:  # a worker that could not warm up still works, only its first job is slower
        logger.warning("worker warm-up failed; the first job loads what it needs", exc_info=True)

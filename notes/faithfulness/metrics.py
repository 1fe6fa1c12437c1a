"""Where the checker's flags are counted: ``sessionscribe_faithfulness_flags_total{kind}``.

The pipeline and the note services call ``record_flags`` with the kinds of the flags they have just raised; the
counter lives with the other metrics in ``config.metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.metrics import faithfulness_flag_counted


def record_flags(kinds: Iterable[str]) -> None:
    """Count flags newly raised, one per kind given (a kind given twice counts twice)."""
    for kind in kinds:
        faithfulness_flag_counted(str(kind))

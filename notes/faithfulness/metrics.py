"""Where the checker's flags are counted: ``sessionscribe_faithfulness_flags_total{kind}``.

A leaf: the pipeline and the note services call ``record_flags`` with the kinds of the flags they have just
raised. The Prometheus registry (``config.metrics``, with its ``faithfulness_flag_counted(kind)``) is not part of
this code yet; until it is, this records nothing, and wiring it in is one call here per kind.
"""

from __future__ import annotations

from collections.abc import Iterable


def record_flags(kinds: Iterable[str]) -> None:
    """Count flags newly raised, one per kind given (a kind given twice counts twice)."""
    for _kind in kinds:
        pass

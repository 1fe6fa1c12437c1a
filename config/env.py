"""Typed readers for environment variables, used only by config.settings.

A value that cannot be read is not fatal at import time: it is recorded in
``PROBLEMS`` and the default is used, so that ``manage.py check`` (run at every
start) can report every misconfiguration at once, naming the variable to fix.
"""

from __future__ import annotations

import os

PROBLEMS: list[tuple[str, str]] = []


def _raw(name: str) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip()


def env_str(name: str, default: str = "") -> str:
    raw = _raw(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool = False) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    PROBLEMS.append((name, f"{name} must be true or false, not {raw!r}."))
    return default


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        PROBLEMS.append((name, f"{name} must be a whole number, not {raw!r}."))
        return default
    if minimum is not None and value < minimum:
        PROBLEMS.append((name, f"{name} must be at least {minimum}, not {value}."))
        return default
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        PROBLEMS.append((name, f"{name} must be one of {', '.join(choices)}, not {raw!r}."))
        return default
    return raw.lower()


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = _raw(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]

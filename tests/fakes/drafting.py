"""What the fake drafting APIs "write" by default: one statement per requested section, citing a segment
listed in the prompt, so that a whole pipeline runs against the fakes without a script."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SEGMENT_LINE = re.compile(r"^\[(\d+)\]", re.MULTILINE)


def section_keys(schema: Any) -> list[str]:
    """The section keys a note schema allows (``sections[].key`` enum), or one generic section."""
    try:
        keys = schema["properties"]["sections"]["items"]["properties"]["key"]["enum"]
    except (KeyError, TypeError):
        return ["summary"]
    return [str(key) for key in keys]


def prompt_text(messages: object) -> str:
    """All text of chat or Messages API ``messages`` (string contents or lists of text blocks)."""
    parts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(block.get("text", "")) for block in content if isinstance(block, Mapping))
    return "\n".join(parts)


def default_draft(schema: Any, prompt: str) -> dict[str, Any]:
    ids = [int(match) for match in SEGMENT_LINE.findall(prompt)]
    return {
        "sections": [
            {
                "key": key,
                "statements": [
                    {"text": f"Demo statement for {key}.", "evidence": [ids[index % len(ids)]] if ids else []}
                ],
            }
            for index, key in enumerate(section_keys(schema))
        ]
    }

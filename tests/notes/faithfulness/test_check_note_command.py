"""``manage.py check_note --jsonl`` in a fresh process, with a database URL that leads nowhere."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError

from tests.notes.faithfulness.conftest import load_excerpts

ROOT = Path(__file__).resolve().parents[3]
NOWHERE = "postgres://nobody@127.0.0.1:1/none"


def run(lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DATABASE_URL": NOWHERE, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"})
    return subprocess.run(
        [sys.executable, "manage.py", "check_note", "--jsonl"],
        check=False,
        cwd=ROOT,
        env=env,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_note_answers_each_line_in_order_without_a_database():
    visit = load_excerpts()["D2N001"]
    wrong_dose = visit["note"].replace("lisinopril to 40 mg", "lisinopril to 60 mg")
    api_transcript = {
        "segments": [
            {"id": 40 + i, "start": float(i), "end": i + 1.0, "speaker": "doctor", "text": text}
            for i, text in enumerate(["i'm starting you on metformin five hundred milligrams twice a day ."])
        ]
    }
    result = run(
        [
            json.dumps({"id": "faithful", "transcript": visit["dialogue"], "note": visit["note"]}),
            json.dumps({"id": 2, "transcript": visit["dialogue"], "note": wrong_dose}),
            json.dumps({"id": "json", "transcript": api_transcript, "note": "## Plan\nMetformin 500 mg daily."}),
        ]
    )
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [output["id"] for output in outputs] == ["faithful", 2, "json"]

    faithful = outputs[0]["statements"]
    assert {s["section"] for s in faithful} == {"HISTORY OF PRESENT ILLNESS", "ASSESSMENT AND PLAN"}
    assert all(s["flags"] == [] for s in faithful)

    flagged = [s for s in outputs[1]["statements"] if s["flags"]]
    assert [s["text"] for s in flagged] == [
        "We will increase her lisinopril to 60 mg daily and initiate Lasix 20 mg daily."
    ]
    flag = flagged[0]["flags"][0]
    assert set(flag) == {"kind", "message", "evidence", "said"}
    assert flag["kind"] == "dose"
    assert flag["said"] == "40 milligrams"

    plan = outputs[2]["statements"]
    assert [(s["section"], [f["kind"] for f in s["flags"]]) for s in plan] == [("Plan", ["dose"])]
    assert plan[0]["flags"][0]["evidence"] == [40]


def test_a_bad_line_gets_an_error_line_and_the_others_are_still_checked():
    good = json.dumps({"id": "ok", "transcript": "[patient] my knee hurts .", "note": "HPI\nKnee pain."})
    result = run(
        [
            "{not json",
            good,
            json.dumps({"id": "no-note", "transcript": "[patient] hello"}),
            json.dumps({"id": "bad-transcript", "transcript": 7, "note": "x"}),
            "",
            json.dumps(["not", "an", "object"]),
        ]
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(output["id"], "error" in output) for output in outputs] == [
        (None, True),
        ("ok", False),
        ("no-note", True),
        ("bad-transcript", True),
        (None, True),
    ]
    assert outputs[2]["error"] == 'There is no "note".'


def test_omitted_risks_come_last_in_an_entry_without_a_section():
    transcript = "[doctor] are you taking your inhaler ?\n[patient] no , i ran out of it last month ."
    result = run([json.dumps({"id": 1, "transcript": transcript, "note": "ASSESSMENT\nAsthma, stable."})])
    statements = json.loads(result.stdout)["statements"]
    assert (statements[-1]["section"], statements[-1]["text"]) == ("", "")
    assert [flag["kind"] for flag in statements[-1]["flags"]] == ["omitted_risk"]
    assert statements[-1]["flags"][0]["evidence"] == [0, 1]


def call(monkeypatch, lines: list[object], *args: str) -> tuple[list[dict[str, Any]], str | None]:
    """The command in this process, for the shapes of input a subprocess run need not repeat."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(json.dumps(line) for line in lines) + "\n"))
    out = io.StringIO()
    try:
        call_command("check_note", *args, stdout=out)
    except CommandError as error:
        return [json.loads(line) for line in out.getvalue().splitlines()], str(error)
    return [json.loads(line) for line in out.getvalue().splitlines()], None


def test_a_note_in_the_apis_json_keeps_its_sections_and_cited_segments(monkeypatch):
    transcript = "[patient] my knee hurts .\n[doctor] i'm prescribing meloxicam fifteen milligrams daily ."
    note = {
        "sections": [
            {"key": "plan", "heading": "Plan", "statements": [{"text": "Meloxicam 15 mg daily.", "evidence": [1]}]},
            {"key": "assessment", "heading": "Assessment", "text": "Knee pain. Started ibuprofen 800 mg."},
        ]
    }
    outputs, error = call(monkeypatch, [{"id": "n1", "transcript": transcript, "note": note}], "--jsonl")
    assert error is None
    statements = outputs[0]["statements"]
    assert [(s["section"], s["text"]) for s in statements] == [
        ("Plan", "Meloxicam 15 mg daily."),
        ("Assessment", "Knee pain."),
        ("Assessment", "Started ibuprofen 800 mg."),
    ]
    assert [[f["kind"] for f in s["flags"]] for s in statements] == [[], [], ["medication"]]


def test_malformed_notes_are_error_lines_with_a_reason(monkeypatch):
    lines = [
        {"id": 1, "transcript": "[patient] hi", "note": 7},
        {"id": 2, "transcript": "[patient] hi", "note": {"sections": ["not an object"]}},
        {"id": 3, "transcript": "[patient] hi", "note": {"sections": [{"statements": [{"text": "x", "evidence": 5}]}]}},
        {"id": 4, "transcript": "[patient] hi", "note": {"sections": [{"heading": "A", "text": ["x"]}]}},
        {"id": 5, "transcript": "{not json", "note": "x"},
        {"transcript": "[patient] hi", "note": "x"},
    ]
    outputs, error = call(monkeypatch, lines, "--jsonl")
    assert error == "6 input line(s) could not be checked; see their error lines."
    assert [output["id"] for output in outputs] == [1, 2, 3, 4, 5, None]
    assert [output["error"] for output in outputs] == [
        'The "note" must be text, or an object with a "sections" list.',
        "Note section 0 is not an object.",
        "A statement of note section 0 has evidence that is not a list of ids.",
        "Note section 0 has a text that is not text.",
        "The transcript looks like JSON but is not: Expecting property name enclosed in double quotes.",
        'Line 6 has no "id".',
    ]


def test_the_command_asks_for_jsonl(monkeypatch):
    outputs, error = call(monkeypatch, [])
    assert outputs == []
    assert error == "Say --jsonl: this command reads JSON lines on standard input."

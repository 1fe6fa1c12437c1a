"""A worker process loads the pipeline, the providers' SDKs and the drug lexicon when it starts, so that the first
job it takes does not wait for them."""

from __future__ import annotations

import sys

from django_q.signals import post_spawn

from notes.faithfulness.drugs import lexicon


def test_a_new_worker_loads_what_its_first_job_needs_before_taking_it(settings, monkeypatch):
    settings.AI_MODE = "live"
    settings.OPENAI_API_KEY = "sk-test"
    settings.DRAFTING_PROVIDER = "anthropic"
    settings.ANTHROPIC_API_KEY = "sk-ant-test"
    lexicon.cache_clear()
    for name in [name for name in sys.modules if name.startswith("jobs.providers.anthropic")]:
        monkeypatch.delitem(sys.modules, name)
    post_spawn.send(sender="django_q", proc_name="Worker-1")
    assert lexicon.cache_info().currsize == 1
    assert "jobs.tasks" in sys.modules
    assert "jobs.providers.anthropic_drafter" in sys.modules
    assert "anthropic" in sys.modules


def test_a_worker_with_ai_switched_off_starts_all_the_same(settings):
    settings.AI_MODE = "off"
    post_spawn.send(sender="django_q", proc_name="Worker-1")

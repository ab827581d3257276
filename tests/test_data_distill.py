"""galen data distill: the keep/reject loop on a fixed fake teacher, resuming from the call cache,
and the command against a real `galen serve`, killed after its first shard and run again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from galen.data.build import build
from galen.data.distill import Teacher, distill_item, run_distill
from galen.data.manifest import verify
from galen.data.recipe import DistillConfig, load_recipe
from galen.data.record import Message, Record
from galen.errors import BadRequest
from galen.evals.clients import Answer, GenParams

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"


def answer(content: str, reasoning: str | None = "thinking", finish: str = "stop") -> Answer:
    return Answer(content, reasoning, finish, 10, 5, 2)


def scripted(replies: list[Answer], calls: list | None = None) -> Teacher:
    """A teacher that answers from a fixed list, in order, and records what it was asked."""
    queue = list(replies)

    async def ask(messages, params: GenParams) -> Answer:
        if calls is not None:
            calls.append((messages, params))
        return queue.pop(0)

    return Teacher(ask, "fake-teacher", "http://fake/v1")


def choice_record() -> Record:
    return Record(
        id="s:0",
        source="s",
        format="jsonl",
        revision="local",
        file="f.jsonl",
        file_sha256="0" * 64,
        split="train",
        row=0,
        source_id="0",
        licence="MIT",
        kind="choice",
        question="Q?",
        options={"A": "x", "B": "y", "C": "z"},
        answer="C",
        messages=[
            Message(role="user", content="Q?\n\nA. x\nB. y\nC. z"),
            Message(role="assistant", content='{"answer": "C"}'),
        ],
    )


def test_keeps_the_first_reply_with_the_gold_answer():
    calls: list = []
    teacher = scripted(
        [answer('{"answer": "A"}'), answer("no idea"), answer('z it is. {"answer": "C"}', "C fits best")],
        calls,
    )
    outcome = asyncio.run(distill_item(choice_record(), teacher, DistillConfig(tries=8, seed=7)))
    kept = outcome.kept
    assert kept is not None and [a["answer"] for a in outcome.attempts] == ["A", None, "C"]
    assert kept.generation.tries == 3 and kept.generation.teacher == "fake-teacher"
    assert kept.generation.sampling["seed"] == 9 and kept.generation.finish_reason == "stop"
    assert kept.messages[-1] == Message(
        role="assistant", content='z it is. {"answer": "C"}', reasoning="C fits best"
    )
    assert kept.messages[0] == choice_record().messages[0] and kept.id == "s:0"
    assert [p.seed for _, p in calls] == [7, 8, 9] and len(kept.generation.prompt_sha256) == 64


def test_rejects_after_the_last_try_and_a_cut_off_thought_is_no_answer():
    replies = [answer("", "I think it is C", finish="length")] + [answer('{"answer": "B"}')] * 2
    outcome = asyncio.run(distill_item(choice_record(), scripted(replies), DistillConfig(tries=3)))
    assert outcome.kept is None
    assert [(a["answer"], a["finish_reason"]) for a in outcome.attempts] == [
        (None, "length"),
        ("B", "stop"),
        ("B", "stop"),
    ]


def test_label_items_use_the_label_extractor():
    record = choice_record().model_copy(update={"kind": "label", "options": {}, "answer": "maybe"})
    outcome = asyncio.run(distill_item(record, scripted([answer("Final decision: maybe.")]), DistillConfig()))
    assert outcome.kept is not None and outcome.kept.generation.tries == 1


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("distill") / "build"
    recipe = load_recipe(SAMPLES / "recipe.yaml").model_copy(update={"output": str(out)})
    build(recipe)
    return out


def right_then_wrong(calls: list):
    """A teacher whose odd calls answer an option that does not exist and even calls say "yes":
    only yes/no/maybe items whose gold is yes are kept, each on its second try."""

    async def ask(messages, params):
        calls.append(messages)
        return answer('{"answer": "Z"}' if len(calls) % 2 else "Final decision: yes")

    return Teacher(ask, "fake", "http://fake/v1")


def test_run_writes_shards_exports_and_resumes_from_the_cache(built, tmp_path):
    settings = DistillConfig(tries=2, shard_size=4, concurrency=1)
    calls: list = []
    out = tmp_path / "d"
    first = run_distill(built, out, "http://fake/v1", settings, teacher=right_then_wrong(calls))
    assert first.items == 21 and first.kept + first.rejected == 21 and first.asked_calls == len(calls) == 42
    kept = [json.loads(line) for line in (out / "shards" / "kept-00000.jsonl").read_text().splitlines()]
    assert first.kept == 3 and all(r["answer"] == "yes" and r["generation"]["tries"] == 2 for r in kept)
    assert sorted(p.name for p in (out / "shards").iterdir())[:2] == ["kept-00000.jsonl", "kept-00001.jsonl"]
    assert verify(out).ok and (out / "export" / "sft.jsonl").is_file()
    again = run_distill(built, out, "http://fake/v1", settings, teacher=right_then_wrong(calls := []))
    assert again.resumed_shards == 6 and calls == [] and again.kept == first.kept


def test_a_failed_run_resumes_without_asking_again(built, tmp_path):
    settings = DistillConfig(tries=1, shard_size=3, concurrency=1, limit=6)
    asked: list = []

    async def flaky(messages, params):
        asked.append(messages)
        if len(asked) == 5:
            raise BadRequest("teacher", "connection reset")
        return answer("no answer here")

    with pytest.raises(BadRequest):
        run_distill(built, tmp_path / "d", "u", settings, teacher=Teacher(flaky, "m", "u"))
    assert (tmp_path / "d" / "shards" / "kept-00000.jsonl").exists()
    assert not (tmp_path / "d" / "shards" / "kept-00001.jsonl").exists()
    later: list = []

    async def steady(messages, params):
        later.append(messages)
        return answer("no answer here")

    result = run_distill(built, tmp_path / "d", "u", settings, teacher=Teacher(steady, "m", "u"))
    answered = [m for k, m in enumerate(asked) if k != 4]  # every call but the one that failed
    assert result.resumed_shards == 1 and result.cached_calls + len(later) == 3
    assert later and not any(m in answered for m in later) and asked[4] in later
    with pytest.raises(BadRequest, match="other settings"):
        run_distill(
            built,
            tmp_path / "d",
            "u",
            settings.model_copy(update={"tries": 3}),
            teacher=Teacher(steady, "m", "u"),
        )


def test_distill_against_the_embedded_server_survives_a_kill(server, tmp_path):
    """The command on a real galen serve: killed once its first shard is written, run again, it
    finishes without redoing that shard or asking any call twice. Short items (MedMCQA-style
    questions) keep the calls quick on a busy CPU; the tiny model is rarely right, which is fine."""
    recipe = {
        "name": "short",
        "output": "build",
        "sources": [{"format": "medmcqa"}],
        "decontamination": {"tasks": ["medmcqa"]},
        "distill": {"shard_size": 1, "concurrency": 1, "tries": 2, "max_tokens": 16, "temperature": 0.8},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    build(load_recipe(path))
    out = tmp_path / "d"
    command = [
        sys.executable,
        "-m",
        "galen.cli.main",
        "data",
        "distill",
        str(path),
        "--teacher",
        server.base_url,
    ]
    command += ["--output", str(out), "--limit", "3"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    first = out / "shards" / "kept-00000.jsonl"
    deadline = time.monotonic() + 120
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stdout.read().decode()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = first.stat().st_mtime_ns
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "resumed" in done.stdout and first.stat().st_mtime_ns == before
    assert sorted(p.name for p in (out / "shards").glob("kept-*")) == [
        f"kept-0000{k}.jsonl" for k in range(3)
    ]
    keys = [json.loads(line)["key"] for line in (out / "cache" / "calls.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) and len(keys) <= 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["items"] == 3 and manifest["log"][0]["details"]["resumed_shards"] >= 1
    assert verify(out).ok

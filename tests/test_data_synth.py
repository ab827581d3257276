"""galen data synth: guideline ingest, the three generators' readers and checks, the teacher pool,
and the command against two real `galen serve` processes (killed after its first shard, resumed),
its items then built into a corpus like any source.

A scripted teacher is used only where a real one cannot give the needed shape on cue: a reply
that passes every check (to check what a kept record carries), a reply that is malformed on
every try, a verify verdict, what a server says it can do, and two slow servers whose load can
be compared. Everything else runs on the embedded SmolLM2 through galen serve, its replies
constrained to each generator's JSON Schema: the recipe with all three components is built from
what it makes. Its items are poor: the tests check that each verdict is honest (a kept quote is
in its chunk, a kept MCQ's gold letter is one of its options), not that items are good.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from galen.data.build import build
from galen.data.distill import Teacher
from galen.data.generators import (
    GENERATORS,
    Rejected,
    clinical_vignette,
    exam_mcq,
    grounded_qa,
    labelled,
    read_json_reply,
)
from galen.data.guidelines import HUB_LICENCE, REVISION, chunk_text, ingest
from galen.data.manifest import verify
from galen.data.recipe import load_recipe, parse_recipe
from galen.data.synth import run_synth
from galen.data.synth_schemas import response_format, schema, schema_sha256
from galen.data.teachers import TeacherPool
from galen.engine.endpoint import Answer
from galen.errors import BadRequest

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"
PASSAGE = (
    "Treat fever after travel to a malaria-endemic area as malaria until proven otherwise. Send a "
    "thick and thin blood film on the same day, and repeat it at 12 to 24 hours if it is negative."
)


def test_chunks_keep_paragraphs_and_stay_under_the_limit():
    text = "\n\n".join(f"Para {k} " + "word " * (10 * k) + "end." for k in range(1, 6))
    chunks = chunk_text(text, 25)
    assert all(len(c.split()) <= 25 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())  # nothing lost or reordered
    assert chunk_text("A b.\n\nC d.", 10) == ["A b.\n\nC d."]


def test_the_sample_ingests_with_provenance():
    read = ingest(None, Path("."), chunk_words=100)
    assert read.where == "sample:guidelines" and not read.skipped
    assert {d.file for d in read.documents} == {
        "community_acquired_pneumonia.txt",
        "fever_in_returning_travellers.md",
        "guidelines.jsonl",
    }
    for doc in read.documents:
        assert "NOT real guidance" in doc.title and doc.licence == "Apache-2.0" and doc.revision == "sample"
        assert len(doc.file_sha256) == 64 and len(doc.sha256) == 64 and doc.source == "galen-sample"
    assert len(read.chunks) == 8 and read.chunks[0].id == f"{read.documents[0].id}#0"
    assert all(20 <= len(c.text.split()) <= 100 for c in read.chunks)


def test_unreadable_guideline_files_are_counted_and_the_rest_is_read(tmp_path):
    (tmp_path / "good.md").write_text("# Good\n\n" + "Offer a test to every adult. " * 8)
    (tmp_path / "latin1.txt").write_bytes("Fièvre ".encode("latin-1") * 30)
    row = {"id": "x", "clean_text": "Offer a test to every adult. " * 8}
    (tmp_path / "broken.jsonl").write_text(json.dumps(row) + "\n{not json\n" + json.dumps(row) + "\n")
    (tmp_path / "empty.md").write_text("---\ntitle: nothing here\n---\n")
    read = ingest(str(tmp_path), tmp_path)
    assert [d.id for d in read.documents] == ["x", "good"] and read.documents[1].title == "Good"
    assert read.skipped == {
        "unreadable file: not UTF-8 text": 1,
        "jsonl row: not valid JSON": 1,
        "duplicate document id": 1,
        "no text": 1,
    }
    (tmp_path / "good.md").unlink()
    (tmp_path / "broken.jsonl").unlink()
    with pytest.raises(BadRequest, match="no guideline could be read") as error:
        ingest(str(tmp_path), tmp_path)
    assert "\n" not in error.value.message


HUB_ROWS = [
    {
        "id": f"hub-{k}",
        "source": "cdc",
        "title": f"Made-up guideline {k}",
        "clean_text": "Offer every adult a made-up screening test once a year. " * 5,
        "raw_text": "raw",
        "url": f"https://example.org/{k}",
        "overview": "",
    }
    for k in range(3)
]


@pytest.fixture()
def fake_hub(tmp_path):
    """A loopback HTTP server that answers the two hub calls a pinned snapshot download makes (the
    file list at the revision, then the file), serving made-up rows in epfl-llm/guidelines' format.
    Nothing leaves 127.0.0.1; the hub client and galen's hub code path run unchanged."""
    body = "".join(json.dumps(r) + "\n" for r in HUB_ROWS).encode()
    etag = hashlib.sha256(body).hexdigest()
    seen: list[str] = []

    class Hub(http.server.BaseHTTPRequestHandler):
        def _file(self, send_body: bool) -> None:
            seen.append(f"{self.command} {self.path}")
            if "/tree/" in self.path:
                listing = [
                    {"type": "file", "path": "open_guidelines.jsonl", "size": len(body), "oid": etag[:40]}
                ]
                data = json.dumps(listing).encode()
                headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
            elif self.path.endswith("/resolve/" + REVISION + "/open_guidelines.jsonl"):
                data = body
                headers = {"X-Repo-Commit": REVISION, "ETag": f'"{etag}"', "Content-Length": str(len(body))}
            else:
                self.send_error(404)
                return
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if send_body:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._file(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._file(False)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    env = {
        **os.environ,
        "HF_ENDPOINT": f"http://127.0.0.1:{httpd.server_address[1]}",
        "HF_HUB_OFFLINE": "0",
        "HF_HUB_CACHE": str(tmp_path / "hub-cache"),
        "HF_HUB_DISABLE_XET": "1",
    }
    yield env, seen
    httpd.shutdown()


INGEST = (
    "import json, sys; from pathlib import Path; from galen.data.guidelines import ingest;"
    "r = ingest(sys.argv[1], Path('.'), chunk_words=40);"
    "print(json.dumps([d.summary() for d in r.documents] + [len(r.chunks)]))"
)


def test_the_hub_corpus_is_read_at_its_pinned_revision(fake_hub):
    env, seen = fake_hub
    done = subprocess.run(
        [sys.executable, "-c", INGEST, "hub"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *docs, chunks = json.loads(done.stdout)
    assert [d["id"] for d in docs] == ["hub-0", "hub-1", "hub-2"] and chunks == 3
    assert all(d["revision"] == REVISION and d["licence"] == HUB_LICENCE for d in docs)
    assert docs[0]["url"] == "https://example.org/0" and docs[0]["file"] == "open_guidelines.jsonl"
    assert any(f"/resolve/{REVISION}/open_guidelines.jsonl" in line for line in seen)
    env["HF_HUB_OFFLINE"] = "1"  # and nothing cached: the one-line error names the pinned revision
    env["HF_HUB_CACHE"] += "-empty"
    failed = subprocess.run([sys.executable, "-c", INGEST, "hub"], capture_output=True, text=True, env=env)
    assert failed.returncode != 0 and "could not get epfl-llm/guidelines@a8f026947108" in failed.stderr


def test_grounded_qa_accepts_only_a_quote_from_the_passage():
    reply = (
        "**Question:** When should the film be repeated?\nAnswer: At 12 to 24 hours.\n"
        'Quote: "repeat it at 12 to 24 HOURS, if it is negative"'
    )
    draft = grounded_qa(reply, PASSAGE, 6)
    assert draft.question == "When should the film be repeated?" and draft.reply == "At 12 to 24 hours."
    assert draft.check == {"method": "quote", "passed": True, "quote_words": 11, "copied_words": 11}
    trimmed = grounded_qa(reply.replace("repeat it", "so do it"), PASSAGE, 6)  # 10 of 12 words copied
    assert trimmed.check["copied_words"] == 10
    reworded = reply.replace("repeat it at 12 to 24 HOURS", "do it again half a day later")
    for bad, kind in [(reworded, "ungrounded"), (reply.split("Quote")[0], "malformed")]:
        with pytest.raises(Rejected) as rejected:
            grounded_qa(bad, PASSAGE, 6)
        assert rejected.value.kind == kind
    with pytest.raises(Rejected, match="needs 12"):
        grounded_qa(reply, PASSAGE, 12)
    with pytest.raises(Rejected, match="ungrounded"):  # a word cut short is not the passage's word
        grounded_qa(reply.replace("repeat it at 12 to", "epeat it at 1 t"), PASSAGE, 6)


def test_exam_mcq_needs_four_distinct_options_and_a_gold_letter_among_them():
    reply = "Question: After travel with fever, what first?\nA. Blood film\nB) Wait\nC. Scan\nD. Discharge\n"
    reply += "Answer: (A) Blood film\nExplanation: Treat as malaria until proven otherwise."
    draft = exam_mcq(reply, PASSAGE)
    assert (
        draft.options == {"A": "Blood film", "B": "Wait", "C": "Scan", "D": "Discharge"} and draft.gold == "A"
    )
    assert draft.check["shared_words"] >= 3
    for bad, why in [
        (reply.replace("D. Discharge\n", ""), "expected A-D"),
        (reply.replace("C. Scan", "C. blood FILM"), "same"),
        (reply.replace("Answer: (A) Blood film", "Answer: E"), "not one of the option letters"),
        (reply.replace("Explanation: Treat as malaria until proven otherwise.", ""), "Explanation"),
        (reply.replace("D. Discharge", "D. <option>"), "placeholder"),
    ]:
        with pytest.raises(Rejected, match=why):
            exam_mcq(bad, PASSAGE)
    with pytest.raises(Rejected, match="shares 0 words"):
        exam_mcq(reply, "Nothing in common here at all.")


def test_vignette_has_a_case_a_question_and_a_reference_answer():
    case = "A 34-year-old woman returns from a rural trip with three days of fever, rigors and headache."
    reply = f"Vignette: {case}\nQuestion: What now?\nReference answer: Send a thick blood film for malaria."
    draft = clinical_vignette(reply, PASSAGE)
    assert draft.prompt == f"{case}\n\nWhat now?" and draft.kind == "open"
    with pytest.raises(Rejected, match="vignette has fewer"):
        clinical_vignette(reply.replace(case, "Fever."), PASSAGE)
    with pytest.raises(Rejected, match="ungrounded"):
        clinical_vignette(reply, "A passage about knee surgery and nothing else.")
    assert labelled("- Reference Answer: yes", ("reference answer",)) == {"reference answer": "yes"}


def test_a_schema_reply_is_read_by_shape_and_judged_by_the_same_checks():
    """pydantic reads the JSON the schema forced; the content checks are the text readers'."""
    quote = "repeat it at 12 to 24 hours if it is negative"
    qa = {"quote": quote, "question": "When is the film repeated?", "answer": "At 12 to 24 hours."}
    draft = read_json_reply("guideline_qa", json.dumps(qa), PASSAGE, 6)
    assert draft.quote == quote and draft.check["copied_words"] == 11
    paraphrase = {**qa, "quote": "do it again half a day later if nothing is seen"}
    options = {"A": "Blood film", "B": "Wait", "C": "Scan", "D": "Discharge"}
    mcq = {"question": "After travel with fever, what first?", "options": options, "answer": "A"}
    mcq["explanation"] = "Treat as malaria until proven otherwise."
    assert read_json_reply("mcq", json.dumps(mcq), PASSAGE, 6).gold == "A"
    for generator, reply, why in [
        ("guideline_qa", json.dumps(paraphrase), "ungrounded: 1 of the quote"),
        ("guideline_qa", json.dumps(qa)[:-10], "malformed: not the schema's JSON"),  # cut off
        ("mcq", json.dumps({**mcq, "answer": "E"}), "malformed: not the schema's JSON: answer"),
        ("mcq", json.dumps({**mcq, "options": {**options, "C": "blood FILM"}}), "same"),
        ("mcq", json.dumps(mcq), "ungrounded"),  # judged against another passage below
    ]:
        passage = "Nothing in common here at all." if why == "ungrounded" else PASSAGE
        with pytest.raises(Rejected, match=why):
            read_json_reply(generator, reply, passage, 6)
    schema = response_format("mcq")["json_schema"]["schema"]
    assert schema["properties"]["answer"]["enum"] == ["A", "B", "C", "D"]
    assert schema["$defs"]["Options"]["required"] == ["A", "B", "C", "D"]


def test_an_in_process_teacher_gets_the_schema_as_its_output_format():
    """galen eval's LocalClient (a model in this process) turns response_format into the chat
    layer's constraint, so a schema is enforced there as galen serve enforces it."""
    from galen.evals.clients import GenParams, LocalClient

    asked = LocalClient._request([], GenParams(response_format=response_format("vignette")))
    assert asked.output_format is not None and asked.output_format.schema == schema("vignette")
    assert LocalClient._request([], GenParams()).output_format is None


def fixed(
    reply: str, model: str = "scripted", url: str = "http://scripted/v1", delay: float = 0.0
) -> Teacher:
    async def ask(messages, params):
        await asyncio.sleep(delay)
        return Answer(reply, None, "stop", 1, 1, 0)

    return Teacher(ask, model, url)


def sample_recipe(tmp_path: Path, **synth) -> object:
    data = yaml.safe_load((SAMPLES / "recipe_synth.yaml").read_text())
    data["output"] = str(tmp_path / "out")
    data["synth"].update(synth)
    return parse_recipe(data, SAMPLES)


def test_the_pool_shares_calls_by_load_and_refuses_mixed_models():
    """Scripted servers that take 20 ms a call: eight calls at once go four to each."""
    pool = TeacherPool([fixed("x", url="http://a/v1", delay=0.02), fixed("x", url="http://b/v1", delay=0.02)])

    async def many():
        return await asyncio.gather(*(pool.chat([{"role": "user", "content": "q"}], None) for _ in range(8)))

    answers = asyncio.run(many())
    assert pool.share() == {"http://a/v1": 4, "http://b/v1": 4}
    assert sorted({a.endpoint for a in answers}) == ["http://a/v1", "http://b/v1"]
    with pytest.raises(BadRequest, match="different models"):
        TeacherPool([fixed("x", model="m1"), fixed("x", model="m2")])


def test_a_malformed_teacher_is_rejected_on_every_try_and_counted(tmp_path):
    """A scripted teacher that never answers in the asked form (a real one does so only by chance)."""
    recipe = sample_recipe(tmp_path, limit=2, tries=2, generators=["mcq"])
    result = run_synth(recipe, [], pool=TeacherPool([fixed("I cannot help with that.")]))
    assert result.kept == {"mcq": 0} and result.rejected == {"mcq": {"malformed": 2}}
    lines = (result.out / "shards" / "mcq" / "rejected-00000.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["reason"] == "malformed" and len(first["tries"]) == 2 and first["id"].startswith("mcq:")
    assert verify(result.out).ok


def test_a_kept_item_carries_its_provenance(tmp_path):
    """A scripted teacher whose MCQ passes the checks, to check every field a kept record carries."""
    reply = "Question: Which radiograph finding supports pneumonia?\nA. New shadowing\nB. None\nC. Old scar\n"
    reply += (
        "D. Rib fracture\nAnswer: A\nExplanation: New shadowing on a chest radiograph supports pneumonia."
    )
    recipe = sample_recipe(tmp_path, limit=1, generators=["mcq"])
    result = run_synth(recipe, [], pool=TeacherPool([fixed(reply)]))
    record = json.loads((result.out / "shards" / "mcq" / "kept-00000.jsonl").read_text())
    made = record["generation"]
    assert (
        made["generator"] == "mcq"
        and made["teacher"] == "scripted"
        and made["endpoint"] == "http://scripted/v1"
    )
    assert made["chunk_id"] == record["metadata"]["chunk_id"] and made["check"]["passed"] is True
    assert (
        len(made["template_sha256"]) == 64
        and len(made["prompt_sha256"]) == 64
        and made["sampling"]["seed"] == 0
    )
    assert record["kind"] == "choice" and record["answer"] == "A"
    explanation = "New shadowing on a chest radiograph supports pneumonia."
    assert record["messages"][1]["content"] == explanation + '\n\n{"answer": "A"}'
    assert record["metadata"]["guideline"]["licence"] == "Apache-2.0" and record["licence"] == "Apache-2.0"
    with pytest.raises(BadRequest, match="other teacher"):
        run_synth(recipe, [], pool=TeacherPool([fixed(reply, model="another")]))


def test_verify_asks_the_teacher_whether_the_passage_supports_the_answer(tmp_path):
    """A scripted teacher whose QA is grounded and who then says yes (or no) on cue."""
    recipe = sample_recipe(tmp_path, limit=1, tries=1, generators=["guideline_qa"], verify=True)
    chunk = ingest(None, Path("."), chunk_words=100).chunks[0].text

    def teacher(verdict: str) -> Teacher:
        async def ask(messages, params):
            if "Proposed answer" in messages[0]["content"]:
                return Answer(verdict, None, "stop", 1, 1, 0)
            quote = " ".join(chunk.split()[:10])
            return Answer(f"Question: What?\nAnswer: That.\nQuote: {quote}", None, "stop", 1, 1, 0)

        return Teacher(ask, "scripted", "http://scripted/v1")

    said_no = run_synth(recipe, [], pool=TeacherPool([teacher("No, it does not.")]))
    assert said_no.rejected == {"guideline_qa": {"unsupported": 1}}
    again = recipe.model_copy(update={"output": str(tmp_path / "yes")})
    said_yes = run_synth(again, [], pool=TeacherPool([teacher("Yes.")]))
    record = json.loads((said_yes.out / "shards" / "guideline_qa" / "kept-00000.jsonl").read_text())
    check = record["generation"]["check"]
    assert check["method"] == "quote+teacher" and check["teacher_verdict"] == "yes" and check["passed"]


def test_the_command_stops_with_one_line_when_nothing_can_be_used(tmp_path):
    from typer.testing import CliRunner

    from galen.cli.main import app

    recipe = SAMPLES / "recipe_synth.yaml"
    out = ["--output", str(tmp_path / "o")]
    down = CliRunner().invoke(app, ["data", "synth", str(recipe), "--teacher", "http://127.0.0.1:9/v1", *out])
    assert down.exit_code == 2 and "teacher: no server answers at http://127.0.0.1:9/v1" in down.output
    assert not (tmp_path / "o" / "synth" / "shards").exists()
    mode = CliRunner().invoke(
        app, ["data", "synth", str(recipe), "--teacher", "http://x/v1", "--structured", "yes"]
    )
    assert mode.exit_code == 2 and "error: --structured: must be auto, on or off, not 'yes'" in mode.output
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe" * 50)
    data = yaml.safe_load(recipe.read_text())
    data["synth"]["guidelines"]["path"] = str(tmp_path / "bad.txt")
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(data))
    bad = CliRunner().invoke(
        app, ["data", "synth", str(tmp_path / "r.yaml"), "--teacher", "http://x/v1", *out]
    )
    errors = [line for line in bad.output.splitlines() if line.startswith("error:")]
    assert bad.exit_code == 2 and len(errors) == 1, bad.output  # one line, naming the field and why
    assert errors[0].startswith("error: synth.guidelines.path: ") and "not UTF-8" in errors[0]


def test_a_recipe_builds_all_three_components_into_a_corpus(server, tmp_path):
    """The recipe's whole path (synth, then build: dedup, decontamination, exports, manifest)
    against the embedded SmolLM2 through galen serve, whose /v1/models says it can fill a JSON
    Schema: every reply is constrained to its generator's schema, and the content checks judge it
    as they judge text. The pneumonia guideline's two chunks, three tries each: on this teacher every
    generator keeps at least one (docs/data.md gives the counts on the whole sample). The items are
    poor; what is asserted is that each kept verdict holds and what a kept record carries."""
    recipe = sample_recipe(tmp_path, limit=2, max_tokens=256)  # the recipe's 3 tries
    made = run_synth(recipe, [server.base_url])
    assert made.reply_format == "json_schema"
    assert all(made.kept[g] >= 1 for g in GENERATORS), (made.kept, made.rejected)
    chunks = {c.id: c.text for c in ingest(None, Path("."), chunk_words=100).chunks}
    for generator in GENERATORS:
        kept = [json.loads(x) for x in (made.out / "shards" / generator / "kept-00000.jsonl").open()]
        for record in kept:
            made_by = record["generation"]
            assert made_by["reply_format"] == "json_schema" and made_by["teacher"] == "smollm2"
            assert made_by["schema_sha256"] == schema_sha256(generator) and made_by["check"]["passed"]
            assert "response_format" not in made_by["sampling"] and made_by["generator"] == generator
            chunk = chunks[made_by["chunk_id"]]
            if generator == "guideline_qa":  # the verdict holds when checked again here
                assert grounded_qa(_reply_of(record), chunk, 6)
            if generator == "mcq":
                assert record["answer"] in record["options"] and list(record["options"]) == list("ABCD")
    result = build(recipe)
    by_source = result.counts["by_source"]
    names = {"guideline-qa": "guideline_qa", "exam-mcq": "mcq", "vignettes": "vignette"}
    assert {name: c["read"] for name, c in by_source.items()} == {n: made.kept[g] for n, g in names.items()}
    assert all(by_source[name]["kept"] >= 1 for name in names)
    assert verify(result.out).ok and verify(made.out).ok
    report = json.loads((result.out / "decontam" / "report.json").read_text())
    assert report["counts"]["stage0_exact"] == 0 and "medqa" in report["benchmarks"]
    rows = [json.loads(x) for x in (result.out / "export" / "sft.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rows} == set(names)
    record = json.loads((result.out / "records" / "records-00000-of-00001.jsonl").read_text().splitlines()[0])
    assert record["format"] == "synth" and record["file"].startswith("shards/guideline_qa/kept-")
    assert record["source_id"].startswith("guideline_qa:") and record["generation"]["check"]["passed"]
    assert record["metadata"]["guideline"]["title"].endswith("(galen sample, NOT real guidance)")
    provenance = json.loads((result.out / "provenance.json").read_text())
    folders = {i.get("folder") for i in provenance["inputs"] if i["role"] == "source"}
    assert folders == {str(made.out.resolve())}  # lineage follows the build back to the synthesis


def test_a_teacher_that_cannot_fill_a_schema_is_asked_for_text(tmp_path):
    """Scripted teachers (a fake, to say on cue what a server's /v1/models says): auto asks for
    JSON only when every teacher can; `structured: on` always does; a text reply is read as text."""
    seen: list[object] = []
    reply = "Question: Which radiograph finding supports pneumonia?\nA. New shadowing\nB. None\nC. Old scar\n"
    reply += (
        "D. Rib fracture\nAnswer: A\nExplanation: New shadowing on a chest radiograph supports pneumonia."
    )

    def teacher(can: bool | None) -> Teacher:
        async def ask(messages, params):
            seen.append(params.response_format)
            return Answer(reply, None, "stop", 1, 1, 0)

        return Teacher(ask, "scripted", f"http://{can}/v1", json_schema=can)

    recipe = sample_recipe(tmp_path, limit=1, tries=1, generators=["mcq"])
    mixed = run_synth(recipe, [], pool=TeacherPool([teacher(True), teacher(False)]))
    assert mixed.reply_format == "text" and mixed.kept == {"mcq": 1} and seen == [None]
    record = json.loads((mixed.out / "shards" / "mcq" / "kept-00000.jsonl").read_text())
    assert record["generation"]["reply_format"] == "text" and record["generation"]["schema_sha256"] is None
    forced = recipe.model_copy(update={"output": str(tmp_path / "on")})
    forced.synth.structured = "on"
    on = run_synth(forced, [], pool=TeacherPool([teacher(None)]))
    assert on.reply_format == "json_schema" and on.rejected == {"mcq": {"malformed": 1}}
    assert seen[-1] == response_format("mcq")  # the text reply is not the schema's JSON


def test_a_build_without_its_synth_output_says_to_run_synth(tmp_path):
    with pytest.raises(BadRequest, match="run `galen data synth` first") as error:
        build(sample_recipe(tmp_path))
    assert error.value.param == "sources[0].path"


def test_a_chunk_too_long_for_the_teachers_window_is_counted(server, tmp_path):
    """The embedded server with a 1,024-token window refuses a 1,500-word chunk; the short one
    is still made."""
    folder = tmp_path / "g"
    folder.mkdir()
    (folder / "long.md").write_text("# Long\n\n" + "Offer the test again if it stays negative " * 190)
    (folder / "short.md").write_text("# Short\n\n" + "Offer a blood film the same day. " * 6)
    recipe = sample_recipe(
        tmp_path, guidelines={"path": str(folder), "chunk_words": 2000}, generators=["vignette"], tries=1
    )
    recipe = recipe.model_copy(update={"synth": recipe.synth.model_copy(update={"max_tokens": 16})})
    result = run_synth(recipe, [server.base_url])
    rejected = [
        json.loads(x)
        for x in (result.out / "shards" / "vignette" / "rejected-00000.jsonl").read_text().splitlines()
    ]
    too_long = [r for r in rejected if r["reason"] == "too_long"]
    assert [r["chunk"] for r in too_long] == ["long#0"] and "context window" in too_long[0]["tries"][0][
        "reason"
    ]
    assert result.kept["vignette"] + len(rejected) == 2  # the short chunk went through either way


@pytest.fixture(scope="module")
def second(agent_server):
    """A second embedded server: the pool's two teacher URLs are two real processes. The
    session's agent server (2 slots, a window of 8,192), already running for the agent tests."""
    return agent_server


def test_synth_on_two_servers_survives_a_kill_and_builds(server, second, tmp_path):
    """The command on two real galen serve processes: killed once its first shard is written, run
    again, it finishes without redoing that shard or asking any call twice; both servers answered
    (each shard's two items go out at once, one to each); every kept item's verdict holds when
    checked again; the recipe builds what was kept (from this teacher, usually nothing)."""
    data = yaml.safe_load((SAMPLES / "recipe_synth.yaml").read_text())
    data["synth"].update({"limit": 2, "tries": 2, "max_tokens": 160, "shard_size": 2, "concurrency": 1})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "galen.cli.main", "data", "synth", str(path), "--output", str(out)]
    command += ["--teacher", server.base_url, "--teacher", second.base_url]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    first = out / "synth" / "shards" / "guideline_qa" / "kept-00000.jsonl"
    deadline = time.monotonic() + 240
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stdout.read().decode()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = first.stat().st_mtime_ns
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    assert first.stat().st_mtime_ns == before
    synth = out / "synth"
    calls = [json.loads(line) for line in (synth / "cache" / "calls.jsonl").read_text().splitlines()]
    assert len({c["key"] for c in calls}) == len(calls)
    assert {c["value"]["endpoint"] for c in calls} == {server.base_url, second.base_url}
    manifest = json.loads((synth / "manifest.json").read_text())
    assert manifest["log"][0]["details"]["resumed_shards"] >= 1 and verify(synth).ok
    chunks = {
        c["id"]: c["text"]
        for c in map(json.loads, (synth / "guidelines" / "chunks.jsonl").read_text().splitlines())
    }
    for name in ("guideline_qa", "mcq", "vignette"):
        kept = [
            json.loads(x)
            for p in sorted((synth / "shards" / name).glob("kept-*"))
            for x in p.read_text().splitlines()
        ]
        rejected = [
            json.loads(x)
            for p in sorted((synth / "shards" / name).glob("rejected-*"))
            for x in p.read_text().splitlines()
        ]
        assert len(kept) + len(rejected) == 2
        assert all(r["reason"] in {"malformed", "ungrounded", "too_long"} for r in rejected)
        for record in kept:  # each verdict holds when checked again here
            if name == "guideline_qa":
                assert grounded_qa(_reply_of(record), chunks[record["generation"]["chunk_id"]], 6)
            if name == "mcq":
                assert record["answer"] in record["options"] and len(record["options"]) >= 4
    result = build(load_recipe(path).model_copy(update={"output": str(out)}))
    by_source = result.counts["by_source"]
    assert set(by_source) == {"guideline-qa", "exam-mcq", "vignettes"}
    for name, generator in [("guideline-qa", "guideline_qa"), ("exam-mcq", "mcq"), ("vignettes", "vignette")]:
        assert by_source[name]["read"] == manifest["counts"]["kept"][generator]
    assert verify(out).ok


def _reply_of(record: dict) -> str:
    """A kept guideline QA record written back in the form the teacher was asked for."""
    answer = record["messages"][-1]["content"]
    return f"Question: {record['question']}\nAnswer: {answer}\nQuote: {record['context']}"

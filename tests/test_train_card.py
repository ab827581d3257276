"""Model cards: front matter built and checked with huggingface_hub's ModelCard tooling, offline."""

from __future__ import annotations

import pytest

from galen import RESEARCH_NOTICE
from galen.errors import BadRequest
from galen.train.card import CardFacts, base_origin, render, validate


def facts(**changes) -> CardFacts:
    base = dict(
        title="cpu-smollm2-sft", licence="apache-2.0", base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
        thinks=True, family="chatml-think", stage="sft", global_step=27, peft="lora",
        recipe={"peft": {"method": "lora", "r": 16, "alpha": 32, "target_modules": "all-linear"},
                "trl": {"learning_rate": 3e-4, "max_length": 512}},
        data={"file": "/data/export/sft.jsonl", "rows": 36, "sha256": "ab" * 32,
              "manifest_sha256": "cd" * 32},
        sources=[{"name": "medqa@hf", "licence": "MIT", "sha256": "ef" * 32}],
        datasets=["GBaker/MedQA-USMLE-4-options"],
        evals=[{"task": "medqa", "metric": "accuracy", "value": 0.25, "n": 8, "ci_low": 0.05,
                "ci_high": 0.6}],
        usage="galen serve --model runs/x/export",
    )  # fmt: skip
    return CardFacts(**{**base, **changes})


def test_a_card_validates_and_states_its_origin():
    text = render(facts())
    data = validate(text)
    assert data["license"] == "apache-2.0" and data["base_model_relation"] == "finetune"
    assert data["datasets"] == ["GBaker/MedQA-USMLE-4-options"] and data["language"] == ["en"]
    assert data["pipeline_tag"] == "text-generation" and {"sft", "lora", "reasoning", "medical"} <= set(
        data["tags"]
    )
    result = data["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "medqa" and result["metrics"][0]["value"] == 0.25
    assert RESEARCH_NOTICE in text and "| medqa | accuracy | 0.250 | 0.050-0.600 | 8 |" in text
    assert "sha256 `" + "cd" * 32 + "`" in text and "medqa@hf" in text and "r=16" in text


def test_an_unknown_licence_is_said_and_a_vision_model_is_image_text_to_text():
    data = validate(render(facts(licence=None, base_model=None, vision=True, evals=[])))
    assert data["license"] == "other" and data["license_name"] == "see-base-model"
    assert data["pipeline_tag"] == "image-text-to-text" and "base_model_relation" not in data


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("license: apache-2.0\n", ""), "license"),
        (lambda t: t.replace("base_model_relation: finetune", "base_model_relation: derived"), "relation"),
        (lambda t: t.replace(RESEARCH_NOTICE, "Use freely."), "research-use notice"),
    ],
)
def test_a_card_missing_what_the_hub_or_galen_needs_is_refused(edit, field):
    with pytest.raises(BadRequest, match=field):
        validate(edit(render(facts())))


def test_the_base_of_an_embedded_model_is_its_hub_original(tmp_path):
    assert base_origin("smollm2", None) == ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")
    assert base_origin("gemma3-270m", None) == ("google/gemma-3-270m", "gemma")
    export = tmp_path / "export"  # a galen export names the original base in its own card
    export.mkdir()
    (export / "galen_export.json").write_text("{}")
    (export / "README.md").write_text(render(facts()))
    assert base_origin("runs/sft", export) == ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")

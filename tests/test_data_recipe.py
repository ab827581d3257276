"""Recipes: YAML fills in typed settings; every mistake names the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from galen.data.recipe import load_recipe, parse_recipe
from galen.errors import BadRequest

SAMPLES = Path(__file__).resolve().parents[1] / "galen" / "data" / "samples"


def test_the_example_recipes_load():
    recipe = load_recipe(SAMPLES / "recipe.yaml")
    assert recipe.name == "sample" and len(recipe.sources) == 10
    assert recipe.decontamination.ngram == 8 and recipe.decontamination.min_block == 5
    assert recipe.decontamination.threshold == 0.5 and recipe.distill.tries == 8
    shared = load_recipe(SAMPLES / "recipe_shared.yaml")
    assert shared.benchmark_source("medqa").endswith("shared/benchmarks/medqa/test.jsonl")
    assert shared.benchmark_source("medxpertqa") is None


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": "x", "sources": [{"format": "medqq"}]}, "sources[0].format", "unknown format 'medqq'"),
        ({"name": "x", "sources": []}, "sources", "at least 1"),
        ({"name": "x", "sources": [{"format": "medqa", "limit": 0}]}, "sources[0].limit", "greater than"),
        (
            {"name": "x", "sources": [{"format": "medqa"}], "decontamination": {"ngramm": 8}},
            "decontamination.ngramm",
            "unknown setting",
        ),
        (
            {"name": "x", "sources": [{"format": "medqa"}], "decontamination": {"threshold": 1.5}},
            "decontamination.threshold",
            "less than or equal to 1",
        ),
        (
            {"name": "x", "sources": [{"format": "medqa"}], "decontamination": {"tasks": ["medqaa"]}},
            "decontamination",
            "unknown task 'medqaa'",
        ),
        ({"name": "x", "sources": [{"format": "medqa"}, {"format": "medqa"}]}, "recipe", "give one a `name`"),
        ({"sources": [{"format": "medqa"}]}, "name", "required"),
        ({"name": "a b", "sources": [{"format": "medqa"}]}, "name", "pattern"),
    ],
)
def test_mistakes_name_the_field(data, field, words):
    with pytest.raises(BadRequest) as caught:
        parse_recipe(data, Path("."))
    assert caught.value.param == field and words in caught.value.message


def test_bad_yaml_and_missing_file_name_the_file(tmp_path):
    with pytest.raises(BadRequest, match="no such recipe file"):
        load_recipe(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(BadRequest, match="bad.yaml is not valid YAML"):
        load_recipe(bad)
    bad.write_text("- a list\n")
    with pytest.raises(BadRequest, match="expected a mapping"):
        load_recipe(bad)


def test_paths_are_relative_to_the_recipe(tmp_path):
    recipe = parse_recipe(
        {
            "name": "x",
            "output": "out",
            "sources": [{"format": "medqa"}],
            "decontamination": {"benchmarks": {"medqa": "b.jsonl"}},
        },
        tmp_path,
    )
    assert recipe.output_dir == tmp_path / "out"
    assert recipe.benchmark_source("medqa") == str(tmp_path / "b.jsonl")
    assert parse_recipe({"name": "x", "sources": [{"format": "medqa"}]}, tmp_path).output_dir == Path(
        "data/x"
    )

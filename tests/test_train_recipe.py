"""Recipes are checked completely before any model loads: fields, TRL arguments, batch arithmetic.

No test here loads a model; the CLI test checks that a bad recipe fails before galen even
converts the base model (its cache stays empty) and prints no traceback.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from galen.cli.main import app
from galen.train.checks import generation_batch, launch_command, trl_fields
from galen.train.recipe import (
    GRPORecipe,
    RecipeError,
    find_recipe,
    load_recipe,
    parse_recipe,
    shipped_recipes,
)

runner = CliRunner()
GRPO = {
    "stage": "grpo",
    "model": {"base": "smollm2"},
    "rewards": [{"name": "answer"}],
    "output_dir": "runs/x",
    "trl": {"per_device_train_batch_size": 4, "num_generations": 4},
}


def problems(data: dict, recipe_dir: Path | None = None) -> dict[str, str]:
    with pytest.raises(RecipeError) as info:
        parse_recipe(data, recipe_dir=recipe_dir)
    return dict(info.value.problems)


def with_(base: dict, **changes) -> dict:
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


@pytest.mark.parametrize("name", sorted(shipped_recipes()))
def test_every_shipped_recipe_validates(name):
    recipe = load_recipe(name)
    assert recipe.stage in ("sft", "grpo")
    fields = trl_fields(recipe.stage)
    assert all(key in fields for key in recipe.trl)  # names exist in the pinned TRL
    if isinstance(recipe, GRPORecipe):
        batch, _ = generation_batch(recipe)
        assert batch % recipe.trl.get("num_generations", 8) == 0


def test_scale_recipes_describe_their_hardware():
    zero3, fsdp2 = load_recipe("gemma3-27b-sft-zero3"), load_recipe("gemma3-27b-sft-fsdp2")
    assert zero3.world_size == fsdp2.world_size == 16 and zero3.launch.num_machines == 2
    assert zero3.peft is None and zero3.trl["bf16"] is True  # full fine-tuning in bf16
    colocate = load_recipe("qwen3.6-27b-grpo-lora-vllm-colocate")
    assert (
        colocate.trl["vllm_mode"] == "colocate"
        and colocate.world_size % colocate.trl["vllm_tensor_parallel_size"] == 0
    )
    server = load_recipe("qwen3.6-27b-grpo-lora-vllm-server")
    lines = launch_command(server, "server.yaml", find_recipe("qwen3.6-27b-grpo-lora-vllm-server").parent)
    assert lines[0].startswith("CUDA_VISIBLE_DEVICES=0,1 trl vllm-serve --model Qwen/Qwen3.6-27B")
    assert (
        "CUDA_VISIBLE_DEVICES=2,3,4,5,6,7 accelerate launch" in lines[1] and "--num_processes 6" in lines[1]
    )
    multinode = launch_command(zero3, "z.yaml", find_recipe("gemma3-27b-sft-zero3").parent)[-1]
    assert "--num_machines 2" in multinode and "--machine_rank $NODE_RANK" in multinode
    unsloth = load_recipe("qwen3.6-27b-grpo-qlora-unsloth")
    assert unsloth.launch.backend == "unsloth" and unsloth.peft.method == "qlora"


def test_unknown_fields_are_named_with_a_suggestion():
    found = problems(with_(GRPO, model__chat_templte="chatml_think", peft={"rank": 8}))
    assert "did you mean `chat_template`" in found["model.chat_templte"]
    assert "did you mean `r`" in found["peft.rank"]
    assert "unknown setting" in problems({**GRPO, "epochs": 3})["epochs"]


def test_trl_arguments_are_checked_against_the_pinned_trl():
    found = problems(with_(GRPO, trl__max_sequence_len=512, trl__learning_rate="fast", trl__loss_type="nll"))
    assert "not an argument of trl.GRPOConfig in TRL 1.16.0" in found["trl.max_sequence_len"]
    assert "not a valid float" in found["trl.learning_rate"]
    sft = {"stage": "sft", "model": {"base": "smollm2"}, "output_dir": "r", "trl": {"max_seq_length": 512}}
    assert "did you mean `max_length`" in problems(sft)["trl.max_seq_length"]
    assert "not one of" in problems(with_(sft, trl={"loss_type": "mse"}))["trl.loss_type"]
    # YAML reads 2e-4 as a string; it is coerced to TRL's type, not passed on as text
    assert parse_recipe(with_(GRPO, trl__learning_rate="2e-4")).trl["learning_rate"] == 2e-4


def test_fields_galen_owns_point_to_the_recipe_field():
    found = problems(with_(GRPO, trl__output_dir="x", trl__reward_weights=[1.0]))
    assert "output_dir (top level)" in found["trl.output_dir"]
    assert "rewards[].weight" in found["trl.reward_weights"]


def test_num_generations_must_divide_the_generation_batch():
    found = problems(with_(GRPO, trl__gradient_accumulation_steps=2, trl__num_generations=3))
    assert found["trl.num_generations"].startswith("3 must divide the generation batch 8")
    assert "[2, 4, 8]" in found["trl.num_generations"]
    # the world size counts: 2 per device x 6 processes x 1 = 12, which 8 does not divide
    six = with_(GRPO, trl__per_device_train_batch_size=2, trl__num_generations=8, launch={"num_processes": 6})
    assert "6 processes" in problems(six)["trl.num_generations"]
    assert "at least 2" in problems(with_(GRPO, trl__num_generations=1))["trl.num_generations"]
    both = with_(GRPO, trl__generation_batch_size=8, trl__steps_per_generation=2)
    assert "not both" in problems(both)["trl.generation_batch_size"]
    odd = with_(GRPO, trl__generation_batch_size=6)
    assert "multiple of the global batch 4" in problems(odd)["trl.generation_batch_size"]


def test_vllm_settings_are_checked():
    colocate = with_(GRPO, trl__use_vllm=True, trl__vllm_tensor_parallel_size=4, launch={"num_processes": 6})
    colocate["trl"]["per_device_train_batch_size"] = 4
    assert "must divide the number of processes (6)" in problems(colocate)["trl.vllm_tensor_parallel_size"]
    short = with_(GRPO, trl__vllm_max_model_length=256, trl__max_completion_length=512)
    assert "no room for a prompt" in problems(short)["trl.vllm_max_model_length"]


def test_accelerate_config_is_read_and_checked(tmp_path):
    config = tmp_path / "fsdp.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "num_processes": 4,
                "num_machines": 1,
                "mixed_precision": "bf16",
                "fsdp_config": {"fsdp_activation_checkpointing": True},
            }
        )
    )
    data = with_(GRPO, launch={"accelerate_config": "fsdp.yaml"}, trl__bf16=False)
    found = problems(data, recipe_dir=tmp_path)
    assert "mixed_precision: bf16" in found["trl.bf16"]
    assert (
        "fsdp_activation_checkpointing" in found["trl.gradient_checkpointing"]
    )  # TRL turns it on by default
    fixed = with_(data, trl__bf16=True, trl__gradient_checkpointing=False)
    assert parse_recipe(fixed, recipe_dir=tmp_path).world_size == 4  # taken from the accelerate config
    missing = with_(GRPO, launch={"accelerate_config": "nope.yaml"})
    assert "no such file" in problems(missing, recipe_dir=tmp_path)["launch.accelerate_config"]


def test_rewards_are_checked_by_name_and_arguments():
    data = with_(GRPO, rewards=[{"name": "lenght"}, {"name": "overlong", "args": {"buffr": 8}}])
    found = problems(data)
    assert "unknown reward 'lenght'" in found["rewards[0].name"]
    assert "takes no such argument" in found["rewards[1].args.buffr"]
    too_big = with_(
        GRPO, rewards=[{"name": "overlong", "args": {"buffer": 64}}], trl__max_completion_length=32
    )
    assert "buffer (64)" in problems(too_big)["rewards[0].args"]
    # the overlong limit defaults to the recipe's max_completion_length
    recipe = parse_recipe(
        with_(GRPO, rewards=[{"name": "overlong", "args": {"buffer": 8}}], trl__max_completion_length=32)
    )
    assert recipe.rewards[0].args == {"buffer": 8, "max_tokens": 32}


def test_unsloth_backend_needs_lora_and_one_process():
    found = problems(with_(GRPO, launch={"backend": "unsloth", "num_processes": 2}))
    assert "peft" in found["launch.backend"] and "one GPU" in found["launch.num_processes"]


def test_overrides_use_yaml_values(tmp_path):
    recipe = load_recipe("cpu-smollm2-sft", ["trl.max_steps=2", "output_dir=" + str(tmp_path), "peft.r=4"])
    assert recipe.trl["max_steps"] == 2 and recipe.peft.r == 4 and recipe.output_dir == str(tmp_path)
    with pytest.raises(RecipeError, match="FIELD=VALUE"):
        load_recipe("cpu-smollm2-sft", ["trl.max_steps"])


def test_cli_names_the_bad_field_before_loading_anything(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(find_recipe("cpu-smollm2-sft").read_text())
    data["trl"]["per_device_train_batch"] = 4
    data["output_dir"] = str(tmp_path / "run")
    bad.write_text(yaml.safe_dump(data))
    cache = tmp_path / "cache"
    env = {**os.environ, "GALEN_CACHE": str(cache)}
    result = subprocess.run(
        [sys.executable, "-m", "galen.cli.main", "train", "sft", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2
    assert "trl.per_device_train_batch: not an argument of trl.SFTConfig" in result.stderr
    assert "did you mean `per_device_train_batch_size`" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not cache.exists() and not (tmp_path / "run").exists()  # no model converted, no run started


def test_cli_validate_and_wrong_stage(tmp_path):
    result = runner.invoke(app, ["train", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(shipped_recipes())
    assert "trl vllm-serve" in result.output and "accelerate launch" in result.output
    wrong = runner.invoke(app, ["train", "sft", "cpu-smollm2-grpo"])
    assert wrong.exit_code == 2 and "is a grpo recipe" in wrong.output
    listed = runner.invoke(app, ["train", "recipes"])
    assert "gemma3-27b-sft-zero3" in listed.output

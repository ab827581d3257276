"""`EvalConfig`: everything that decides an eval's numbers, written into results.json.

`galen eval run` fills it from flags, from a YAML file (`--config FILE`, the same field names,
paths relative to the file), or both (flags override the file):

    model: ../runs/sft/export        # GGUF, HF folder, embedded name, or http(s)://host/v1
    model_name: med-b                # the served model to use at an endpoint
    tasks: [medqa, pubmedqa]
    limit: 100
    thinking: false
    max_tokens: 512
    data: {medqa: ../data/medqa/test.jsonl}
    output: ../runs/eval-sft

An endpoint's API key is never part of the config: it comes from `--api-key` or the environment
variable named by `api_key_env` (OPENAI_API_KEY unless set).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from galen.config import ConfigModel, ConfigPath, PathOrName, refuse_keys, resolve_path
from galen.engine.endpoint import DEFAULT_KEY_ENV, MAX_RETRIES, TIMEOUT, GenParams

PRESETS = ("galen", "lm-eval")
Mode = Literal["generate", "loglik"]


def _listed(value: Any) -> Any:
    """'a, b' -> ['a', 'b']: flags and YAML may give a list as one comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class EvalConfig(ConfigModel):
    """The settings of one `galen eval run`."""

    model: PathOrName = Field(description="GGUF file, HF folder, embedded name or http(s)://host/v1.")
    model_name: str | None = Field(
        None, description="The served model to evaluate at an endpoint (default: the first it lists)."
    )
    api_key_env: str = Field(DEFAULT_KEY_ENV, description="Environment variable holding the endpoint's key.")
    timeout: float = Field(TIMEOUT, gt=0, description="Seconds one endpoint call may take.")
    max_retries: int = Field(MAX_RETRIES, ge=0, description="Retries of a failed endpoint call (429, 5xx).")
    tasks: list[str] = Field(
        min_length=1, description="Task names, groups (multimedqa) or task spec files (.yaml)."
    )
    preset: Literal["galen", "lm-eval"] | None = Field(
        None, description="Prompt preset: galen, or lm-eval (the default for loglik)."
    )
    mode: Mode = Field("generate", description="generate (answers are extracted) or loglik.")
    language: list[str] = Field(default_factory=lambda: ["en"], description="MMLU-ProX languages.")
    num_fewshot: int | None = Field(
        None, ge=0, description="Few-shot exemplars for the tasks that have them (default: the task's)."
    )
    system_prompt: str | None = Field(
        None, description="A system message for every prompt (in loglik mode, the start of the context)."
    )
    limit: int | None = Field(None, ge=1, description="First N items of each task.")
    samples: int = Field(1, ge=1, description="Answers per item: mean accuracy over k, and maj@k.")
    concurrency: int = Field(8, ge=1, description="Calls in flight.")
    max_tokens: int = Field(2048, ge=1, description="Answer length limit, in tokens.")
    temperature: float | None = Field(None, ge=0, le=2, description="Default: 0 for k=1, else 0.6.")
    thinking: bool | None = Field(None, description="Thinking on or off (default: the model's).")
    seed: int = 0
    engine: str = Field("auto", description="Engine for a local model (transformers for loglik).")
    data: dict[str, str] = Field(
        default_factory=dict, description="Task -> local file or folder, 'hub' or hf://ID@REV."
    )
    model_revision: str | None = Field(
        None, description="A revision you pin (a tag, a date): part of the model's fingerprint."
    )
    device: str = Field("auto", description="transformers engine: auto, cpu, cuda or cuda:N.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="transformers engine: the weights' dtype (auto: the checkpoint's)."
    )
    deterministic: bool = Field(
        False,
        description="One call at a time, local engines without cross-request reuse: a seeded run, "
        "a rerun and a resumed run give identical samples.",
    )
    repeat: int = Field(1, ge=1, description="Run each task N times: the score's run-to-run spread.")
    output: ConfigPath | None = Field(None, description="Run folder (default runs/<model>-<time>).")

    _no_key = model_validator(mode="before")(refuse_keys)

    @field_validator("tasks", "language", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _listed(value)

    @field_validator("tasks")
    @classmethod
    def _spec_paths(cls, value: list[str], info: Any) -> list[str]:
        """A task spec file (.yaml) given in a config is relative to the config's folder."""
        base = (info.context or {}).get("base")
        return [resolve_path(t, base) if t.lower().endswith((".yaml", ".yml")) else t for t in value]

    @field_validator("data")
    @classmethod
    def _data_paths(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        base = (info.context or {}).get("base")
        return {
            task: where if where == "hub" or "://" in where else resolve_path(where, base)
            for task, where in value.items()
        }

    @model_validator(mode="after")
    def _mode_fits(self) -> EvalConfig:
        if self.mode == "loglik":
            if self.preset not in (None, "lm-eval"):
                raise ValueError("mode loglik is lm-eval's formulation: use --preset lm-eval (its default)")
            if self.samples != 1:
                raise ValueError("--samples applies to --mode generate; log-likelihoods are not sampled")
            if self.engine == "auto" and not self.is_endpoint:
                self.engine = "transformers"  # the engine that returns exact prompt log-probabilities
        self.preset = self.preset or ("lm-eval" if self.mode == "loglik" else "galen")
        if self.deterministic:
            self.concurrency = 1  # which requests share a batch changes the arithmetic
        return self

    @property
    def bitwise_reproducible(self) -> bool:
        """Whether a rerun or a resumed run gives the same bits: only a --deterministic run on a
        model in this process; a server may batch this run's requests with anyone's."""
        return self.deterministic and not self.is_endpoint

    @property
    def is_endpoint(self) -> bool:
        return self.model.startswith(("http://", "https://"))

    def params(self, k: int) -> GenParams:
        """Decoding settings of the k-th answer to an item."""
        temperature = (
            self.temperature if self.temperature is not None else (0.0 if self.samples == 1 else 0.6)
        )
        return GenParams(
            self.max_tokens,
            temperature,
            1.0 if temperature == 0 else 0.95,
            0 if temperature == 0 else 20,
            self.seed + k,
            self.thinking,
        )

"""What `--system-prompt` does to a task: its prompts, and its log-likelihood contexts.

In chat form the text becomes the system message (replacing the task's own, such as MedXpertQA's
"You are a helpful medical assistant."). In `--mode loglik`, which applies no chat template, it
starts the context, followed by a blank line, as lm-eval joins its `--system_instruction` to a
task's description (lm-eval adds no separator where a task has no description; galen always does).
"""

from __future__ import annotations

from dataclasses import replace

from galen.evals.task import ChoiceQuery, Sample, Task
from galen.evals.tasks.common import Messages


def with_system_prompt(task: Task, text: str) -> Task:
    prompt, loglik = task.prompt, task.loglik

    def system_prompt(sample: Sample, preset: str) -> Messages:
        messages = prompt(sample, preset) if prompt else []
        rest = messages[1:] if messages and messages[0].get("role") == "system" else messages
        return [{"role": "system", "content": text}, *rest]

    def system_loglik(sample: Sample) -> ChoiceQuery:
        query = loglik(sample)
        return replace(query, context=f"{text}\n\n{query.context}")

    return replace(task, prompt=system_prompt, loglik=system_loglik if loglik else None)

"""galen eval: medical benchmarks, answer extraction, scoring and reports.

from galen.evals import EvalConfig, evaluate, get_task, open_client
task = get_task("medqa", limit=20)          # our bundled sample unless source= is given
client = open_client("smollm2")              # or "http://host:8000/v1", model_name="med-b"
run = evaluate(EvalConfig(model="smollm2", tasks=["medqa"]), [task], client, Path("runs/x"))
"""

from galen.evals.clients import Answer, EndpointClient, GenParams, LocalClient, open_client
from galen.evals.config import EvalConfig
from galen.evals.extract import Extraction, extract_answer, extract_choice, extract_label, extract_mmlu_pro
from galen.evals.results import EvalRun, SampleResult, TaskScore
from galen.evals.runner import evaluate
from galen.evals.task import LETTERS, TASKS, Sample, Task, task
from galen.evals.tasks import get_task, load_tasks

__all__ = [
    "LETTERS",
    "TASKS",
    "Answer",
    "EndpointClient",
    "EvalConfig",
    "EvalRun",
    "Extraction",
    "GenParams",
    "LocalClient",
    "Sample",
    "SampleResult",
    "Task",
    "TaskScore",
    "evaluate",
    "extract_answer",
    "extract_choice",
    "extract_label",
    "extract_mmlu_pro",
    "get_task",
    "load_tasks",
    "open_client",
    "task",
]

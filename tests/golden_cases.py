"""Conversations rendered by the golden-render tests (the expected prompts are in tests/golden/)."""

from __future__ import annotations

LAB_TOOL = {
    "type": "function",
    "function": {
        "name": "get_lab_result",
        "description": "Latest value of a laboratory test",
        "parameters": {"type": "object", "properties": {"test": {"type": "string"}}, "required": ["test"]},
    },
}

CONVERSATION = [
    {"role": "system", "content": "You are a careful clinical reasoning assistant."},
    {"role": "user", "content": "A 70-year-old man has a creatinine of 2.1 mg/dL. What next?"},
    {
        "role": "assistant",
        "content": "I will check the trend first.",
        "reasoning_content": "Acute or chronic? Need the previous value.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_lab_result", "arguments": '{"test": "creatinine"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"creatinine_mg_dl": [1.0, 2.1]}'},
    {
        "role": "assistant",
        "content": "It doubled in a week: acute kidney injury.",
        "reasoning": "Rise >= 0.3.",
    },
    {"role": "user", "content": "Which drug doses need review?"},
]

SIMPLE = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What does BPH stand for?"},
    {"role": "assistant", "content": "Benign prostatic hyperplasia."},
    {"role": "user", "content": "And its effect on the kidney?"},
]

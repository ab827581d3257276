"""The model card's Qwen-Agent snippet, run as a user runs it, against `galen serve`.

usage: qwen_card.py SETTINGS_JSON
SETTINGS_JSON holds what differs from the card: `model_server` (galen's URL), `mcp_servers`
(the card's `mcpServers` with the folder changed), and `generate_cfg` entries added to the
card's (the forced tool call, max_tokens, seed). Prints the agent's messages as JSON on the
last line of stdout. Run in a child process by tests/test_agents_qwen.py.
"""

import json
import sys

from qwen_agent.agents import Assistant

settings = json.loads(sys.argv[1])

# The card's "OpenAI-compatible API endpoint" config, verbatim but for model_server.
llm_cfg = {
    "model": "EpistemeAI/Reasoning-Medical-27B",
    "model_type": "qwenvl_oai",
    "model_server": settings["model_server"],
    "api_key": "EMPTY",
    "generate_cfg": {
        "use_raw_api": True,
        "extra_body": {"chat_template_kwargs": {"enable_thinking": True, "preserve_thinking": True}},
    },
}
extra = settings.get("generate_cfg", {})
llm_cfg["generate_cfg"]["extra_body"].update(extra.pop("extra_body", {}))
llm_cfg["generate_cfg"].update(extra)

tools = [{"mcpServers": settings["mcp_servers"]}]
bot = Assistant(llm=llm_cfg, function_list=tools)

messages = [{"role": "user", "content": settings.get("question", "Help me organize my desktop.")}]
responses = []
for responses in bot.run(messages=messages):  # noqa: B007 (the card's own loop)
    pass
print(json.dumps(responses, ensure_ascii=False, default=str))

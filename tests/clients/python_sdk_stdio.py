"""Drives the server over stdio with the MCP Python SDK's client, in one protocol era.

Usage: python python_sdk_stdio.py MODE SERVER [ARGS...]   (MODE: legacy or 2026-07-28)

The server's environment comes from this process's BUILDKITE_* and RUST_LOG variables. Prints one
JSON object on stdout: what each request answered (prompts, templates, a log section, completions
with their timings), for the Rust test (tests/clients.rs) to check. Any failure raises.
"""

import asyncio
import json
import os
import sys
import time

from mcp import Client, StdioServerParameters
from mcp_types import PromptReference, ResourceTemplateReference

LOG_SECTION = "buildkite://acme/web/builds/1342/jobs/08d58486-29e1-47b4-b951-facf35dafc4d/log?from_line=40&lines=12"
SECTION_TEMPLATE = "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log{?from_line,lines}"

PROMPT_ARGS = {
    "triage_build": {"build": "acme/web/1342"},
    "is_test_flaky": {"suite": "acme-web-rspec", "test": "0193ab4e-7c55-7d6e-9a44-54d1c7c8e0a1"},
    "why_is_my_job_waiting": {"job": "08d58486-29e1-47b4-b951-facf35dafc4d"},
    "retry_infra_failures": {"build": "acme/web/1340"},
}


def text_of(message):
    content = message.content
    return content.text if hasattr(content, "text") else str(content)


async def timed_complete(client, ref, argument, context=None):
    start = time.perf_counter()
    result = await client.complete(ref, argument, context)
    elapsed_ms = (time.perf_counter() - start) * 1000
    completion = result.completion
    return {
        "values": list(completion.values),
        "total": completion.total,
        "has_more": completion.has_more,
        "ms": round(elapsed_ms, 2),
    }


async def main():
    mode, server, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    env = {k: v for k, v in os.environ.items() if k.startswith("BUILDKITE_") or k == "RUST_LOG"}
    params = StdioServerParameters(command=server, args=args, env=env)
    out = {}
    async with Client(params, mode=mode) as client:
        out["protocol"] = client.protocol_version
        prompts = await client.list_prompts()
        out["prompts"] = [p.name for p in prompts.prompts]
        out["expansions"] = {}
        for prompt in prompts.prompts:
            got = await client.get_prompt(prompt.name, PROMPT_ARGS[prompt.name])
            out["expansions"][prompt.name] = [text_of(m) for m in got.messages]
        templates = await client.list_resource_templates()
        out["templates"] = [t.uri_template for t in templates.resource_templates]
        read = await client.read_resource(LOG_SECTION)
        out["log_section"] = [c.text for c in read.contents]
        by_key = await client.read_resource("buildkite://acme/web/builds/1342/jobs/lint/log?from_line=1&lines=3")
        out["log_by_step_key"] = [c.text for c in by_key.contents]
        tool = await client.call_tool(
            "read_log", {"job": "08d58486-29e1-47b4-b951-facf35dafc4d", "from_line": 40, "lines": 12}
        )
        out["read_log"] = [c.text for c in tool.content]
        section = ResourceTemplateReference(type="ref/resource", uri=SECTION_TEMPLATE)
        pipeline = {"name": "pipeline", "value": "service-0999"}
        out["complete_pipeline_first"] = await timed_complete(client, section, pipeline, {"org": "acme"})
        out["complete_pipeline_again"] = await timed_complete(
            client, section, {"name": "pipeline", "value": "service-09995"}, {"org": "acme"}
        )
        out["complete_pipeline_empty"] = await timed_complete(
            client, section, {"name": "pipeline", "value": ""}, {"org": "acme"}
        )
        triage = PromptReference(type="ref/prompt", name="triage_build")
        out["complete_build_ref"] = await timed_complete(client, triage, {"name": "build", "value": "acme/service-0000"})
        out["complete_step_key"] = await timed_complete(
            client, section, {"name": "job", "value": "li"}, {"org": "acme", "pipeline": "web", "number": "1342"}
        )
    print(json.dumps(out))


asyncio.run(main())

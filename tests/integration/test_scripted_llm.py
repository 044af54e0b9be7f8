"""The scripted OpenAI-compatible LLM server over real HTTP: ChatOpenAI, the openai SDK, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageFunctionToolCall
from pydantic import BaseModel, SecretStr, ValidationError

from qa_agent.world.scripted_llm import (
    READY_PREFIX,
    NotLoopbackError,
    Rule,
    Script,
    ScriptedLLMServer,
    ToolCallSpec,
    UsageOverride,
    count_tokens,
    prompt_chars,
)

pytestmark = pytest.mark.timeout(30)

KEY = "test-key"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Plan(BaseModel):
    steps: list[str]


class Verdict(BaseModel):
    passed: bool
    reason: str


@tool
def tap(x: int, y: int) -> str:
    """Tap the screen at (x, y)."""
    return f"tapped {x},{y}"


def make_llm(server: ScriptedLLMServer, **kwargs: Any) -> ChatOpenAI:
    options: dict[str, Any] = {"api_key": KEY, "model": "gpt-4o-mini", "stream_usage": True, "max_retries": 0}
    options.update(kwargs)
    return ChatOpenAI(base_url=server.base_url, **options)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedLLMServer]:
    async with ScriptedLLMServer(api_key=KEY) as running:
        yield running


async def test_plain_chat_with_usage_invoke_and_stream(server: ScriptedLLMServer) -> None:
    answer = "Hello from the script, streamed in several pieces."
    server.add_rules(Rule(kind="chat", contains="hello", content=answer, repeat=True))
    llm = make_llm(server)

    message = await llm.ainvoke("hello there")
    assert message.content == answer
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == count_tokens(len("hello there"))
    assert message.usage_metadata["output_tokens"] == count_tokens(len(answer))
    assert message.response_metadata["model_name"] == "gpt-4o-mini"

    chunks = [chunk async for chunk in llm.astream("hello again")]
    assert len(chunks) > 3
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.content == answer
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == count_tokens(len(answer))

    first, second = server.requests
    assert (first.number, first.kind, first.stream, first.status) == (1, "chat", False, 200)
    assert first.prompt_chars == len("hello there") and first.rule_index == 0
    assert second.stream and second.body["stream_options"] == {"include_usage": True}
    assert server.unused_rules() == []


async def test_tool_call_then_tool_result(server: ScriptedLLMServer) -> None:
    server.add_rules(
        Rule(name="tap", kind="tools", tool_calls=[ToolCallSpec(name="tap", arguments={"x": 10, "y": 20})]),
        Rule(name="after-tool", kind="tools", last_role="tool", content="Tapped, done."),
    )
    llm = make_llm(server).bind_tools([tap])
    history: list[Any] = [HumanMessage("tap the login button")]
    first = await llm.ainvoke(history)
    assert isinstance(first, AIMessage)
    assert first.tool_calls == [{"name": "tap", "args": {"x": 10, "y": 20}, "id": "call_0001_0", "type": "tool_call"}]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    result = await tap.ainvoke(first.tool_calls[0]["args"])
    history += [first, ToolMessage(result, tool_call_id=first.tool_calls[0]["id"])]
    second = await llm.ainvoke(history)
    assert second.content == "Tapped, done."

    one, two = server.requests
    assert one.kind == two.kind == "tools"
    assert (one.rule_name, two.rule_name, two.last_role) == ("tap", "after-tool", "tool")
    assert two.body["messages"][-1] == {"role": "tool", "content": result, "tool_call_id": "call_0001_0"}
    args = json.dumps({"x": 10, "y": 20})
    assert two.prompt_chars == len("tap the login button") + len(args) + len(result)
    assert two.prompt_chars == prompt_chars(two.body["messages"])
    assert server.total_prompt_chars == one.prompt_chars + two.prompt_chars


async def test_streamed_tool_calls_are_reassembled(server: ScriptedLLMServer) -> None:
    arguments = {"x": 123456789, "y": 987654321}
    server.add_rules(Rule(kind="tools", tool_calls=[ToolCallSpec(name="tap", arguments=arguments)] * 2))
    llm = make_llm(server).bind_tools([tap])
    merged: Any = None
    async for chunk in llm.astream("tap twice"):
        merged = chunk if merged is None else merged + chunk
    assert [call["args"] for call in merged.tool_calls] == [arguments, arguments]
    assert [call["id"] for call in merged.tool_calls] == ["call_0001_0", "call_0001_1"]
    assert merged.usage_metadata is not None and merged.usage_metadata["input_tokens"] > 0


async def test_structured_output_json_schema_and_function_calling(server: ScriptedLLMServer) -> None:
    server.add_rules(
        Rule(kind="structured", schema_name="Plan", content={"steps": ["open app", "log in"]}),
        Rule(kind="structured", schema_name="Verdict", content={"passed": True, "reason": "ok"}),
    )
    llm = make_llm(server)
    plan = await llm.with_structured_output(Plan).ainvoke("plan it")
    assert plan == Plan(steps=["open app", "log in"])
    verdict = await llm.with_structured_output(Verdict, method="function_calling").ainvoke("judge it")
    assert verdict == Verdict(passed=True, reason="ok")

    by_schema = [(r.kind, r.schema_name) for r in server.requests]
    assert by_schema == [("structured", "Plan"), ("structured", "Verdict")]
    assert server.requests[0].body["response_format"]["type"] == "json_schema"
    assert server.requests[1].body["tool_choice"]["function"]["name"] == "Verdict"


async def test_invalid_structured_answers(server: ScriptedLLMServer) -> None:
    server.add_rules(
        Rule(schema_name="Plan", raw_content="{not json"),
        Rule(schema_name="Verdict", raw_content="{not json"),
        Rule(schema_name="Verdict", content={"passed": "maybe?"}),
    )
    llm = make_llm(server)
    with pytest.raises(ValidationError):
        await llm.with_structured_output(Plan).ainvoke("plan it")

    broken: Any = await llm.with_structured_output(Verdict, method="function_calling", include_raw=True).ainvoke(
        "judge it"
    )
    assert broken["parsed"] is None
    assert broken["raw"].invalid_tool_calls[0]["args"] == "{not json"

    wrong: Any = await llm.with_structured_output(Verdict, method="function_calling", include_raw=True).ainvoke(
        "judge it again"
    )
    assert wrong["parsed"] is None and wrong["parsing_error"] is not None


async def test_delay_times_out_and_does_not_block_shutdown() -> None:
    server = ScriptedLLMServer([Rule(content="too late", delay_s=30)], api_key=KEY)
    async with server:
        llm = make_llm(server, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            await llm.ainvoke("are you there?")
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert server.requests[0].rule_index == 0


async def test_scripted_http_errors(server: ScriptedLLMServer) -> None:
    server.add_rules(
        Rule(status=500, error="the model crashed"),
        Rule(status=429, error="slow down"),
        Rule(content="small delay", delay_s=0.2),
    )
    llm = make_llm(server)
    with pytest.raises(openai.InternalServerError, match="the model crashed"):
        await llm.ainvoke("one")
    with pytest.raises(openai.RateLimitError, match="slow down"):
        await llm.ainvoke("two")
    assert (await llm.ainvoke("three")).content == "small delay"
    assert [r.status for r in server.requests] == [500, 429, 200]


async def test_no_rule_left_is_a_clear_500(server: ScriptedLLMServer) -> None:
    server.add_rules(Rule(kind="chat", content="only once"), Rule(kind="structured", content={}))
    llm = make_llm(server)
    assert (await llm.ainvoke("first")).content == "only once"
    with pytest.raises(openai.InternalServerError) as caught:
        await llm.ainvoke("second")
    assert "no scripted response for request #2 (kind=chat, schema=None" in str(caught.value)
    assert [rule.kind for rule in server.unused_rules()] == ["structured"]
    assert server.requests[-1].rule_index is None and server.requests[-1].status == 500

    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        response = await client.post("/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "no_scripted_response"


async def test_api_key_is_checked_and_never_recorded(server: ScriptedLLMServer) -> None:
    server.add_rules(Rule(content="hi", repeat=True))
    wrong = make_llm(server, api_key=SecretStr("wrong-key"))
    with pytest.raises(openai.AuthenticationError):
        await wrong.ainvoke("hello")
    assert (await make_llm(server).ainvoke("hello")).content == "hi"

    statuses = [r.status for r in server.requests]
    assert statuses == [401, 200]
    for record in server.requests:
        assert record.headers["authorization"] == "Bearer ***"
    async with httpx.AsyncClient(base_url=server.url) as client:
        dump = (await client.get("/_requests")).text
        assert KEY not in dump and "wrong-key" not in dump
        assert json.loads(dump)[1]["rule_index"] == 0
        models = await client.get("/v1/models")
        assert models.status_code == 401 and models.json()["error"]["code"] == "invalid_api_key"
        models = await client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        assert [m["id"] for m in models.json()["data"]] == ["gpt-4o-mini"]
        assert (await client.get("/health")).json() == {"status": "ok"}


async def test_plain_http_shapes_and_root_path() -> None:
    script = Script(rules=[Rule(content={"a": 1}, usage=UsageOverride(prompt_tokens=7))], models=["m1", "m2"])
    async with ScriptedLLMServer(script) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert [m["id"] for m in (await client.get("/models")).json()["data"]] == ["m1", "m2"]
        body = {
            "model": "whatever",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        }
        data = (await client.post("/chat/completions", json=body)).json()
        assert data["object"] == "chat.completion" and data["model"] == "whatever"
        assert data["id"].startswith("chatcmpl-") and isinstance(data["created"], int)
        assert data["choices"][0]["message"]["content"] == '{"a": 1}'
        assert data["usage"] == {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
        bad = await client.post("/v1/chat/completions", content=b"not json")
        assert bad.status_code == 400
    assert server.requests[1].prompt_chars == 2


def test_script_loading_and_validation(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text(
        "models: [x]\nrules:\n  - kind: structured\n    schema_name: Plan\n    content: {steps: [a]}\n"
        "  - {kind: tools, tool_calls: [{name: tap, arguments: '{\"x\": 1'}]}\n",
        encoding="utf-8",
    )
    script = Script.load(yaml_file)
    assert script.models == ["x"] and script.rules[0].content == {"steps": ["a"]}
    assert script.rules[1].tool_calls is not None and script.rules[1].tool_calls[0].arguments_text() == '{"x": 1'
    json_file = tmp_path / "rules.json"
    json_file.write_text(json.dumps([{"content": "hi", "repeat": True}]), encoding="utf-8")
    assert Script.load(json_file).rules == [Rule(content="hi", repeat=True)]
    with pytest.raises(ValidationError):
        Rule(content="a", raw_content="b")
    with pytest.raises(ValidationError):
        Rule.model_validate({"contians": "typo"})
    assert Rule(error="boom").status == 500
    with pytest.raises(NotLoopbackError):
        ScriptedLLMServer(host="0.0.0.0")


async def test_cli_subprocess_serves_the_openai_sdk(tmp_path: Path) -> None:
    script = tmp_path / "bench.yaml"
    script.write_text(
        "rules:\n"
        "  - {kind: tools, last_role: user, tool_calls: [{name: tap, arguments: {x: 1, y: 2}}]}\n"
        "  - {kind: tools, last_role: tool, content: all done}\n",
        encoding="utf-8",
    )
    record = tmp_path / "requests.json"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "qa_agent.world.scripted_llm", "--script", str(script)],
        *["--port", "0", "--api-key", KEY, "--record", str(record)],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(tmp_path),
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        assert line.startswith(READY_PREFIX) and line.endswith("/v1\n"), line
        base_url = line.removeprefix(READY_PREFIX).strip()
        assert base_url.startswith("http://127.0.0.1:")

        tools: Any = [
            {
                "type": "function",
                "function": {
                    "name": "tap",
                    "description": "Tap",
                    "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}},
                },
            }
        ]
        async with openai.AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0) as client:
            messages: list[Any] = [{"role": "user", "content": "tap it"}]
            first = await client.chat.completions.create(
                model="bench-model", messages=messages, tools=tools, tool_choice="auto"
            )
            call = first.choices[0].message.tool_calls
            assert call is not None and first.choices[0].finish_reason == "tool_calls"
            assert isinstance(call[0], ChatCompletionMessageFunctionToolCall)
            assert call[0].function.name == "tap"
            assert json.loads(call[0].function.arguments) == {"x": 1, "y": 2}
            assert first.model == "bench-model" and first.usage is not None
            messages += [
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call[0].id, "content": "ok"},
            ]
            second = await client.chat.completions.create(
                model="bench-model", messages=messages, tools=tools, tool_choice="auto"
            )
            assert second.choices[0].message.content == "all done"
    finally:
        if process.returncode is None:
            process.terminate()
        code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0
    logged = json.loads(record.read_text(encoding="utf-8"))
    assert [entry["rule_index"] for entry in logged] == [0, 1]
    assert logged[1]["prompt_chars"] == len("tap it") + len('{"x": 1, "y": 2}') + len("ok")
    assert KEY not in record.read_text(encoding="utf-8")

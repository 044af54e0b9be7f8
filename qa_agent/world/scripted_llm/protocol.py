"""OpenAI chat-completions wire format: reading requests, building answers, chunks and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from qa_agent.world.scripted_llm.script import Kind, Rule

FINGERPRINT = "fp_scripted"
STREAM_PIECE_CHARS = 24

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    408: "timeout",
    429: "rate_limit_exceeded",
}


@dataclass(frozen=True)
class RequestInfo:
    """What the matchers look at, extracted from one chat-completions body."""

    model: str
    kind: Kind
    schema_name: str | None
    forced_function: bool
    last_role: str | None
    text: str
    prompt_chars: int
    stream: bool
    include_usage: bool


@dataclass(frozen=True)
class Reply:
    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


def count_tokens(chars: int) -> int:
    """Deterministic stand-in for a tokenizer: one token per 4 characters, rounded up."""
    return (chars + 3) // 4


def content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                for key in ("text", "refusal"):
                    value = part.get(key)
                    if isinstance(value, str):
                        parts.append(value)
        return "".join(parts)
    return json.dumps(content, ensure_ascii=False)


def message_texts(messages: Any) -> list[str]:
    """Every message content plus every tool-call argument string, in order."""
    texts: list[str] = []
    if not isinstance(messages, list):
        return texts
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        texts.append(content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                texts.append(content_text(function.get("arguments")))
        legacy = message.get("function_call")
        if isinstance(legacy, Mapping):
            texts.append(content_text(legacy.get("arguments")))
    return texts


def prompt_chars(messages: Any) -> int:
    """Characters a request sends as prompt: message contents, tool-call arguments, tool results."""
    return sum(len(text) for text in message_texts(messages))


def classify(body: Mapping[str, Any]) -> tuple[Kind, str | None, bool]:
    """(kind, schema name, whether the answer must be a forced function call)."""
    response_format = body.get("response_format")
    tool_choice = body.get("tool_choice")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema")
        name = schema.get("name") if isinstance(schema, Mapping) else None
        return "structured", name if isinstance(name, str) else None, False
    if isinstance(tool_choice, Mapping) and tool_choice.get("type", "function") == "function":
        function = tool_choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if isinstance(name, str) and name:
            return "structured", name, True
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_object":
        return "structured", None, False
    if body.get("tools") and tool_choice in (None, "auto", "required"):
        return "tools", None, False
    return "chat", None, False


def inspect_request(body: Mapping[str, Any]) -> RequestInfo:
    messages = body.get("messages")
    texts = message_texts(messages)
    last_role: str | None = None
    if isinstance(messages, list) and messages and isinstance(messages[-1], Mapping):
        role = messages[-1].get("role")
        last_role = role if isinstance(role, str) else None
    kind, schema_name, forced = classify(body)
    options = body.get("stream_options")
    model = body.get("model")
    return RequestInfo(
        model=model if isinstance(model, str) else "",
        kind=kind,
        schema_name=schema_name,
        forced_function=forced,
        last_role=last_role,
        text="\n".join(texts),
        prompt_chars=sum(len(text) for text in texts),
        stream=body.get("stream") is True,
        include_usage=isinstance(options, Mapping) and options.get("include_usage") is True,
    )


def rule_matches(rule: Rule, info: RequestInfo) -> bool:
    if rule.kind is not None and rule.kind != info.kind:
        return False
    if rule.schema_name is not None and rule.schema_name != info.schema_name:
        return False
    if rule.last_role is not None and rule.last_role != info.last_role:
        return False
    needles = [rule.contains] if isinstance(rule.contains, str) else rule.contains or []
    return all(needle in info.text for needle in needles)


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def build_reply(rule: Rule, info: RequestInfo, number: int) -> Reply:
    """The assistant message a (non-error) rule produces for this request."""
    if rule.raw_content is not None:
        payload: str | None = rule.raw_content
    else:
        payload = None if rule.content is None else _encode(rule.content)
    calls = [(spec.name, spec.arguments_text()) for spec in rule.tool_calls or []]
    content = payload
    if info.forced_function and not calls and payload is not None and info.schema_name:
        calls, content = [(info.schema_name, payload)], None
    tool_calls = [
        {"id": f"call_{number:04d}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(calls)
    ]
    if content is None and not tool_calls:
        content = ""
    completion_chars = len(content or "") + sum(len(name) + len(args) for name, args in calls)
    prompt_tokens, completion_tokens = count_tokens(info.prompt_chars), count_tokens(completion_chars)
    total_tokens: int | None = None
    if rule.usage is not None:
        prompt_tokens = rule.usage.prompt_tokens if rule.usage.prompt_tokens is not None else prompt_tokens
        if rule.usage.completion_tokens is not None:
            completion_tokens = rule.usage.completion_tokens
        total_tokens = rule.usage.total_tokens
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total_tokens if total_tokens is not None else prompt_tokens + completion_tokens,
    }
    finish = rule.finish_reason or ("tool_calls" if tool_calls else "stop")
    return Reply(content=content, tool_calls=tool_calls, finish_reason=finish, usage=usage)


def completion_body(reply: Reply, *, completion_id: str, created: int, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": reply.usage,
    }


def _pieces(text: str) -> list[str]:
    return [text[i : i + STREAM_PIECE_CHARS] for i in range(0, len(text), STREAM_PIECE_CHARS)]


def stream_chunks(
    reply: Reply, *, completion_id: str, created: int, model: str, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer, in order."""
    base = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": FINGERPRINT,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    yield chunk({"role": "assistant", "content": "" if reply.content is not None else None, "refusal": None})
    for piece in _pieces(reply.content or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        function = call["function"]
        head = {"index": index, "id": call["id"], "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]})
        for piece in _pieces(function["arguments"]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": reply.usage}


def sse_lines(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    for item in chunks:
        yield f"data: {json.dumps(item, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def error_body(status: int, message: str, *, code: str | None = None, type_: str | None = None) -> dict[str, Any]:
    kind = type_ or _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}

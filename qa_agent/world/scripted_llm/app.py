"""The Starlette application: OpenAI-style endpoints answering from a :class:`ScriptState`."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from qa_agent.world.scripted_llm.protocol import (
    build_reply,
    completion_body,
    error_body,
    inspect_request,
    sse_lines,
    stream_chunks,
)
from qa_agent.world.scripted_llm.state import RecordedRequest, ScriptState, redact_headers

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, *, code: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code=code), status_code=status)


def _authorized(request: Request, api_key: str | None) -> bool:
    if api_key is None:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


def _unauthorized() -> JSONResponse:
    return _error(
        401,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def build_app(state: ScriptState, *, api_key: str | None = None) -> Starlette:
    def base_record(request: Request, status: int, body: Any = None) -> RecordedRequest:
        return RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers=redact_headers(request.headers.items()),
            body=body,
            time=state.now(),
            status=status,
        )

    async def chat_completions(request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
            parse_error = True
        else:
            parse_error = not isinstance(body, dict)
        if not _authorized(request, api_key):
            state.record(base_record(request, 401, body))
            return _unauthorized()
        if parse_error:
            state.record(base_record(request, 400, body))
            return _error(400, "request body must be a JSON object", code="invalid_json")
        info = inspect_request(body)
        number, index, rule = state.claim(info)
        entry = base_record(request, 500 if rule is None else rule.status, body).model_copy(
            update={
                "number": number,
                "kind": info.kind,
                "schema_name": info.schema_name,
                "last_role": info.last_role,
                "stream": info.stream,
                "prompt_chars": info.prompt_chars,
                "rule_index": index,
                "rule_name": None if rule is None or index is None else rule.label(index),
            }
        )
        state.record(entry)
        if rule is None:
            message = (
                f"no scripted response for request #{number} "
                f"(kind={info.kind}, schema={info.schema_name}, last_role={info.last_role})"
            )
            return _error(500, message, code="no_scripted_response")
        await state.sleep(rule.delay_s)
        if rule.is_error:
            return _error(rule.status, rule.error or f"scripted error {rule.status}", code="scripted_error")
        reply = build_reply(rule, info, number)
        completion_id, created = f"chatcmpl-scripted-{number:04d}", int(time.time())
        model = info.model or "scripted"
        if info.stream:
            chunks = stream_chunks(
                reply,
                completion_id=completion_id,
                created=created,
                model=model,
                include_usage=info.include_usage,
            )
            return StreamingResponse(
                sse_lines(chunks), media_type="text/event-stream", headers={"cache-control": "no-cache"}
            )
        return JSONResponse(completion_body(reply, completion_id=completion_id, created=created, model=model))

    async def models(request: Request) -> Response:
        if not _authorized(request, api_key):
            state.record(base_record(request, 401))
            return _unauthorized()
        state.record(base_record(request, 200))
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "scripted-llm"} for name in state.models]
        return JSONResponse({"object": "list", "data": data})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def recorded(request: Request) -> Response:
        return JSONResponse([entry.model_dump(mode="json") for entry in state.requests])

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/_requests", recorded, methods=["GET"]),
    ]
    return Starlette(routes=routes)

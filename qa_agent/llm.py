"""The chat model on any OpenAI-compatible endpoint, structured calls, and token accounting."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import httpx
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, SecretStr

from graph.context import Context
from graph.state import Usage
from qa_agent.devices.sessions import verified_tls

M = TypeVar("M", bound=BaseModel)


class LLMError(Exception):
    """The model could not give a usable answer; the run ends blocked with this message."""


@asynccontextmanager
async def chat_model(ctx: Context) -> AsyncIterator[ChatOpenAI]:
    """A ChatOpenAI whose HTTP client (proxy, TLS verification) is closed when the block ends."""
    key = ctx.llm_api_key or ctx.openai_api_key
    async with httpx.AsyncClient(
        proxy=ctx.proxy_url or None,
        verify=verified_tls() if ctx.llm_tls_verify else False,
        timeout=httpx.Timeout(ctx.llm_timeout_s, connect=10.0),
        follow_redirects=False,
    ) as http:
        yield ChatOpenAI(
            model=ctx.llm_model,
            base_url=ctx.llm_base_url,
            api_key=key or SecretStr("not-needed"),
            http_async_client=http,
            # The SDK sends its own per-request timeout (600 s by default), which overrides the
            # client's: without this, LLM_TIMEOUT_S had no effect and a stuck endpoint hung the run.
            timeout=httpx.Timeout(ctx.llm_timeout_s, connect=10.0),
            stream_usage=True,  # else usage is lost when the graph is streamed in messages mode
            max_retries=ctx.llm_max_retries,
            temperature=0,
        )


def usage_of(messages: Sequence[BaseMessage]) -> Usage:
    usage = Usage()
    for message in messages:
        meta = getattr(message, "usage_metadata", None) or {}
        if isinstance(message, AIMessage):
            usage.calls += 1
            usage.input_tokens += int(meta.get("input_tokens", 0))
            usage.output_tokens += int(meta.get("output_tokens", 0))
    return usage


TLS_HINT = (
    "the endpoint's TLS certificate is not trusted: add its CA to SSL_CERT_FILE, or set LLM_TLS_VERIFY=false "
    "if you trust this endpoint"
)


def _one_line(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).splitlines()[0][:300] if str(exc).strip() else name
    return f"{name}: {text}" if name not in text else text


def describe_llm_error(exc: BaseException) -> str:
    """The SDK's error and its root cause ("Connection error." alone does not say a certificate failed)."""
    out = _one_line(exc)
    root, seen = exc, {id(exc)}
    while (nxt := root.__cause__ or root.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        root = nxt
    if root is not exc:
        cause = _one_line(root)
        if cause not in out:
            out += f" ({cause})"
    if isinstance(root, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in out:
        out += f"; {TLS_HINT}"
    return out


async def structured_call(
    llm: ChatOpenAI, schema: type[M], messages: list[BaseMessage], *, repairs: int = 1
) -> tuple[M, list[AIMessage]]:
    """Ask for `schema` (function calling, which vLLM and OpenAI both guide); re-ask once if invalid."""
    runnable = llm.with_structured_output(schema, method="function_calling", include_raw=True)
    raws: list[AIMessage] = []
    history = list(messages)
    problem = ""
    for _ in range(repairs + 1):
        try:
            out = cast(dict[str, Any], await runnable.ainvoke(history))
        except Exception as exc:
            raise LLMError(f"the LLM endpoint failed: {describe_llm_error(exc)}") from None
        raw = out.get("raw")
        if isinstance(raw, AIMessage):
            raws.append(raw)
        parsed = out.get("parsed")
        if isinstance(parsed, schema) and out.get("parsing_error") is None:
            return parsed, raws
        problem = str(out.get("parsing_error") or "the answer did not call the required function")[:800]
        history = [
            *messages,
            HumanMessage(f"Your previous answer was invalid: {problem}\nAnswer again with valid {schema.__name__}."),
        ]
    raise LLMError(f"the LLM gave no valid {schema.__name__} after {repairs + 1} tries: {problem}")

"""Raw stream bytes to the final Response (or the SDK's final object).

* native / pure: ``collect(wire, chunks)``, the no-per-event-object path;
* orjson: the minimal loop of ``baselines.orjson_collect`` (split lines, orjson.loads,
  dict fold building text / tool calls / usage), which yields a dict, not a Response;
* sdk: the provider SDK's stream helper over an httpx mock transport serving the same
  chunks: openai ``chat.completions.stream`` + ``get_final_completion`` (openai-chat),
  openai ``responses.stream`` + ``get_final_response`` (openai-responses), anthropic
  ``messages.stream`` + ``get_final_message`` (anthropic). Each round is a full request
  through the SDK's client (request building, mock transport, response, helper);
* facade: allm's own provider façade through the same kind of mock transport, when
  ``allm.providers`` has the provider class (it is being written concurrently).
"""

from __future__ import annotations

import pytest

from baselines import (
    anthropic_client,
    mock_http_client,
    openai_client,
    orjson_collect,
    sdk_collect,
    sdk_text_and_calls,
)
from conftest import dist_version, require
from streams import script, stream

IMPLS = ["native", "pure", "orjson", "sdk", "facade"]

SDK_HELPER = {
    "openai-chat": ("openai", "chat.completions.stream + get_final_completion"),
    "openai-responses": ("openai", "responses.stream + get_final_response"),
    "anthropic": ("anthropic", "messages.stream + get_final_message"),
}


def _check(impl, wire, size, text, calls):
    s = script(wire, size)
    if text != s.text or calls != len(s.calls):
        pytest.fail(
            f"{impl} collected a wrong result for {wire}/{size}: {len(text)} chars "
            f"(expected {len(s.text)}), {calls} tool calls (expected {len(s.calls)})"
        )


def _facade_runner(wire, chunks):
    """``allm.generate`` through allm's provider adapter over a mock transport (if it exists yet)."""
    try:
        import allm
        from allm import providers
    except Exception as exc:
        pytest.skip(f"allm not importable: {type(exc).__name__}: {exc}")
    name = "Anthropic" if wire == "anthropic" else "OpenAI"
    adapter = getattr(providers, name, None)
    if adapter is None or not hasattr(allm, "Engine") or not hasattr(allm, "generate"):
        pytest.skip(f"allm.providers.{name} / allm.Engine / allm.generate not there yet")
    opts = {"api_key": "sk-bench", "http_client": mock_http_client(chunks), "max_retries": 0}
    if wire == "anthropic":
        opts["base_url"] = "https://api.anthropic.test"
        model = "claude-sonnet-4-6"
    else:
        opts["base_url"] = "https://api.openai.test/v1"
        opts["endpoint"] = "responses" if wire == "openai-responses" else "chat"
        model = "gpt-4.1" if wire == "openai-responses" else "gpt-4o"
    try:
        engine = allm.Engine(adapter=adapter, model=model, adapter_opts=opts)
        req = allm.request([allm.user("What is the weather in São Paulo and Tokyo?")])
    except Exception as exc:
        pytest.skip(f"cannot build the allm engine/request: {type(exc).__name__}: {exc}")

    def run():
        return allm.generate(engine, req)

    return run


@pytest.mark.parametrize("impl", IMPLS)
def test_collect(benchmark, measure, backend_for, wire, size, impl):
    chunks = stream(wire, size).chunks
    info = {}
    if impl in ("native", "pure"):
        mod = backend_for(impl)
        require(mod, "collect")
        collect = mod.collect

        def run():
            return collect(wire, chunks)

        def check(r):
            _check(impl, wire, size, r.output_text, len(r.tool_calls))
            if r.usage is None or r.finish_reason != "tool_calls":
                pytest.fail(f"{impl} collect: usage={r.usage!r} finish={r.finish_reason!r}")

    elif impl == "orjson":

        def run():
            return orjson_collect(wire, chunks)

        def check(r):
            _check(impl, wire, size, r["text"], len(r["tool_calls"]))

    elif impl == "sdk":
        dist, helper = SDK_HELPER[wire]
        pytest.importorskip(dist)
        client = anthropic_client(chunks) if dist == "anthropic" else openai_client(chunks)
        run = sdk_collect(wire, client)
        info = {"sdk": f"{dist} {dist_version(dist)}", "helper": helper}

        def check(r):
            _check(impl, wire, size, *sdk_text_and_calls(wire, r))

    elif impl == "facade":
        run = _facade_runner(wire, chunks)
        import allm

        info = {"backend": allm.backend_info().name}

        def check(r):
            _check(impl, wire, size, r.output_text, len(r.tool_calls))

    else:
        raise ValueError(impl)
    measure(benchmark, run, suite="collect", impl=impl, check=check, **info)

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

import inspect

import pytest
from baselines import anthropic_client, openai_client, orjson_collect, sdk_collect, sdk_text_and_calls
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
        pytest.fail(f"{impl} collected a wrong result for {wire}/{size}: {len(text)} chars "
                    f"(expected {len(s.text)}), {calls} tool calls (expected {len(s.calls)})")


def _facade_runner(wire, chunks):
    """allm's façade over a mock transport, if the provider classes exist yet."""
    try:
        import allm
        from allm import providers
    except Exception as exc:
        pytest.skip(f"allm not importable: {type(exc).__name__}: {exc}")
    name = {"openai-chat": "OpenAI", "openai-responses": "OpenAIResponses", "anthropic": "Anthropic"}[wire]
    cls = getattr(providers, name, None)
    if cls is None:
        pytest.skip(f"allm.providers.{name} does not exist yet (providers are being written)")
    from baselines import mock_http_client

    params = inspect.signature(cls).parameters
    kwargs = {"api_key": "sk-bench"} if "api_key" in params else {}
    if "http_client" in params:
        kwargs["http_client"] = mock_http_client(chunks)
    elif "transport" in params:
        from baselines import mock_http_client as _m

        kwargs["transport"] = _m(chunks)._transport
    else:
        pytest.skip(f"allm.providers.{name} takes neither http_client nor transport: {list(params)}")
    if "base_url" in params:
        kwargs["base_url"] = "https://api.bench.test/v1"
    provider = cls(**kwargs)
    generate = getattr(allm, "generate", None)
    if generate is None:
        pytest.skip("allm.generate does not exist")
    model = {"openai-chat": "gpt-4o", "openai-responses": "gpt-4.1", "anthropic": "claude-sonnet-4-6"}[wire]

    def run():
        return generate(provider, model=model, messages="What is the weather in São Paulo and Tokyo?")

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

        r = run()
        _check(impl, wire, size, r.output_text, len(r.tool_calls))
        if r.usage is None or r.finish_reason != "tool_calls":
            pytest.fail(f"{impl} collect: usage={r.usage!r} finish={r.finish_reason!r}")
    elif impl == "orjson":

        def run():
            return orjson_collect(wire, chunks)

        r = run()
        _check(impl, wire, size, r["text"], len(r["tool_calls"]))
    elif impl == "sdk":
        dist, helper = SDK_HELPER[wire]
        pytest.importorskip(dist)
        client = anthropic_client(chunks) if dist == "anthropic" else openai_client(chunks)
        run = sdk_collect(wire, client)
        _check(impl, wire, size, *sdk_text_and_calls(wire, run()))
        info = {"sdk": f"{dist} {dist_version(dist)}", "helper": helper}
    elif impl == "facade":
        run = _facade_runner(wire, chunks)
        r = run()
        _check(impl, wire, size, r.output_text, len(r.tool_calls))
        import allm

        info = {"backend": allm.backend_info().name}
    else:
        raise ValueError(impl)
    measure(benchmark, run, suite="collect", impl=impl, **info)

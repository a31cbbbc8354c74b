"""``python -m allm.demo``: a short streamed session against the built-in Fake provider."""

from __future__ import annotations

import sys
import time

import allm


def _engine() -> allm.Engine:
    reply = "Streaming is the primitive: every call is a stream of events, and generate is its fold."
    script: list[tuple[str, object]] = [("text", word + " ") for word in reply.split()]
    script += [("usage", {"input_tokens": 12, "output_tokens": 17, "total_tokens": 29}), ("finish", "stop")]
    return allm.Engine(adapter=allm.providers.Fake, model="fake-1", adapter_opts={"script": script})


def main() -> int:
    """Stream a Fake reply token by token, then print the folded Response."""
    info = allm.backend_info()
    print(f"allm {allm.__version__} on the {info.name} backend ({info.build_profile}): {info.reason}\n")
    req = allm.request([allm.user("What is allm's core idea?")])
    print("user> What is allm's core idea?\nassistant> ", end="", flush=True)
    with allm.stream_generate(_engine(), req) as stream:
        for event in stream:
            if isinstance(event, allm.events.TextDelta):
                print(event.delta, end="", flush=True)
                time.sleep(0.03)
        response = stream.get_final_response()
    usage = response.usage
    print("\n\nfolded Response:")
    print(f"  text          {response.output_text!r}")
    print(f"  finish_reason {response.finish_reason}")
    if usage is not None:
        print(f"  usage         input={usage.input_tokens} output={usage.output_tokens} total={usage.total_tokens}")
    print(f"  request_id    {response.request_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

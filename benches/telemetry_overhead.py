"""What telemetry costs per call: generate on the Fake with OpenTelemetry absent, with the API's
no-op tracer provider, and with the SDK recording to an in-memory exporter.

    python benches/telemetry_overhead.py [calls]

Each variant runs in its own process (a tracer provider is set once per process); the
figure is the best of five rounds, in microseconds per call.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_HIDE = """
import importlib.abc, sys
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Hide())
"""

_SDK = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
trace.set_tracer_provider(provider)
"""

_RUN = """
import time
import allm
script = [("text", "hi"), ("usage", {"input_tokens": 3, "output_tokens": 1}), ("finish", "stop")]
opts = {"scripts": [script] * (6 * N)}
engine = allm.Engine(adapter=allm.providers.Fake, model="gpt-4o", adapter_opts=opts)
request = allm.request([allm.user("hi")])
for _ in range(N):
    allm.generate(engine, request)
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range(N):
        allm.generate(engine, request)
    best = min(best, time.perf_counter() - start)
print(best / N * 1e6)
"""

VARIANTS = {"no OpenTelemetry": _HIDE, "API, no-op provider": "", "SDK, in-memory exporter": _SDK}


def measure(prelude: str, calls: int) -> float:
    code = textwrap.dedent(prelude) + f"\nN = {calls}\n" + textwrap.dedent(_RUN)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    figures = {name: measure(prelude, calls) for name, prelude in VARIANTS.items()}
    base = figures["no OpenTelemetry"]
    for name, us in figures.items():
        print(f"{name:26s} {us:8.1f} us/call   {us - base:+7.1f} us vs no OpenTelemetry")


if __name__ == "__main__":
    main()

"""An in-memory OpenTelemetry SDK set up once per process, for telemetry tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry import metrics, trace  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@dataclass
class Otel:
    """The exporter and metric reader every telemetry test reads from."""

    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        """Spans ended so far, in end order."""
        return list(self.spans.get_finished_spans())

    def metric_points(self, name: str) -> list[Any]:
        """Every data point recorded for the metric ``name``."""
        data = self.metrics.get_metrics_data()
        points: list[Any] = []
        if data is None:
            return points
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


_INSTALLED: list[Otel] = []


def installed() -> Otel:
    """The process-wide in-memory SDK (a tracer provider can be set only once per process)."""
    if not _INSTALLED:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _INSTALLED.append(Otel(exporter, reader))
    return _INSTALLED[0]

"""Print the ratio table of a pytest-benchmark run, with the issue's targets marked met/missed.

Usage: ``python benches/report.py [benchmark.json [floor.txt]]`` (defaults
``.benchmarks/latest.json`` and ``.benchmarks/floor.txt``, what ``make bench`` writes).
Reads medians only (the Rust floor bench prints best-of-N).
A ratio is ``competitor median / native median``: how many times faster native is.

Targets (issue 3, "Benchmarks"): native bytes-to-Response >= 10x the orjson loop and
the pure twin, >= 300x the openai SDK helper, within 2x of the Rust-only floor
(``cargo bench -p allm-core --bench floor`` on the same bytes, its output saved as
floor.txt); native fold >= 5x pure; streaming bytes to event objects >= 3x the orjson loop.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / ".benchmarks" / "latest.json"

WIRES = ("openai-chat", "openai-responses", "anthropic")
SIZES = (200, 2_000, 20_000)

SUITES = {
    "collect": ("raw stream bytes -> final Response", ("native", "pure", "orjson", "sdk", "facade")),
    "stream_events": ("raw stream bytes -> Python event objects, per chunk", ("native", "pure", "orjson")),
    "sse": ("SSE bytes -> ServerSentEvent objects", ("native", "pure", "httpx_sse", "openai_sdk")),
    "fold": ("collector fold of Python event objects", ("native", "pure")),
}

# (suite, competitor, minimum ratio, wires the target applies to, label)
TARGETS = [
    ("collect", "orjson", 10.0, WIRES, "native collect vs orjson loop"),
    ("collect", "pure", 10.0, WIRES, "native collect vs pure collect"),
    ("collect", "sdk", 300.0, ("openai-chat",), "native collect vs openai chat.completions.stream"),
    ("collect", "sdk", 300.0, ("openai-responses",), "native collect vs openai responses.stream"),
    ("fold", "pure", 5.0, WIRES, "native Fold vs pure Fold"),
    ("stream_events", "orjson", 3.0, WIRES, "native StreamDecoder vs orjson loop"),
]


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds * 1e6:.0f}us"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def load(path: Path) -> tuple[dict[tuple[str, str, int, str], float], dict[str, Any], dict[tuple, dict]]:
    data = json.loads(path.read_text())
    medians: dict[tuple[str, str, int, str], float] = {}
    infos: dict[tuple, dict] = {}
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        if not {"suite", "wire", "size", "impl"} <= info.keys():
            continue
        key = (info["suite"], info["wire"], int(info["size"]), info["impl"])
        medians[key] = bench["stats"]["median"]
        infos[key] = {**info, "_min": bench["stats"]["min"]}
    return medians, data, infos


def rust_floor(path: Path) -> dict[str, dict[str, float]]:
    """The Rust-only floor bench's table (``cargo bench -p allm-core --bench floor`` output).

    Per wire: events, and seconds per whole stream for sse / floor / floor_value / collect
    (the bench prints ns per event, best of N runs).
    """
    out: dict[str, dict[str, float]] = {}
    if not path.exists():
        return out
    row = re.compile(
        r"^(?P<wire>[a-z-]+)\s+(?P<bytes>\d+)\s+(?P<events>\d+)\s+(?P<sse>[\d.]+)ns\s+(?P<floor>[\d.]+)ns\s+"
        r"(?P<value>[\d.]+)ns\s+(?P<collect>[\d.]+)ns"
    )
    for line in path.read_text().splitlines():
        m = row.match(line.strip())
        if not m or m["wire"] not in WIRES:
            continue
        events = int(m["events"])
        out[m["wire"]] = {"events": events, "bytes": int(m["bytes"])}
        for key in ("sse", "floor", "value", "collect"):
            out[m["wire"]][key] = float(m[key]) * events / 1e9
    return out


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    floor_path = Path(argv[2]) if len(argv) > 2 else path.with_name("floor.txt")
    if not path.exists():
        print(f"report: {path} not found; run the benches with --benchmark-json={path}", file=sys.stderr)
        return 1
    medians, data, infos = load(path)
    machine = data.get("machine_info", {})
    commit = data.get("commit_info", {})
    print(f"allm benchmarks: {path.name}, {data.get('datetime', '?')}")
    cpu = machine.get("cpu", {}).get("brand_raw", "?")
    print(
        f"machine: {machine.get('node', '?')}, {cpu}, {machine.get('cpu', {}).get('count', '?')} cpus, "
        f"Python {machine.get('python_version', '?')}; commit {str(commit.get('id', '?'))[:10]}"
        f"{' (dirty)' if commit.get('dirty') else ''}"
    )
    profiles = {i.get("build_profile") for k, i in infos.items() if k[3] == "native"} - {None}
    if profiles:
        print(f"native build profile: {', '.join(sorted(profiles))}")
        if profiles != {"release"}:
            print("WARNING: the native module is not a release build; its numbers are not meaningful")
    facade = sorted({i["backend"] for k, i in infos.items() if k[3] == "facade" and "backend" in i})
    if facade:
        print(f"facade (allm.generate over a mock transport) ran on the {', '.join(facade)} backend")
    sdk = sorted({i["sdk"] + " (" + i.get("helper", "") + ")" for i in infos.values() if "sdk" in i})
    if sdk:
        print("SDKs: " + "; ".join(sdk))
    print("All times are medians; ratio = competitor median / native median (higher: native is faster).")

    # per-suite tables
    for suite, (title, impls) in SUITES.items():
        present = [i for i in impls if any(k[0] == suite and k[3] == i for k in medians)]
        if not present:
            continue
        others = [i for i in present if i != "native"]
        header = ["wire", "size", *present, *(f"{o}/native" for o in others if "native" in present)]
        rows = [header]
        for wire in WIRES:
            for size in SIZES:
                vals = {i: medians.get((suite, wire, size, i)) for i in present}
                if all(v is None for v in vals.values()):
                    continue
                row = [wire, f"{size:,}", *(fmt_time(vals[i]) for i in present)]
                if "native" in present:
                    nat = vals["native"]
                    for o in others:
                        row.append(fmt_ratio(vals[o] / nat) if vals[o] and nat else "-")
                rows.append(row)
        print(f"\n## {suite}: {title}\n")
        print(table(rows))

    # targets
    print("\n## targets (issue 3)\n")
    rows = [["target", "wire", *(f"{s:,}" for s in SIZES)]]
    met = missed = 0
    for suite, comp, minimum, wires, label in TARGETS:
        for wire in wires:
            row = [f"{label} >= {minimum:g}x", wire]
            for size in SIZES:
                nat = medians.get((suite, wire, size, "native"))
                other = medians.get((suite, wire, size, comp))
                if not nat or not other:
                    row.append("n/a")
                    continue
                r = other / nat
                ok = r >= minimum
                met += ok
                missed += not ok
                mins = [infos[(suite, wire, size, i)]["_min"] for i in (comp, "native")]
                r_min = mins[0] / mins[1]
                row.append(f"{fmt_ratio(r)} {'met' if ok else 'MISSED'} ({fmt_ratio(r_min)})")
            rows.append(row)
    floor = rust_floor(floor_path)
    for wire in WIRES:
        row = ["native collect within 2x of Rust floor", wire]
        for size in SIZES:
            nat = medians.get(("collect", wire, size, "native"))
            fl = floor.get(wire)
            if not nat or not fl or fl["events"] != size:
                row.append("n/a")
                continue
            r = nat / fl["floor"]
            ok = r <= 2.0
            met += ok
            missed += not ok
            r_min = infos[("collect", wire, size, "native")]["_min"] / fl["floor"]
            row.append(f"{r:.2f}x {'met' if ok else 'MISSED'} ({r_min:.2f}x)")
        rows.append(row)
    print(table(rows))
    print("(in parentheses: the same ratio on minimums, a check on noise from other load on the machine)")
    if floor:
        print(
            f"\nRust-only floor ({floor_path.name}; best of N, so slightly favourable to the floor): "
            "per stream, SSE framing / framing + JSON validation (the floor) / framing + serde_json::Value / "
            "core collect, and the Python-measured native collect median"
        )
        for wire, f in floor.items():
            nat = medians.get(("collect", wire, int(f["events"]), "native"))
            print(
                f"  {wire:17} {int(f['events']):,} events (the benches' bytes): sse {fmt_time(f['sse'])}, "
                f"floor {fmt_time(f['floor'])}, value {fmt_time(f['value'])}, core collect "
                f"{fmt_time(f['collect'])} ({f['collect'] / f['floor']:.2f}x floor); "
                f"allm._native.collect {fmt_time(nat)}" + (f" ({nat / f['floor']:.2f}x floor)" if nat else "")
            )
            oj = medians.get(("collect", wire, int(f["events"]), "orjson"))
            if oj:
                print(
                    f"  {'':17} orjson loop / floor = {oj / f['floor']:.1f}x: the most a decoder that runs "
                    "serde_json over every payload can gain on the orjson loop"
                )
    else:
        print(f"\n(no Rust-only floor results: {floor_path} missing; `make bench` writes it)")
    # informational: anthropic SDK
    anth = []
    for size in SIZES:
        sdk_median = medians.get(("collect", "anthropic", size, "sdk"))
        anth.append((size, sdk_median, medians.get(("collect", "anthropic", size, "native"))))
    if any(s and n for _, s, n in anth):
        cells = ", ".join(f"{size:,}: {fmt_ratio(s / n)}" for size, s, n in anth if s and n)
        print(f"(no target) native collect vs anthropic messages.stream: {cells}")
    print(f"\ntargets met: {met}, missed: {missed}, not measured: cells marked n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

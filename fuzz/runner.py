"""The differential fuzz loop, its crash-proof supervisor, the allow-list and replay.

``python -m fuzz`` starts a worker process that runs cases ``start, start+1,
...`` of one seed until its time is up, writing the index of the case in
progress to a file first. If the worker dies (a segfault, an abort) or hangs,
the supervisor regenerates that case from the seed and index, saves it as a
reproducer, and starts a new worker after it. Findings inside the worker are
shrunk, printed and saved under ``fuzz/failures/``, unless a documented
allow-list entry matches them.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cases import load_corpus, make_case
from .harness import Case, Finding, backends, judge, shown
from .minimize import minimize

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
ALLOWLIST = HERE / "allowlist.json"
FAILURES = HERE / "failures"
HANG_GRACE = 60.0  # seconds past its budget before a worker counts as hung
MINIMIZE_SECONDS = 20.0
SAVED = 20_000  # characters of each backend's output kept in a saved reproducer


@dataclass(frozen=True)
class Allowed:
    """A known, reported defect. A finding passes when every pattern given matches
    (``re.search``): ``finding`` against its summary, ``input`` against the input
    bytes read as latin-1, ``options`` against the repr of the decoder options."""

    id: str
    reason: str
    finding: str = ""
    input: str = ""
    options: str = ""

    def matches(self, finding: Finding, case: Case) -> bool:
        texts = (finding.summary(case), case.data.decode("latin-1"), repr(case.options))
        patterns = (self.finding, self.input, self.options)
        return all(re.search(p, t, re.DOTALL) for p, t in zip(patterns, texts, strict=True) if p)


def load_allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    return [Allowed(**entry) for entry in json.loads(path.read_text())["entries"]]


def allowed_by(allowlist: list[Allowed], finding: Finding, case: Case) -> Allowed | None:
    return next((entry for entry in allowlist if entry.matches(finding, case)), None)


@dataclass
class Tally:
    """What a worker saw: cases per wire and mode, allowed findings per entry, new failures."""

    cases: int = 0
    per_wire: collections.Counter[str] = field(default_factory=collections.Counter[str])
    per_mode: collections.Counter[str] = field(default_factory=collections.Counter[str])
    allowed: collections.Counter[str] = field(default_factory=collections.Counter[str])
    failures: list[str] = field(default_factory=list[str])
    seen: list[list[str]] = field(default_factory=list[list[str]])

    def to_json(self) -> dict[str, Any]:
        return {
            name: value if isinstance(value, int | list) else dict(value)
            for name, value in vars(self).items()
        }

    def merge(self, other: dict[str, Any]) -> None:
        self.cases += other["cases"]
        for name in ("per_wire", "per_mode", "allowed"):
            getattr(self, name).update(other[name])
        self.failures += other["failures"]
        self.seen += other["seen"]


def show_bytes(data: bytes, limit: int = 2000) -> str:
    text = repr(data)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(data)} bytes in all)"


def save(case: Case, finding: Finding, seed: int, index: int, out: Path) -> Path:
    """Write the reproducer as JSON, named after its content; its path."""
    saved = {**asdict(finding), "native": shown(finding.native, SAVED), "pure": shown(finding.pure, SAVED)}
    body = {"seed": seed, "index": index, "finding": saved, "case": case.to_json()}
    text = json.dumps(body, indent=1)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{finding.kind}-{hashlib.sha1(text.encode()).hexdigest()[:10]}.json"
    path.write_text(text)
    return path


def report(case: Case, finding: Finding, seed: int, index: int, path: Path) -> None:
    lines = [
        f"FAIL {finding.kind} {finding.where} [{case.wire} {case.mode}] (seed {seed}, case {index})",
        f"  input ({len(case.data)} bytes): {show_bytes(case.data)}",
        f"  chunk sizes: {[len(c) for c in case.chunks]}",
        f"  options: {case.options} end: {case.end} peek: {case.peek} chunk type: {case.chunk_type}",
        f"  detail: {finding.detail}",
    ]
    if finding.kind == "disagreement":
        lines += [f"  native: {shown(finding.native)}", f"  pure:   {shown(finding.pure)}"]
    lines.append(f"  saved: {path} (replay: python -m fuzz --replay {path})")
    print("\n".join(lines), flush=True)


class Worker:
    """Runs cases of one seed and handles what they find."""

    def __init__(self, seed: int, out: Path, allowlist: list[Allowed]) -> None:
        self.seed, self.out, self.allowlist = seed, out, allowlist
        self.corpus = load_corpus()
        mods = backends()
        self.native, self.pure = mods["native"], mods["pure"]
        self.tally = Tally()

    def still(self, key: tuple[str, str]) -> Any:
        def check(case: Case) -> bool:
            found = judge(case, self.native, self.pure)
            return found is not None and found.key == key

        return check

    def one(self, index: int) -> None:
        case = make_case(self.seed, index, self.corpus)
        self.tally.cases += 1
        self.tally.per_wire[case.wire] += 1
        self.tally.per_mode[case.mode] += 1
        finding = judge(case, self.native, self.pure)
        if finding is None:
            return
        entry = allowed_by(self.allowlist, finding, case)
        if entry is not None:
            self.tally.allowed[entry.id] += 1
        elif list(finding.key) not in self.tally.seen:
            self.tally.seen.append(list(finding.key))
            small = minimize(case, self.still(finding.key), MINIMIZE_SECONDS)
            final = judge(small, self.native, self.pure) or finding
            path = save(small, final, self.seed, index, self.out)
            report(small, final, self.seed, index, path)
            self.tally.failures.append(str(path))

    def loop(self, start: int, seconds: float, progress: Path) -> None:
        deadline = time.monotonic() + seconds
        fd = os.open(progress, os.O_RDWR | os.O_CREAT, 0o600)
        index = start
        try:
            while time.monotonic() < deadline:
                os.pwrite(fd, index.to_bytes(8, "little"), 0)
                self.one(index)
                index += 1
        finally:
            os.close(fd)


def run_worker(args: argparse.Namespace) -> int:
    worker = Worker(args.seed, Path(args.out), load_allowlist(Path(args.allowlist)))
    worker.loop(args.start, args.seconds, Path(args.progress))
    Path(args.summary).write_text(json.dumps(worker.tally.to_json()))
    return 0


def worker_command(args: argparse.Namespace, start: int, seconds: float, tmp: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "fuzz",
        "--worker",
        f"--seed={args.seed}",
        f"--start={start}",
        f"--seconds={seconds}",
        f"--out={args.out}",
        f"--allowlist={args.allowlist}",
        f"--progress={tmp / 'progress'}",
        f"--summary={tmp / 'summary.json'}",
    ]


def died(args: argparse.Namespace, tmp: Path, how: str, tally: Tally, start: int) -> int:
    """Save the case a dead or hung worker was running; the index to resume after."""
    index = int.from_bytes((tmp / "progress").read_bytes()[:8], "little")
    case = make_case(args.seed, index, load_corpus())
    finding = Finding("crash", how, f"the worker {how} while running this case")
    path = save(case, finding, args.seed, index, Path(args.out))
    report(case, finding, args.seed, index, path)
    tally.failures.append(str(path))
    tally.cases += index + 1 - start
    return index + 1


def supervise(args: argparse.Namespace) -> Tally:
    tally, start = Tally(), 0
    deadline = time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory(prefix="allm-fuzz-") as name:
        tmp = Path(name)
        while (left := deadline - time.monotonic()) > 0.5:
            proc = subprocess.Popen(worker_command(args, start, left, tmp))
            try:
                code = proc.wait(timeout=left + HANG_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                start = died(args, tmp, "hung", tally, start)
                continue
            if code == 0:
                tally.merge(json.loads((tmp / "summary.json").read_text()))
                break
            if code > 0:
                tally.failures.append(f"the worker exited with {code} (traceback above)")
                break
            start = died(args, tmp, f"died by {signal.Signals(-code).name}", tally, start)
    return tally


def print_tally(tally: Tally, seconds: float, allowlist: list[Allowed]) -> None:
    rate = tally.cases / seconds if seconds else 0.0
    print(f"fuzz: {tally.cases} cases in {seconds:.1f} s ({rate:.0f}/s), both backends each")
    print(f"  per wire: {dict(sorted(tally.per_wire.items()))}")
    print(f"  per mode: {dict(sorted(tally.per_mode.items()))}")
    for entry in allowlist:
        print(f"  allowed {entry.id}: {tally.allowed.get(entry.id, 0)} ({entry.reason})")
    print(f"  new failures: {len(tally.failures)}")
    for path in tally.failures:
        print(f"    {path}")


def replay(path: Path) -> int:
    body = json.loads(path.read_text())
    case = Case.from_json(body["case"])
    mods = backends()
    finding = judge(case, mods["native"], mods["pure"])
    if finding is None:
        print(f"{path}: passes now")
        return 0
    report(case, finding, body["seed"], body["index"], path)
    return 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fuzz", description="Differential fuzzing, native against pure."
    )
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "300")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "0")) or None)
    parser.add_argument("--out", default=str(FAILURES))
    parser.add_argument("--allowlist", default=str(ALLOWLIST))
    parser.add_argument("--replay", type=Path, help="re-run one saved reproducer")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    parser.add_argument("--summary", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: fuzz for ``--seconds`` (``FUZZ_SECONDS``), seed ``--seed`` (``FUZZ_SEED``)."""
    args = parse(argv)
    if args.replay is not None:
        return replay(args.replay)
    if args.worker:
        return run_worker(args)
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(4), "little")
    print(f"fuzz: seed {args.seed}, budget {args.seconds:.0f} s (rerun: FUZZ_SEED={args.seed})", flush=True)
    started = time.monotonic()
    tally = supervise(args)
    print_tally(tally, time.monotonic() - started, load_allowlist(Path(args.allowlist)))
    return 1 if tally.failures else 0

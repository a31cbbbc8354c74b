//! The Rust-only floor: SSE framing + JSON parsing with no fold, next to the
//! full core `collect`, on the exact bytes of the Python benches.
//!
//!     make bench          (dumps the streams, then runs this bench on them)
//!
//! or by hand: `python benches/streams.py --dump DIR 20000`, then
//! `ALLM_FLOOR_STREAMS=DIR cargo bench -p allm-core --bench floor`. The streams
//! are `<DIR>/<wire>.sse` (the body) and `<DIR>/<wire>.cuts` (network chunk
//! lengths separated by spaces); without them the bench says so and exits.
//! `ALLM_FLOOR_STREAMS` defaults to the workspace's `.benchmarks/streams`.
//!
//! Printed per wire, best of N runs, in ns per SSE event:
//! * `sse`: SSE framing only;
//! * `floor`: SSE framing + strict JSON validation of every payload
//!   (`serde_json` into `IgnoredAny`), no fold;
//! * `floor_value`: SSE framing + `serde_json::Value` of every payload (what a
//!   dict-building parser does);
//! * `collect`: the full core `collect` (decoders + fold);
//! * `ratio`: collect / floor.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use allm_core::{collect, Limits, SseDecoder, Wire};

fn streams_dir() -> PathBuf {
    std::env::var_os("ALLM_FLOOR_STREAMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.benchmarks/streams"))
}

/// The dumped body and chunk lengths of one wire, or None when they are absent.
fn load(wire: Wire) -> Option<(Vec<u8>, Vec<usize>)> {
    let dir = streams_dir();
    let body = std::fs::read(dir.join(format!("{}.sse", wire.name()))).ok()?;
    let cuts = std::fs::read_to_string(dir.join(format!("{}.cuts", wire.name())))
        .ok()?
        .split_whitespace()
        .map(|n| n.parse().expect("a chunk length"))
        .collect();
    Some((body, cuts))
}

fn chunks<'a>(body: &'a [u8], cuts: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut pos = 0;
    cuts.iter().map(move |&n| {
        let c = &body[pos..pos + n];
        pos += n;
        c
    })
}

fn best_of<F: FnMut() -> usize>(runs: usize, mut f: F) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..runs {
        let t = Instant::now();
        n = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, n)
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter may follow.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let runs: usize = std::env::var("ALLM_FLOOR_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    // `ALLM_FLOOR_ONLY=collect` (or floor, ...) runs one measurement only (for perf record / perf stat).
    let only = std::env::var("ALLM_FLOOR_ONLY").unwrap_or_default();
    let runs_of = |what: &str| if only.is_empty() || only == what { runs } else { 0 };
    println!(
        "{:<17} {:>9} {:>7} {:>9} {:>9} {:>12} {:>11} {:>6}",
        "wire", "bytes", "events", "sse", "floor", "floor_value", "collect", "ratio"
    );
    for wire in [Wire::OpenAiChat, Wire::OpenAiResponses, Wire::Anthropic] {
        if !filter.is_empty() && !filter.iter().any(|f| wire.name().contains(f.as_str())) {
            continue;
        }
        let Some((body, cuts)) = load(wire) else {
            println!(
                "no dumped stream for {} in {}: run `make bench` (or benches/streams.py --dump)",
                wire.name(),
                streams_dir().display()
            );
            continue;
        };
        let (t_sse, events) = best_of(runs_of("sse").max(1), || {
            let mut d = SseDecoder::default();
            let mut n = 0;
            for c in chunks(&body, &cuts) {
                d.feed(c, |e| n += usize::from(!e.data.is_empty())).unwrap();
            }
            n
        });
        let (t_floor, _) = best_of(runs_of("floor"), || {
            let mut d = SseDecoder::default();
            let mut n = 0;
            for c in chunks(&body, &cuts) {
                d.feed(c, |e| {
                    if e.data != "[DONE]" {
                        serde_json::from_str::<serde::de::IgnoredAny>(e.data).expect("valid JSON");
                    }
                    n += 1;
                })
                .unwrap();
            }
            n
        });
        let (t_value, _) = best_of(runs_of("value"), || {
            let mut d = SseDecoder::default();
            let mut n = 0;
            for c in chunks(&body, &cuts) {
                d.feed(c, |e| {
                    if e.data != "[DONE]" {
                        let v: serde_json::Value = serde_json::from_str(e.data).expect("valid JSON");
                        n += usize::from(v.is_object());
                    }
                })
                .unwrap();
            }
            n
        });
        let (t_collect, _) = best_of(runs_of("collect"), || {
            let fold = collect(wire, chunks(&body, &cuts), Limits::default());
            assert!(fold.error.is_none(), "{} stream failed", wire.name());
            fold.text.len() + fold.calls.len()
        });
        let ns = |t: f64| t * 1e9 / events as f64;
        println!(
            "{:<17} {:>9} {:>7} {:>7.0}ns {:>7.0}ns {:>10.0}ns {:>9.0}ns {:>5.2}x   (collect {:.2} ms)",
            wire.name(),
            body.len(),
            events,
            ns(t_sse),
            ns(t_floor),
            ns(t_value),
            ns(t_collect),
            t_collect / t_floor,
            t_collect * 1e3
        );
    }
}

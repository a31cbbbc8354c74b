//! The Rust-only floor: SSE framing + JSON parsing with no fold, next to the
//! full core `collect`, for streams of 20,000 events.
//!
//!     cargo bench -p allm-core --bench floor
//!
//! The streams mimic `benches/streams.py` (same ids, models, field sets,
//! multilingual text, parallel tool calls with interleaved argument fragments,
//! 1-4 KiB network chunks with cuts inside UTF-8 sequences). To run on the
//! exact bytes of the Python benches, dump them as `<dir>/<wire>.sse` (the
//! whole body) and optionally `<dir>/<wire>.cuts` (chunk lengths separated by
//! spaces), then set `ALLM_FLOOR_STREAMS=<dir>`.
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
use std::time::Instant;

use allm_core::{collect, Limits, SseDecoder, Wire};

const N_EVENTS: usize = 20_000;

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

const ASCII_WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "stream",
    "token",
    "result",
    "because",
    "function",
    "weather",
    "forecast",
    "data",
    "value",
    "request",
    "response",
    "example",
    "should",
    "would",
    "could",
    "between",
    "**Note:**",
    "`code`",
    "- item",
    "1.",
    "(see",
    "above)",
    "e.g.",
    "i.e.,",
    "\n\n",
    "\n",
];
const OTHER_WORDS: &[&str] = &[
    "naïve",
    "café",
    "São",
    "Paulo",
    "Zürich",
    "façade",
    "déjà",
    "vu",
    "Ærøskøbing",
    "Łódź",
    "λόγος",
    "αβγ",
    "Привет",
    "мир",
    "данные",
    "مرحبا",
    "بالعالم",
    "שלום",
    "你好",
    "世界",
    "数据流",
    "天气预报",
    "東京",
    "こんにちは",
    "ストリーム",
    "한국어",
    "서울",
    "🚀",
    "😀",
    "🌧️",
    "☀️",
    "🔥",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "🇯🇵",
];
const TOOL_NAMES: &[&str] =
    &["get_weather", "search_documents", "run_sql_query", "send_email", "create_event", "translate_text"];
const CITIES: &[&str] = &["São Paulo", "東京", "Zürich", "Reykjavík", "Москва", "القاهرة", "Kraków", "서울"];

fn word(rng: &mut Rng) -> &'static str {
    if rng.chance(0.8) {
        ASCII_WORDS[rng.below(ASCII_WORDS.len())]
    } else {
        OTHER_WORDS[rng.below(OTHER_WORDS.len())]
    }
}

fn text_piece(rng: &mut Rng) -> String {
    let n = if rng.chance(0.85) { 1 } else { 2 + rng.below(3) };
    let mut out = String::new();
    for _ in 0..n {
        let w = word(rng);
        if !w.starts_with('\n') {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// JSON string literal (compact, raw UTF-8, like `json.dumps(ensure_ascii=False)`).
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

struct Call {
    call_id: String,
    item_id: String,
    name: &'static str,
    fragments: Vec<String>,
}

impl Call {
    fn arguments(&self) -> String {
        self.fragments.concat()
    }
}

struct Script {
    text: Vec<String>,
    calls: Vec<Call>,
    order: Vec<usize>,
}

fn arguments(rng: &mut Rng, min_len: usize) -> String {
    let mut words: Vec<&str> = Vec::new();
    loop {
        let text = format!(
            "{{\"location\":{},\"unit\":\"celsius\",\"days\":{},\"include\":{{\"hourly\":true,\"alerts\":true,\"tags\":[\"rain\",\"雪\",\"🌧️\"]}},\"query\":{}}}",
            js(CITIES[rng.below(CITIES.len())]),
            1 + rng.below(14),
            js(&words.join(" "))
        );
        if text.chars().count() >= min_len {
            return text;
        }
        for _ in 0..16 {
            let w = word(rng).trim();
            words.push(if w.is_empty() { "x" } else { w });
        }
    }
}

fn script(wire: Wire, rng: &mut Rng) -> Script {
    let calls = 6;
    let overhead = match wire {
        Wire::OpenAiChat => 4 + calls,
        Wire::OpenAiResponses => 8 + 3 * calls,
        _ => 6 + 2 * calls + N_EVENTS / 500,
    };
    let deltas = N_EVENTS - overhead;
    let arg_deltas = deltas * 3 / 10;
    let text = (0..deltas - arg_deltas).map(|_| text_piece(rng)).collect();
    let mut per_call = vec![arg_deltas / calls; calls];
    per_call[calls - 1] += arg_deltas - per_call.iter().sum::<usize>();
    let mut order = Vec::new();
    let mut remaining = per_call.clone();
    let mut next_new = 0;
    while remaining.iter().any(|&r| r > 0) {
        // interleave: mostly calls already started, sometimes a new one
        let live: Vec<usize> = (0..calls).filter(|&i| remaining[i] > 0 && i <= next_new).collect();
        let i = live[rng.below(live.len())];
        if i == next_new {
            next_new += 1;
        }
        let run = remaining[i].min(1 + rng.below(3));
        order.extend(std::iter::repeat_n(i, run));
        remaining[i] -= run;
    }
    let calls = per_call
        .iter()
        .enumerate()
        .map(|(i, &parts)| {
            let suffix: String = (0..24)
                .map(|_| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[rng.below(62)] as char)
                .collect();
            let args: Vec<char> = arguments(rng, parts * 7).chars().collect();
            // split into exactly `parts` non-empty pieces
            let mut cuts: Vec<usize> = (1..parts).map(|k| k * args.len() / parts).collect();
            cuts.dedup();
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(args.len());
            let fragments = bounds.windows(2).map(|w| args[w[0]..w[1]].iter().collect()).collect();
            Call {
                call_id: format!("{}{suffix}", if wire == Wire::Anthropic { "toolu_01" } else { "call_" }),
                item_id: format!("fc_67ccd2c{}", suffix.to_lowercase()),
                name: TOOL_NAMES[i % TOOL_NAMES.len()],
                fragments,
            }
        })
        .collect();
    Script { text, calls, order }
}

fn openai_chat(s: &Script) -> String {
    let mut out = String::new();
    let head = "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_f9f4fb6dbf\",\"choices\":";
    let mut chunk = |delta: &str, finish: &str| {
        out.push_str(&format!(
            "data: {head}[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}\n\n"
        ));
    };
    chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null");
    for piece in &s.text {
        chunk(&format!("{{\"content\":{}}}", js(piece)), "null");
    }
    let mut pos = vec![0; s.calls.len()];
    for &i in &s.order {
        let call = &s.calls[i];
        if pos[i] == 0 {
            chunk(&format!("{{\"tool_calls\":[{{\"index\":{i},\"id\":\"{}\",\"type\":\"function\",\"function\":{{\"name\":\"{}\",\"arguments\":\"\"}}}}]}}", call.call_id, call.name), "null");
        }
        let frag = &call.fragments[pos[i]];
        pos[i] += 1;
        chunk(&format!("{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":{}}}}}]}}", js(frag)), "null");
    }
    chunk("{}", "\"tool_calls\"");
    out.push_str(&format!("data: {head}[],\"usage\":{{\"prompt_tokens\":3000,\"completion_tokens\":19000,\"total_tokens\":22000,\"prompt_tokens_details\":{{\"cached_tokens\":512,\"audio_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}}}}\n\n"));
    out.push_str("data: [DONE]\n\n");
    out
}

fn response_obj(status: &str, output: &str, usage: &str) -> String {
    format!("{{\"id\":\"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b\",\"object\":\"response\",\"created_at\":1741570283,\"status\":\"{status}\",\"background\":false,\"error\":null,\"incomplete_details\":null,\"instructions\":null,\"max_output_tokens\":null,\"model\":\"gpt-4.1-2025-04-14\",\"output\":[{output}],\"parallel_tool_calls\":true,\"previous_response_id\":null,\"reasoning\":{{\"effort\":null,\"summary\":null}},\"store\":true,\"temperature\":1.0,\"text\":{{\"format\":{{\"type\":\"text\"}}}},\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0,\"truncation\":\"disabled\",\"usage\":{usage},\"user\":null,\"metadata\":{{}}}}")
}

fn openai_responses(s: &Script) -> String {
    const MSG: &str = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
    let mut out = String::new();
    let mut seq = 0;
    let mut event = |kind: &str, body: &str| {
        out.push_str(&format!("event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":{seq}{body}}}\n\n"));
        seq += 1;
    };
    event("response.created", &format!(",\"response\":{}", response_obj("in_progress", "", "null")));
    event("response.in_progress", &format!(",\"response\":{}", response_obj("in_progress", "", "null")));
    let msg_item = |status: &str, content: &str| {
        format!("{{\"id\":\"{MSG}\",\"type\":\"message\",\"status\":\"{status}\",\"content\":[{content}],\"role\":\"assistant\"}}")
    };
    event("response.output_item.added", &format!(",\"output_index\":0,\"item\":{}", msg_item("in_progress", "")));
    event("response.content_part.added", &format!(",\"item_id\":\"{MSG}\",\"output_index\":0,\"content_index\":0,\"part\":{{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"\"}}"));
    for (n, piece) in s.text.iter().enumerate() {
        event(
            "response.output_text.delta",
            &format!(
                ",\"item_id\":\"{MSG}\",\"output_index\":0,\"content_index\":0,\"delta\":{},\"logprobs\":[],\"obfuscation\":\"{}\"",
                js(piece),
                &"abcdefghijklmnop"[..16 - n % 9]
            ),
        );
    }
    let text = js(&s.text.concat());
    let part_done = format!("{{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":{text}}}");
    event(
        "response.output_text.done",
        &format!(",\"item_id\":\"{MSG}\",\"output_index\":0,\"content_index\":0,\"text\":{text},\"logprobs\":[]"),
    );
    event(
        "response.content_part.done",
        &format!(",\"item_id\":\"{MSG}\",\"output_index\":0,\"content_index\":0,\"part\":{part_done}"),
    );
    let msg_done = msg_item("completed", &part_done);
    event("response.output_item.done", &format!(",\"output_index\":0,\"item\":{msg_done}"));
    let fc_item = |c: &Call, status: &str, args: &str| {
        format!(
            "{{\"id\":\"{}\",\"type\":\"function_call\",\"status\":\"{status}\",\"arguments\":{},\"call_id\":\"{}\",\"name\":\"{}\"}}",
            c.item_id,
            js(args),
            c.call_id,
            c.name
        )
    };
    let mut pos = vec![0; s.calls.len()];
    for &i in &s.order {
        let call = &s.calls[i];
        if pos[i] == 0 {
            event(
                "response.output_item.added",
                &format!(",\"output_index\":{},\"item\":{}", 1 + i, fc_item(call, "in_progress", "")),
            );
        }
        let frag = &call.fragments[pos[i]];
        pos[i] += 1;
        event(
            "response.function_call_arguments.delta",
            &format!(
                ",\"item_id\":\"{}\",\"output_index\":{},\"delta\":{},\"obfuscation\":\"xyz\"",
                call.item_id,
                1 + i,
                js(frag)
            ),
        );
        if pos[i] == call.fragments.len() {
            let args = call.arguments();
            event(
                "response.function_call_arguments.done",
                &format!(",\"item_id\":\"{}\",\"output_index\":{},\"arguments\":{}", call.item_id, 1 + i, js(&args)),
            );
            event(
                "response.output_item.done",
                &format!(",\"output_index\":{},\"item\":{}", 1 + i, fc_item(call, "completed", &args)),
            );
        }
    }
    let mut output = vec![msg_done];
    output.extend(s.calls.iter().map(|c| fc_item(c, "completed", &c.arguments())));
    let usage = "{\"input_tokens\":3000,\"input_tokens_details\":{\"cached_tokens\":512},\"output_tokens\":19000,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":22000}";
    event("response.completed", &format!(",\"response\":{}", response_obj("completed", &output.join(","), usage)));
    out
}

fn anthropic(s: &Script) -> String {
    const PING: &str = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    let mut out = String::new();
    let pings_left = std::cell::Cell::new(N_EVENTS / 500);
    let mut deltas = 0;
    let mut event = |out: &mut String, kind: &str, body: &str| {
        out.push_str(&format!("event: {kind}\ndata: {{\"type\":\"{kind}\"{body}}}\n\n"));
        if kind == "content_block_delta" {
            deltas += 1;
            if deltas % 500 == 0 && pings_left.get() > 0 {
                pings_left.set(pings_left.get() - 1);
                out.push_str(PING);
            }
        }
    };
    event(&mut out, "message_start", ",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":2488,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":512,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,\"service_tier\":\"standard\"}}");
    event(&mut out, "content_block_start", ",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}");
    out.push_str(PING);
    for piece in &s.text {
        event(
            &mut out,
            "content_block_delta",
            &format!(",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}", js(piece)),
        );
    }
    event(&mut out, "content_block_stop", ",\"index\":0");
    for (i, call) in s.calls.iter().enumerate() {
        let idx = 1 + i;
        event(
            &mut out,
            "content_block_start",
            &format!(",\"index\":{idx},\"content_block\":{{\"type\":\"tool_use\",\"id\":\"{}\",\"name\":\"{}\",\"input\":{{}}}}", call.call_id, call.name),
        );
        for frag in &call.fragments {
            event(
                &mut out,
                "content_block_delta",
                &format!(",\"index\":{idx},\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{}}}", js(frag)),
            );
        }
        event(&mut out, "content_block_stop", &format!(",\"index\":{idx}"));
    }
    for _ in 0..pings_left.get() {
        out.push_str(PING);
    }
    event(
        &mut out,
        "message_delta",
        ",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":19000}",
    );
    event(&mut out, "message_stop", "");
    out
}

/// Network chunks of 1-4 KiB; about a third of the cuts land inside a UTF-8 sequence.
fn chunk_lengths(body: &[u8], rng: &mut Rng) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let mut cut = body.len().min(pos + 1024 + rng.below(3073));
        if cut < body.len() && rng.chance(0.33) {
            let limit = (body.len() - 1).min(cut + 512);
            let mut j = cut;
            while j < limit && body[j] < 0xC0 {
                j += 1;
            }
            if j < limit {
                cut = j + 1;
            }
        }
        out.push(cut - pos);
        pos = cut;
    }
    out
}

fn load(wire: Wire) -> (Vec<u8>, Vec<usize>, &'static str) {
    if let Ok(dir) = std::env::var("ALLM_FLOOR_STREAMS") {
        let body = std::fs::read(format!("{dir}/{}.sse", wire.name())).expect("read the dumped stream");
        let cuts = match std::fs::read_to_string(format!("{dir}/{}.cuts", wire.name())) {
            Ok(s) => s.split_whitespace().map(|n| n.parse().unwrap()).collect(),
            Err(_) => chunk_lengths(&body, &mut Rng(7)),
        };
        return (body, cuts, "dumped");
    }
    let mut rng = Rng(0x5EED_2024_0611 ^ wire as u64);
    let s = script(wire, &mut rng);
    let body = match wire {
        Wire::OpenAiChat => openai_chat(&s),
        Wire::OpenAiResponses => openai_responses(&s),
        _ => anthropic(&s),
    }
    .into_bytes();
    let cuts = chunk_lengths(&body, &mut rng);
    (body, cuts, "generated")
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
        let (body, cuts, source) = load(wire);
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
            "{:<17} {:>9} {:>7} {:>7.0}ns {:>7.0}ns {:>10.0}ns {:>9.0}ns {:>5.2}x   ({source}; collect {:.2} ms)",
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

//! Rough throughput check: `cargo run --release -p allm-core --example throughput`.

use std::time::Instant;

use allm_core::{collect, Limits, SseDecoder, Wire};

fn main() {
    let mut body = Vec::new();
    for i in 0..20_000 {
        body.extend_from_slice(
            format!(
                "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} hello \"}},\"finish_reason\":null}}]}}\n\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    for chunk_size in [4096, body.len()] {
        let mut best = f64::MAX;
        let mut best_sse = f64::MAX;
        for _ in 0..20 {
            let t = Instant::now();
            let fold = collect(Wire::OpenAiChat, body.chunks(chunk_size), Limits::default());
            best = best.min(t.elapsed().as_secs_f64());
            assert!(fold.text.len() > 100_000);
            let t = Instant::now();
            let mut d = SseDecoder::default();
            let mut n = 0usize;
            for c in body.chunks(chunk_size) {
                d.feed(c, |e| n += e.data.len()).unwrap();
            }
            best_sse = best_sse.min(t.elapsed().as_secs_f64());
            assert!(n > 0);
        }
        println!(
            "chunk {chunk_size}: collect {:.2} ms ({:.0} MB/s), sse only {:.2} ms",
            best * 1e3,
            body.len() as f64 / best / 1e6,
            best_sse * 1e3
        );
    }
}

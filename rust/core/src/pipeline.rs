//! Bytes in, core events out: the SSE decoder feeding a wire decoder.

use crate::event::{CoreError, CoreEvent, Event};
use crate::fold::Fold;
use crate::sse::SseDecoder;
use crate::wire::{AnyDecoder, Wire, WireDecoder};

/// The default line, event and argument size limit (128 MiB).
pub const DEFAULT_LIMIT: usize = 128 * 1024 * 1024;

/// The default limit on a whole response body (256 MiB).
pub const DEFAULT_RESPONSE_LIMIT: usize = 256 * 1024 * 1024;

/// Size limits; `None` disables one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_line_bytes: Option<usize>,
    pub max_event_bytes: Option<usize>,
    pub max_argument_bytes: Option<usize>,
    /// Bytes of body fed in total; only the bytes within it are decoded.
    pub max_response_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: Some(DEFAULT_LIMIT),
            max_event_bytes: Some(DEFAULT_LIMIT),
            max_argument_bytes: Some(DEFAULT_LIMIT),
            max_response_bytes: Some(DEFAULT_RESPONSE_LIMIT),
        }
    }
}

/// A sans-IO stream decoder for one wire format.
pub struct Pipeline {
    sse: SseDecoder,
    decoder: AnyDecoder,
    done: bool,
    started: bool,
    max_response_bytes: Option<usize>,
    received: usize,
}

impl Pipeline {
    pub fn new(wire: Wire, limits: Limits) -> Self {
        Pipeline {
            sse: SseDecoder::new(limits.max_line_bytes, limits.max_event_bytes),
            decoder: AnyDecoder::new(wire, limits.max_argument_bytes),
            done: false,
            started: false,
            max_response_bytes: limits.max_response_bytes,
            received: 0,
        }
    }

    /// Fold-only mode, for callers that only fold the events (`collect`):
    /// `text_delta` events and reasoning `raw_chunk`s (which the fold ignores)
    /// are not produced; call [`Pipeline::finish_fold`] once the stream is
    /// over to give the fold the partial text those deltas would have built.
    pub fn fold_only(mut self) -> Self {
        self.decoder.set_fold_only();
        self
    }

    /// After the last `close`/`fail` in fold-only mode: the text of
    /// `text_delta`s not followed by a `text_completed` goes to the fold
    /// (exactly what folding those deltas would have given).
    pub fn finish_fold(&mut self, fold: &mut Fold<crate::event::Core>) {
        let partial = self.decoder.take_partial_text();
        if !partial.is_empty() {
            // Text since the last text_completed: that event empties the
            // decoder's text, and none can follow it (the stream is over).
            fold.text.push_str(&partial);
        }
    }

    /// A terminal event was produced.
    pub fn done(&self) -> bool {
        self.done
    }

    /// At least one event was produced.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Counts `size` more body bytes; how many of them break `max_response_bytes`.
    fn over_response_limit(&mut self, size: usize) -> usize {
        self.received = self.received.saturating_add(size);
        match self.max_response_bytes {
            Some(limit) if self.received > limit => size.min(self.received - limit),
            _ => 0,
        }
    }

    /// Decodes one network chunk, appending its events to `out`. Past
    /// `max_response_bytes`, only the bytes within the limit are decoded,
    /// then the stream ends in `limit_exceeded`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<CoreEvent>) {
        if self.done {
            return;
        }
        let over = self.over_response_limit(chunk.len());
        let chunk = &chunk[..chunk.len() - over];
        let before = out.len();
        let Pipeline { sse, decoder, done, .. } = self;
        let result = sse.feed(chunk, |event| {
            if *done {
                return;
            }
            match decoder.on_event(event, out) {
                Ok(()) => {
                    if out.last().is_some_and(|e| e.is_terminal()) && out.len() > before {
                        *done = true;
                    }
                }
                Err(err) => {
                    decoder.before_error(out);
                    out.push(Event::Error(err));
                    *done = true;
                }
            }
        });
        if !self.done {
            if let Err(err) = result {
                self.terminal_error(CoreError::stream("limit_exceeded", err.to_string()), out);
            } else if over > 0 {
                let limit = self.max_response_bytes.unwrap_or_default();
                let message = format!("response exceeds max_response_bytes ({limit})");
                self.terminal_error(CoreError::stream("limit_exceeded", message), out);
            }
        }
        self.started |= out.len() > before;
    }

    /// End of body: a clean end if the wire allows it, else an `incomplete` error.
    pub fn close(&mut self, out: &mut Vec<CoreEvent>) {
        if self.done {
            return;
        }
        let before = out.len();
        self.sse.close();
        if let Err(err) = self.decoder.on_close(out) {
            self.terminal_error(err, out);
        }
        self.done = true;
        self.started |= out.len() > before;
    }

    /// A transport failure: an error event unless the stream is done.
    pub fn fail(&mut self, error: CoreError, out: &mut Vec<CoreEvent>) {
        if self.done {
            return;
        }
        self.terminal_error(error, out);
        self.started = true;
    }

    /// The pending reasoning part and the usage so far (if any), then the error.
    fn terminal_error(&mut self, error: CoreError, out: &mut Vec<CoreEvent>) {
        self.decoder.before_error(out);
        out.push(Event::Error(error));
        self.done = true;
    }
}

/// Folds a whole stream of chunks (the `collect` path): no per-event allocation
/// beyond the events' own strings.
pub fn collect<'c, I: IntoIterator<Item = &'c [u8]>>(
    wire: Wire,
    chunks: I,
    limits: Limits,
) -> Fold<crate::event::Core> {
    let mut pipeline = Pipeline::new(wire, limits).fold_only();
    let mut fold = Fold::new();
    let mut buf = Vec::new();
    for chunk in chunks {
        pipeline.feed(chunk, &mut buf);
        for e in buf.drain(..) {
            fold.apply(e);
        }
        if pipeline.done() {
            break;
        }
    }
    pipeline.close(&mut buf);
    for e in buf.drain(..) {
        fold.apply(e);
    }
    pipeline.finish_fold(&mut fold);
    fold
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs a whole body through a pipeline, checking every 2-way split and
    /// byte-at-a-time feeding give the same events.
    pub(crate) fn run(wire: &str, body: &[u8]) -> Vec<CoreEvent> {
        let wire: Wire = wire.parse().unwrap();
        let whole = {
            let mut p = Pipeline::new(wire, Limits::default());
            let mut out = Vec::new();
            p.feed(body, &mut out);
            p.close(&mut out);
            out
        };
        let mut p = Pipeline::new(wire, Limits::default());
        let mut out = Vec::new();
        for b in body {
            p.feed(std::slice::from_ref(b), &mut out);
        }
        p.close(&mut out);
        assert_eq!(out, whole, "byte at a time");
        for i in (0..=body.len()).step_by(7) {
            let mut p = Pipeline::new(wire, Limits::default());
            let mut out = Vec::new();
            p.feed(&body[..i], &mut out);
            p.feed(&body[i..], &mut out);
            p.close(&mut out);
            assert_eq!(out, whole, "split at {i}");
        }
        whole
    }

    #[test]
    fn done_and_limits() {
        let mut p = Pipeline::new(Wire::OpenAiChat, Limits::default());
        let mut out = Vec::new();
        p.feed(b"data: [DONE]\n\ndata: {\"choices\":[]}\n\n", &mut out);
        assert!(p.done());
        assert_eq!(out.len(), 2);
        p.feed(b"data: x\n\n", &mut out);
        p.close(&mut out);
        p.fail(CoreError::stream("timeout", "t"), &mut out);
        assert_eq!(out.len(), 2);

        let limits = Limits { max_line_bytes: Some(8), ..Limits::default() };
        let mut p = Pipeline::new(Wire::OpenAiChat, limits);
        let mut out = Vec::new();
        p.feed(b"data: 123456789", &mut out);
        assert!(matches!(out.last(), Some(Event::Error(e)) if e.reason == "limit_exceeded"));

        let limits = Limits { max_argument_bytes: Some(3), ..Limits::default() };
        let mut p = Pipeline::new(Wire::Anthropic, limits);
        let mut out = Vec::new();
        p.feed(b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1,2]\"}}\n\n", &mut out);
        assert!(matches!(out.last(), Some(Event::Error(e)) if e.reason == "limit_exceeded"));
    }

    /// Past `max_response_bytes` only the bytes within the limit are decoded,
    /// whatever the chunking, then the stream ends in `limit_exceeded`.
    #[test]
    fn response_limit_decodes_the_bytes_within_it() {
        let body: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n";
        let limit = body.len() - 3;
        for size in [1, 5, body.len()] {
            let limits = Limits { max_response_bytes: Some(limit), ..Limits::default() };
            let mut p = Pipeline::new(Wire::OpenAiChat, limits);
            let mut out = Vec::new();
            for chunk in body.chunks(size) {
                p.feed(chunk, &mut out);
            }
            assert!(p.done());
            let texts: Vec<_> = out.iter().filter(|e| matches!(e, Event::TextDelta { .. })).collect();
            assert_eq!(texts.len(), 1, "chunk size {size}");
            assert!(matches!(out.last(), Some(Event::Error(e)) if e.reason == "limit_exceeded"
                && e.message.as_deref() == Some(&*format!("response exceeds max_response_bytes ({limit})"))));
        }
    }

    /// `collect` (fold-only mode) gives the fold of every event of a normal pipeline.
    #[test]
    fn fold_only_matches_full_fold() {
        let bodies: &[(&str, &str)] = &[
            ("openai-chat", "data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"),
            ("openai-chat", "data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\ndata: {nope\n\n"),
            ("openai-chat", "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"),
            ("anthropic", "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\ndata: {\"type\":\"message_stop\"}\n\n"),
            ("anthropic", "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"),
        ];
        for (wire, body) in bodies {
            let w: Wire = wire.parse().unwrap();
            let mut full: Fold<crate::event::Core> = Fold::new();
            for e in run(wire, body.as_bytes()) {
                full.apply(e);
            }
            for size in [1, 3, 7, body.len()] {
                let f = collect(w, body.as_bytes().chunks(size), Limits::default());
                assert_eq!(f.text, full.text, "{body}");
                assert_eq!(f.id, full.id);
                assert_eq!(f.error, full.error);
                assert_eq!(f.metadata, full.metadata);
                assert_eq!(f.raw_finish_reason, full.raw_finish_reason);
                assert_eq!(f.calls.len(), full.calls.len());
            }
        }
    }

    #[test]
    fn collect_folds() {
        let body: &[u8] = b"data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n";
        let fold = collect(Wire::OpenAiChat, body.chunks(5), Limits::default());
        assert_eq!(fold.text, "ab");
        assert_eq!(fold.id.as_deref(), Some("x"));
    }
}

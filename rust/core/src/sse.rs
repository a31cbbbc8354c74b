//! Incremental server-sent events decoder following the WHATWG HTML rules.
//!
//! Bytes may be split anywhere (inside a line, a CRLF pair, a multi-byte
//! UTF-8 character or the leading BOM). Lines end at CRLF, LF or a lone CR; a
//! CR at the end of one chunk followed by LF at the start of the next is one
//! line end. Invalid UTF-8 becomes U+FFFD, decoded per line.

use std::borrow::Cow;
use std::fmt;

use memchr::memchr2;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A dispatched event, borrowed from the decoder's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEventRef<'a> {
    /// The event type (`"message"` when no `event:` field was given).
    pub event: &'a str,
    /// The data lines joined with `"\n"`.
    pub data: &'a str,
    /// The last event id in force when the event was dispatched.
    pub id: &'a str,
    /// The `retry` field given in this event's block, if any.
    pub retry: Option<u64>,
}

/// An owned dispatched event (tests and simple callers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
    pub id: String,
    pub retry: Option<u64>,
}

impl SseEventRef<'_> {
    /// An owned copy.
    pub fn to_owned_event(&self) -> SseEvent {
        SseEvent { event: self.event.to_owned(), data: self.data.to_owned(), id: self.id.to_owned(), retry: self.retry }
    }
}

/// Parses a non-empty string of ASCII digits; `None` above `u64::MAX`.
pub fn parse_digits(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |acc, b| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
}

/// A limit breach; the decoder is unusable afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    /// A line (without its terminator) grew past `max_line_bytes`.
    LineTooLong { limit: usize },
    /// An event's data (raw bytes of its data lines joined with "\n") grew past `max_event_bytes`.
    EventTooLarge { limit: usize },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => {
                write!(f, "SSE line exceeds max_line_bytes ({limit})")
            }
            SseError::EventTooLarge { limit } => {
                write!(f, "SSE event exceeds max_event_bytes ({limit})")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The incremental SSE decoder.
#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes of the current, unterminated line.
    pending: Vec<u8>,
    /// Whether the BOM check at the very start of the stream is done.
    bom_done: bool,
    /// The previous chunk ended with CR: a leading LF of the next chunk is skipped.
    skip_lf: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    /// Raw byte length of the data it would dispatch (`None`: no data line yet).
    data_bytes: Option<usize>,
    /// `retry` given in the current event block.
    event_retry: Option<u64>,
    /// The last valid `retry` field (persists).
    retry: Option<u64>,
    max_line_bytes: Option<usize>,
    max_event_bytes: Option<usize>,
    failed: Option<SseError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(None, None)
    }
}

impl SseDecoder {
    /// A decoder with the given limits (`None` disables one).
    pub fn new(max_line_bytes: Option<usize>, max_event_bytes: Option<usize>) -> Self {
        SseDecoder {
            pending: Vec::new(),
            bom_done: false,
            skip_lf: false,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            data_bytes: None,
            event_retry: None,
            retry: None,
            max_line_bytes,
            max_event_bytes,
            failed: None,
        }
    }

    /// The last event ID string (updated at each dispatch).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The last valid `retry` field.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The error that stopped the decoder, if any.
    pub fn failed(&self) -> Option<&SseError> {
        self.failed.as_ref()
    }

    /// Feeds bytes, calling `on_event` for each dispatched event, in order.
    /// After an error the decoder stays failed and returns the same error.
    pub fn feed<F: FnMut(SseEventRef<'_>)>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), SseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.feed_inner(chunk, &mut on_event);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.pending = Vec::new();
            self.data = String::new();
            self.data_bytes = None;
        }
        result
    }

    /// Feeds bytes and collects owned events.
    pub fn feed_owned(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        self.feed(chunk, |e| out.push(e.to_owned_event()))?;
        Ok(out)
    }

    /// End of stream: an unterminated event is discarded (never dispatched).
    pub fn close(&mut self) {
        self.pending.clear();
        self.data.clear();
        self.data_bytes = None;
        self.event_type.clear();
        self.event_retry = None;
        self.skip_lf = false;
    }

    fn feed_inner<F: FnMut(SseEventRef<'_>)>(&mut self, chunk: &[u8], on_event: &mut F) -> Result<(), SseError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if !self.bom_done {
            self.pending.extend_from_slice(chunk);
            if self.pending.len() < BOM.len() && BOM.starts_with(&self.pending) {
                return Ok(()); // could still be a BOM
            }
            self.bom_done = true;
            let mut buf = std::mem::take(&mut self.pending);
            if buf.starts_with(BOM) {
                buf.drain(..BOM.len());
            }
            let r = self.scan(&buf, on_event);
            return r;
        }
        self.scan(chunk, on_event)
    }

    /// Scans a chunk. The data of an event whose only data line lies whole
    /// inside this chunk is dispatched borrowed from the chunk (no copy);
    /// otherwise it is copied into `self.data`.
    fn scan<F: FnMut(SseEventRef<'_>)>(&mut self, chunk: &[u8], on_event: &mut F) -> Result<(), SseError> {
        let mut borrowed: Option<&str> = None;
        let r = self.scan_lines(chunk, &mut borrowed, on_event);
        if let Some(s) = borrowed {
            // The event continues in the next chunk: keep its first data line.
            self.data.push_str(s);
            self.data.push('\n');
        }
        r
    }

    fn scan_lines<'c, F: FnMut(SseEventRef<'_>)>(
        &mut self,
        mut chunk: &'c [u8],
        borrowed: &mut Option<&'c str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if self.skip_lf {
            self.skip_lf = false;
            if chunk.first() == Some(&b'\n') {
                chunk = &chunk[1..];
            }
        }
        // Finish the pending partial line first.
        if !self.pending.is_empty() {
            match memchr2(b'\r', b'\n', chunk) {
                None => {
                    self.check_line_len(self.pending.len() + chunk.len())?;
                    self.pending.extend_from_slice(chunk);
                    return Ok(());
                }
                Some(pos) => {
                    self.check_line_len(self.pending.len() + pos)?;
                    let mut line = std::mem::take(&mut self.pending);
                    line.extend_from_slice(&chunk[..pos]);
                    let r = self.process_line(&line, &mut None, false, on_event);
                    line.clear();
                    self.pending = line; // keep the allocation
                    r?;
                    chunk = self.skip_terminator(chunk, pos);
                }
            }
        }
        loop {
            match memchr2(b'\r', b'\n', chunk) {
                None => {
                    self.check_line_len(chunk.len())?;
                    self.pending.extend_from_slice(chunk);
                    return Ok(());
                }
                Some(pos) => {
                    self.check_line_len(pos)?;
                    self.process_line(&chunk[..pos], borrowed, true, on_event)?;
                    chunk = self.skip_terminator(chunk, pos);
                }
            }
        }
    }

    /// The rest of `chunk` after the line terminator at `pos`.
    fn skip_terminator<'c>(&mut self, chunk: &'c [u8], pos: usize) -> &'c [u8] {
        if chunk[pos] == b'\r' {
            match chunk.get(pos + 1) {
                Some(b'\n') => &chunk[pos + 2..],
                Some(_) => &chunk[pos + 1..],
                None => {
                    self.skip_lf = true;
                    &chunk[pos + 1..]
                }
            }
        } else {
            &chunk[pos + 1..]
        }
    }

    #[inline]
    fn check_line_len(&self, len: usize) -> Result<(), SseError> {
        match self.max_line_bytes {
            Some(limit) if len > limit => Err(SseError::LineTooLong { limit }),
            _ => Ok(()),
        }
    }

    /// Processes one line. With `can_borrow` (the line lies in the current
    /// chunk), `borrowed` receives the value of a first data line instead of `self.data`.
    fn process_line<'c, F: FnMut(SseEventRef<'_>)>(
        &mut self,
        line: &'c [u8],
        borrowed: &mut Option<&'c str>,
        can_borrow: bool,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch(borrowed.take(), on_event);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &line[line.len()..]),
        };
        match name {
            b"data" => {
                let size = self.data_bytes.map_or(value.len(), |n| n + 1 + value.len());
                if let Some(limit) = self.max_event_bytes {
                    if size > limit {
                        return Err(SseError::EventTooLarge { limit });
                    }
                }
                let first = self.data_bytes.is_none();
                self.data_bytes = Some(size);
                if let Some(prev) = borrowed.take() {
                    self.data.push_str(prev);
                    self.data.push('\n');
                }
                match simdutf8::basic::from_utf8(value) {
                    Ok(v) if first && can_borrow => *borrowed = Some(v),
                    Ok(v) => {
                        self.data.push_str(v);
                        self.data.push('\n');
                    }
                    Err(_) => {
                        self.data.push_str(&String::from_utf8_lossy(value));
                        self.data.push('\n');
                    }
                }
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Some(n) = parse_digits(value) {
                    self.retry = Some(n);
                    self.event_retry = Some(n);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Dispatches the pending event; `borrowed` is its data when it had one
    /// data line, borrowed from the chunk (then `self.data` is empty).
    fn dispatch<F: FnMut(SseEventRef<'_>)>(&mut self, borrowed: Option<&str>, on_event: &mut F) {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clear();
            self.last_event_id.push_str(&self.id_buffer);
        }
        if self.data_bytes.is_none() {
            self.event_type.clear();
            self.event_retry = None;
            return;
        }
        self.data_bytes = None;
        let event = if self.event_type.is_empty() { "message" } else { self.event_type.as_str() };
        let data = match borrowed {
            Some(data) => data,
            None => {
                self.data.pop(); // the trailing "\n"
                &self.data
            }
        };
        on_event(SseEventRef { event, data, id: &self.last_event_id, retry: self.event_retry });
        self.data.clear();
        self.event_type.clear();
        self.event_retry = None;
    }
}

#[inline]
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str, id: &str, retry: Option<u64>) -> SseEvent {
        SseEvent { event: event.into(), data: data.into(), id: id.into(), retry }
    }

    fn one_shot(input: &[u8]) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let out = d.feed_owned(input).unwrap();
        d.close();
        out
    }

    /// Every split into two and three pieces, and one byte at a time, gives the one-shot result.
    fn check_all_splits(input: &[u8], expected: &[SseEvent]) {
        assert_eq!(one_shot(input), expected, "one shot");
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for b in input {
            out.extend(d.feed_owned(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(out, expected, "byte at a time");
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let mut d = SseDecoder::default();
                let mut out = d.feed_owned(&input[..i]).unwrap();
                out.extend(d.feed_owned(&input[i..j]).unwrap());
                out.extend(d.feed_owned(&input[j..]).unwrap());
                assert_eq!(out, expected, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn basic_and_line_endings() {
        let expected = vec![ev("message", "a\nb", "", None), ev("x", "c", "", None)];
        check_all_splits(b"data: a\ndata:b\n\nevent: x\ndata: c\n\n", &expected);
        check_all_splits(b"data: a\r\ndata:b\r\n\r\nevent: x\r\ndata: c\r\n\r\n", &expected);
        check_all_splits(b"data: a\rdata:b\r\revent: x\rdata: c\r\r", &expected);
        check_all_splits(b"data: a\r\ndata:b\r\revent: x\ndata: c\n\r\n", &expected);
    }

    #[test]
    fn bom_dropped_once() {
        check_all_splits(b"\xEF\xBB\xBFdata: a\n\n", &[ev("message", "a", "", None)]);
        // A second BOM is part of the field name, so the line is ignored.
        check_all_splits(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", &[ev("message", "b", "", None)]);
        // A partial BOM is not a BOM.
        check_all_splits(b"\xEF\xBBdata: a\n\ndata: b\n\n", &[ev("message", "b", "", None)]);
        check_all_splits(b"\n\ndata: x\n\n", &[ev("message", "x", "", None)]);
    }

    #[test]
    fn utf8_split_and_invalid() {
        let input = "data: héllo 🌍\n\n".as_bytes();
        check_all_splits(input, &[ev("message", "héllo 🌍", "", None)]);
        check_all_splits(b"data: a\xffb\xf0\x9f\x8c\n\n", &[ev("message", "a\u{FFFD}b\u{FFFD}", "", None)]);
    }

    #[test]
    fn comments_fields_and_spaces() {
        let input = b": comment\ndata\ndata:  two\nfoo: bar\ndata:x:y\n\n";
        check_all_splits(input, &[ev("message", "\n two\nx:y", "", None)]);
        // Empty data buffer dispatches nothing but resets the event type.
        check_all_splits(b"event: a\n\ndata: b\n\n", &[ev("message", "b", "", None)]);
        // `data:` alone dispatches an empty string.
        check_all_splits(b"data:\n\n", &[ev("message", "", "", None)]);
        check_all_splits(b"data\n\n", &[ev("message", "", "", None)]);
    }

    #[test]
    fn id_and_retry() {
        let input = b"id: 1\ndata: a\n\ndata: b\n\nid: x\x00y\ndata: c\n\nid\ndata: d\n\n";
        check_all_splits(
            input,
            &[
                ev("message", "a", "1", None),
                ev("message", "b", "1", None),
                ev("message", "c", "1", None),
                ev("message", "d", "", None),
            ],
        );
        let input =
            b"retry: 100\ndata: a\n\nretry: 1x\ndata: b\n\nretry:\ndata: c\n\nretry: 18446744073709551616\ndata: d\n\n";
        check_all_splits(
            input,
            &[
                ev("message", "a", "", Some(100)),
                ev("message", "b", "", None),
                ev("message", "c", "", None),
                ev("message", "d", "", None),
            ],
        );
        let mut d = SseDecoder::default();
        d.feed_owned(b"retry: 5\n\nid: 7\n\n").unwrap();
        assert_eq!(d.retry(), Some(5));
        assert_eq!(d.last_event_id(), "7");
    }

    #[test]
    fn unterminated_event_discarded() {
        check_all_splits(b"data: a\n\ndata: b\n", &[ev("message", "a", "", None)]);
        check_all_splits(b"data: a\n\ndata: b", &[ev("message", "a", "", None)]);
    }

    #[test]
    fn limits() {
        let mut d = SseDecoder::new(Some(10), None);
        assert_eq!(d.feed_owned(b"data: 0123").unwrap(), vec![]);
        assert_eq!(d.feed_owned(b"45"), Err(SseError::LineTooLong { limit: 10 }));
        assert_eq!(d.feed_owned(b"\n\n"), Err(SseError::LineTooLong { limit: 10 }));
        let mut d = SseDecoder::new(Some(10), None);
        assert_eq!(d.feed_owned(b"data: 0123\n\n").unwrap().len(), 1);
        let mut d = SseDecoder::new(None, Some(5));
        assert_eq!(d.feed_owned(b"data: ab\ndata: ab\n\n").unwrap().len(), 1);
        let mut d = SseDecoder::new(None, Some(5));
        assert_eq!(d.feed_owned(b"data: abc\ndata: ab\n\n"), Err(SseError::EventTooLarge { limit: 5 }));
        // Raw bytes count, before U+FFFD replacement.
        let mut d = SseDecoder::new(None, Some(2));
        assert_eq!(d.feed_owned(b"data: \xff\xff\n\n").unwrap()[0].data, "\u{FFFD}\u{FFFD}");
    }
}

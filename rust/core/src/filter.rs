//! Stream-option filtering (usage and reasoning-part raw chunks always pass).

use crate::event::{CoreEvent, Event, RawData};

/// The stream options that decide what a consumer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    pub emit_text_deltas: bool,
    pub emit_tool_deltas: bool,
    pub include_raw_chunks: bool,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { emit_text_deltas: true, emit_tool_deltas: true, include_raw_chunks: false }
    }
}

/// The kinds of event filtering looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TextDelta,
    ToolCallDelta,
    RawUsage,
    RawOther,
    Other,
}

impl Filter {
    /// Whether an event of `kind` passes.
    #[inline]
    pub fn keeps_kind(&self, kind: Kind) -> bool {
        match kind {
            Kind::TextDelta => self.emit_text_deltas,
            Kind::ToolCallDelta => self.emit_tool_deltas,
            Kind::RawUsage => true,
            Kind::RawOther => self.include_raw_chunks,
            Kind::Other => true,
        }
    }

    /// Whether everything passes.
    pub fn keeps_all(&self) -> bool {
        self.emit_text_deltas && self.emit_tool_deltas && self.include_raw_chunks
    }

    /// Whether a core event passes.
    #[inline]
    pub fn keeps(&self, event: &CoreEvent) -> bool {
        self.keeps_kind(match event {
            Event::TextDelta { .. } => Kind::TextDelta,
            Event::ToolCallDelta { .. } => Kind::ToolCallDelta,
            Event::RawChunk(RawData::Usage(_) | RawData::Reasoning(_)) => Kind::RawUsage,
            Event::RawChunk(_) => Kind::RawOther,
            _ => Kind::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Usage;

    #[test]
    fn filters() {
        let f = Filter { emit_text_deltas: false, emit_tool_deltas: true, include_raw_chunks: false };
        assert!(!f.keeps(&Event::TextDelta { delta: "a".into() }));
        assert!(f.keeps(&Event::TextCompleted { text: "a".into() }));
        assert!(f.keeps(&Event::ToolCallDelta { id: "a".into(), delta: "x".into() }));
        assert!(f.keeps(&Event::RawChunk(RawData::Usage(Usage::default()))));
        assert!(!f.keeps(&Event::RawChunk(RawData::ReasoningDelta("r".into()))));
        assert!(f.keeps(&Event::RawChunk(RawData::Reasoning(crate::event::Reasoning::default()))));
        assert!(!f.keeps_all());
    }
}

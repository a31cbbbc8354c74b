//! `filter_events`: stream-option filtering of Python event objects.

use allm_core::Filter;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::cache::cache;
use crate::errors::guard;
use crate::fold::{field, kept_kind, tag_of, Tag};

/// The events the stream options let through, in order (usage and reasoning-part
/// chunks always pass).
#[pyfunction]
pub(crate) fn filter_events<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    emit_text_deltas: &Bound<'py, PyAny>,
    emit_tool_deltas: &Bound<'py, PyAny>,
    include_raw_chunks: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    guard(py, || {
        let c = cache(py)?;
        let filter = Filter {
            emit_text_deltas: emit_text_deltas.is_truthy()?,
            emit_tool_deltas: emit_tool_deltas.is_truthy()?,
            include_raw_chunks: include_raw_chunks.is_truthy()?,
        };
        let out = PyList::empty(py);
        for ev in events.try_iter()? {
            let ev = ev?;
            if filter.keeps_all() {
                out.append(ev)?;
                continue;
            }
            let (tag, exact) = tag_of(py, c, &ev)?;
            let keep = match tag {
                Tag::TextDelta | Tag::PartialOutput => filter.emit_text_deltas,
                Tag::ToolCallDelta => filter.emit_tool_deltas,
                Tag::RawChunk => {
                    filter.include_raw_chunks || {
                        let kind = if exact { field(&ev, true, 0, "kind")? } else { ev.get_item(0)? };
                        kept_kind(&kind).is_some()
                    }
                }
                _ => true,
            };
            if keep {
                out.append(ev)?;
            }
        }
        Ok(out)
    })
}

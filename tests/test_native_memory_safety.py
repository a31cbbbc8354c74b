"""Memory safety of the native boundary: Python code that runs mid-call never sees half-built objects."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import ModuleType

# A garbage-collection callback that walks every tracked container while
# ``StreamDecoder.feed`` builds its events (Usage(**kw) runs Python code, so a
# collection can start in the middle). A list with unfilled slots would crash here.
_GC_WALKER = textwrap.dedent(
    """
    import gc
    from allm import _backend
    native = _backend._load_native()

    def walk(phase, info):
        if phase == "start":
            for obj in gc.get_objects():
                if type(obj) is list:
                    for item in obj:
                        type(item)

    gc.callbacks.append(walk)
    gc.set_threshold(1, 1, 1)
    body = (
        b'data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3}}}\\n\\n'
        b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\\n\\n'
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\\n\\n'
        b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}\\n\\n'
        b'data: {"type":"message_stop"}\\n\\n'
    )
    total = 0
    for _ in range(300):
        dec = native.StreamDecoder("anthropic", include_raw_chunks=True)
        total += len(dec.feed(body))
    gc.callbacks.remove(walk)
    print(total)
    """
)


def test_a_gc_walk_during_feed_sees_no_half_built_list(native: ModuleType) -> None:
    done = subprocess.run([sys.executable, "-c", _GC_WALKER], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert int(done.stdout) > 0


def test_the_event_alloc_fast_path_is_vetted_on_this_interpreter(native: ModuleType) -> None:
    # Enabled only where the classes have tuple's exact layout and allocator and the
    # interpreter holds a GIL; CPython 3.10-3.13 with a GIL meets every condition.
    expected = sys.implementation.name == "cpython" and (3, 10) <= sys.version_info[:2] < (3, 14)
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    assert native._direct_event_alloc() is (expected and gil)

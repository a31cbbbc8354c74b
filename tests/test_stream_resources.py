"""A stream releases its resources exactly once on every exit path."""

from __future__ import annotations

import gc

import pytest

import allm
from allm.providers.fake import Fake

pytestmark = pytest.mark.http

SCRIPT = [("text", "a"), ("text", "b"), ("text", "c"), ("finish", "stop")]


class Counting(Fake):
    """A Fake whose sources count how often they start producing (send) and are released."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.closes = 0
        self.sent = 0

    def _counted(self, source, name):
        original = getattr(source, name)

        def release(*args):
            self.closes += 1
            return original(*args)

        setattr(source, name, release)
        return source

    def _sending(self, source):
        batches = source.batches

        def counted():
            self.sent += 1
            return batches()

        source.batches = counted
        return source

    def open(self, request, call):
        return self._sending(self._counted(super().open(request, call), "close"))

    def aopen(self, request, call):
        source = self._sending(super().aopen(request, call))
        original = source.aclose

        async def aclose():
            self.closes += 1
            await original()

        source.aclose = aclose
        return source


@pytest.fixture
def engine():
    return allm.Engine(adapter=Counting, adapter_opts={"stream_script": [SCRIPT] * 3})


def req():
    return allm.request([allm.user("x")])


def test_nothing_is_opened_or_sent_until_the_first_event_is_pulled(backend, engine):
    stream = allm.stream_generate(engine, req())
    assert engine.instance.sent == 0 and engine.instance.closes == 0
    next(stream)
    assert engine.instance.sent == 1
    stream.close()


async def test_nothing_is_sent_by_an_async_stream_until_the_first_event_is_pulled(backend, engine):
    stream = allm.astream_generate(engine, req())
    assert engine.instance.sent == 0
    await stream.__anext__()
    assert engine.instance.sent == 1
    await stream.aclose()


def test_exhausting_the_stream_releases_it_once(backend, engine):
    list(allm.stream_generate(engine, req()))
    assert engine.instance.closes == 1


def test_break_then_garbage_collection_releases_it_once(backend, engine):
    for _event in allm.stream_generate(engine, req()):
        break
    gc.collect()
    assert engine.instance.closes == 1


def test_leaving_a_with_block_early_releases_it_once(backend, engine):
    with allm.stream_generate(engine, req()) as stream:
        next(stream)
    assert engine.instance.closes == 1


def test_an_exception_in_the_consumer_releases_it_once(backend, engine):
    with pytest.raises(RuntimeError), allm.stream_generate(engine, req()) as stream:
        for _event in stream:
            raise RuntimeError("consumer failed")
    assert engine.instance.closes == 1


def test_explicit_close_twice_releases_it_once(backend, engine):
    stream = allm.stream_generate(engine, req())
    next(stream)
    stream.close()
    stream.close()
    del stream
    gc.collect()
    assert engine.instance.closes == 1


def test_an_on_event_callback_that_raises_releases_the_stream(backend, engine):
    def explode(event):
        raise ValueError("observer failed")

    with pytest.raises(ValueError):
        allm.generate(engine, req(), on_event=explode)
    assert engine.instance.closes == 1


def test_generate_releases_the_stream_once(backend, engine):
    allm.generate(engine, req())
    assert engine.instance.closes == 1


def test_get_final_response_after_partial_iteration_folds_everything(backend, engine):
    with allm.stream_generate(engine, req(), emit_text_deltas=False) as stream:
        next(stream)
        response = stream.get_final_response()
    assert response.output_text == "abc"
    assert engine.instance.closes == 1


async def test_async_break_and_aclose_release_it_once(backend, engine):
    stream = allm.astream_generate(engine, req())
    async for _event in stream:
        break
    await stream.aclose()
    await stream.aclose()
    assert engine.instance.closes == 1


async def test_async_with_block_releases_it_once(backend, engine):
    async with allm.astream_generate(engine, req()) as stream:
        await stream.__anext__()
    assert engine.instance.closes == 1


async def test_agenerate_releases_the_stream_once(backend, engine):
    await allm.agenerate(engine, req())
    assert engine.instance.closes == 1


def test_an_iterator_taken_but_never_pulled_releases_the_call_when_dropped(backend, engine):
    iterator = iter(allm.stream_generate(engine, req()))
    del iterator
    gc.collect()
    assert engine.instance.closes == 1


def test_iterating_after_the_stream_object_is_gone_still_works_and_releases_once(backend, engine):
    iterator = iter(allm.stream_generate(engine, req(), emit_text_deltas=False))
    gc.collect()
    assert [e.type for e in iterator][-1] == "message_completed"
    assert engine.instance.closes == 1

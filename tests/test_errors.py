"""The error tree: closed reasons, fields, equality, no secrets in repr."""

from __future__ import annotations

import pytest

from allm import errors
from allm.errors import AdapterError, AllmError, StreamError, ToolError, ValidationError


@pytest.mark.parametrize(
    "cls",
    [
        errors.EngineError,
        errors.AdapterError,
        errors.StreamError,
        errors.ToolError,
        errors.ValidationError,
        errors.SessionError,
    ],
)
def test_every_error_class_is_an_allm_error(cls):
    assert issubclass(cls, AllmError)


def test_constructing_with_an_unknown_reason_raises():
    with pytest.raises(ValueError, match="no reason 'bogus'"):
        AdapterError("bogus")


def test_adapter_error_carries_provider_status_retry_and_request_id():
    err = AdapterError(
        "rate_limited", "slow down", provider="openai", status=429, retry_after_ms=1000, request_id="req_1"
    )
    assert (err.provider, err.status, err.retry_after_ms, err.request_id) == ("openai", 429, 1000, "req_1")
    assert str(err) == "rate_limited: slow down"


def test_errors_compare_by_class_reason_message_and_fields():
    assert StreamError("incomplete", "x") == StreamError("incomplete", "x")
    assert StreamError("incomplete", "x") != StreamError("timeout", "x")
    assert AdapterError("timeout", "x", status=1) != AdapterError("timeout", "x", status=2)


def test_validation_error_lists_every_problem_in_its_message():
    err = ValidationError(errors=[("messages", "empty"), ("temperature", "must be between 0 and 2")])
    assert err.errors == [("messages", "empty"), ("temperature", "must be between 0 and 2")]
    assert "messages: empty" in err.message and "temperature" in err.message


def test_cause_is_chained():
    cause = KeyError("k")
    assert ToolError("handler_raised", cause=cause).__cause__ is cause


def test_default_message_is_the_reason_in_words():
    assert StreamError("malformed_event").message == "malformed event"

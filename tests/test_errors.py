"""Errors keep what they are about in declared attributes (nbtrack.errors)."""

from __future__ import annotations

import inspect

import pytest

from nbtrack import errors
from nbtrack.errors import (
    InvalidFilter,
    InvalidParameter,
    MissingDependency,
    ModelNotFound,
    NbtrackError,
    SignatureError,
)

CLASSES = [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, NbtrackError)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_documented_and_carries_the_common_attributes(cls):
    assert cls.__doc__
    error = cls("message", package="p") if cls is MissingDependency else cls("message")
    assert error.message == str(error) == "message"
    assert (error.run_id, error.experiment_id, error.name, error.path) == (None,) * 4


@pytest.mark.parametrize(
    ("error", "attributes"),
    [
        (ModelNotFound("m", name="m", version="5"), {"name": "m", "version": "5"}),
        (InvalidParameter("p", argument="status", value="DONE"), {"argument": "status"}),
        (InvalidFilter("f", filter_string="x <", position=2), {"position": 2}),
        (SignatureError("s", column="a", missing=["a"]), {"column": "a", "missing": ["a"]}),
        (MissingDependency("d", package="plotly"), {"package": "plotly"}),
    ],
)
def test_errors_keep_what_they_are_about(error, attributes):
    assert {k: getattr(error, k) for k in attributes} == attributes


def test_an_undeclared_attribute_is_a_programming_error():
    with pytest.raises(TypeError):
        InvalidParameter("p", colour="red")  # type: ignore[call-arg]

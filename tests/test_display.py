"""One way to show durations, sizes, numbers and times, everywhere (nbtrack.display)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from nbtrack import display


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (850, "850 ms"),  # under a second
        (12_340, "12.3 s"),  # seconds, one decimal
        (245_000, "4 min 05 s"),  # minutes, seconds padded
        (7_380_000, "2 h 03 min"),  # hours, minutes padded
        (-5, "0 ms"),  # a clock step backwards is not a negative duration
    ],
)
def test_duration(ms, text):
    assert display.duration_ms(ms) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (512, "512 B"),
        (1536, "1.5 KiB"),  # binary units, spelled as such
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (None, ""),  # a folder has no size
    ],
)
def test_size(size, text):
    assert display.size(size) == text


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.123456789, 6, "0.123457"),  # the CLI and cards
        (0.123456789, 4, "0.1235"),  # panels, as the live run table
        (math.nan, 6, "nan"),
        (-math.inf, 4, "-inf"),
    ],
)
def test_number(value, digits, text):
    assert display.number(value, digits) == text


@pytest.mark.parametrize(
    ("offset", "zone"),
    [
        (timedelta(0), "UTC"),
        (timedelta(hours=1), "UTC+01:00"),
        (timedelta(hours=-9, minutes=-30), "UTC-09:30"),
    ],
)
def test_zone_name(offset, zone):
    assert display.zone_name(datetime(2026, 1, 1, tzinfo=timezone(offset))) == zone


def test_timestamp_shows_the_local_zone():
    ms = 1_764_597_912_000
    local = datetime.fromtimestamp(ms / 1000).astimezone()
    assert display.timestamp(ms) == f"{local:%Y-%m-%d %H:%M:%S} {display.zone_name(local)}"
    assert display.timestamp(None) == ""

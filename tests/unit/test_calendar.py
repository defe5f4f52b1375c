"""Plant calendars: working time added and aged over weekends, holidays, night shifts and DST."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plantwire.flows.catalog.calendar import PlantCalendar, add_working_time, working_hours_between

BERLIN = ZoneInfo("Europe/Berlin")
DAY_SHIFTS = PlantCalendar.standard("Europe/Berlin")  # 06:00-22:00 Monday to Friday
ALWAYS = PlantCalendar.standard("Europe/Berlin", start="00:00", end="24:00", days=tuple(range(7)))


def at(*args: int) -> float:
    return datetime(*args, tzinfo=BERLIN).timestamp()  # type: ignore[misc]


def local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, BERLIN).replace(tzinfo=None)


def test_friday_afternoon_plus_eight_hours_is_monday_morning() -> None:
    # Friday 2027-01-15 17:00: 5 hours left that day (to 22:00), then 3 on Monday from 06:00
    due = add_working_time(at(2027, 1, 15, 17), 8, DAY_SHIFTS)
    assert local(due) == datetime(2027, 1, 18, 9, 0)


def test_within_one_day() -> None:
    assert local(add_working_time(at(2027, 1, 13, 8), 8, DAY_SHIFTS)) == datetime(2027, 1, 13, 16)


def test_start_outside_hours_begins_at_the_next_window() -> None:
    assert local(add_working_time(at(2027, 1, 13, 3), 1, DAY_SHIFTS)) == datetime(2027, 1, 13, 7)
    assert local(add_working_time(at(2027, 1, 16, 12), 1, DAY_SHIFTS)) == datetime(2027, 1, 18, 7)


def test_ending_exactly_at_the_close_of_a_window() -> None:
    assert local(add_working_time(at(2027, 1, 13, 6), 16, DAY_SHIFTS)) == datetime(2027, 1, 13, 22)


def test_holidays_are_skipped() -> None:
    cal = PlantCalendar.standard("Europe/Berlin", holidays=frozenset({date(2027, 1, 18)}))
    assert local(add_working_time(at(2027, 1, 15, 17), 8, cal)) == datetime(2027, 1, 19, 9, 0)


def test_spring_forward_day_counts_elapsed_hours() -> None:
    # 2027-03-28 (Sunday): clocks jump 02:00 -> 03:00 in Berlin, so 00:00-24:00 holds 23 hours
    round_the_clock = ALWAYS
    start = at(2027, 3, 28, 0)
    assert working_hours_between(start, at(2027, 3, 29, 0), round_the_clock) == pytest.approx(23)
    assert local(add_working_time(start, 4, round_the_clock)) == datetime(2027, 3, 28, 5)


def test_fall_back_day_counts_elapsed_hours() -> None:
    assert working_hours_between(at(2027, 10, 31, 0), at(2027, 11, 1, 0), ALWAYS) == pytest.approx(25)


def test_day_shift_across_dst_change_keeps_its_local_hours() -> None:
    # Friday 2027-03-26 21:00 + 2h: 1h Friday, then Monday 06:00 local (now CEST) + 1h
    due = add_working_time(at(2027, 3, 26, 21), 2, DAY_SHIFTS)
    assert local(due) == datetime(2027, 3, 29, 7)


def test_night_shift_runs_past_midnight() -> None:
    nights = PlantCalendar.standard("UTC", start="22:00", end="06:00")
    friday_22 = datetime(2027, 1, 15, 22, tzinfo=ZoneInfo("UTC")).timestamp()
    due = add_working_time(friday_22 + 3600, 6, nights)  # 23:00 Fri -> 05:00 Sat (shift started Friday)
    assert datetime.fromtimestamp(due, ZoneInfo("UTC")) == datetime(2027, 1, 16, 5, tzinfo=ZoneInfo("UTC"))
    # the Saturday-night shift does not exist; next is Monday 22:00
    due = add_working_time(friday_22, 9, nights)
    assert datetime.fromtimestamp(due, ZoneInfo("UTC")) == datetime(2027, 1, 18, 23, tzinfo=ZoneInfo("UTC"))


def test_aging_over_a_weekend() -> None:
    assert working_hours_between(at(2027, 1, 15, 17), at(2027, 1, 18, 9), DAY_SHIFTS) == pytest.approx(8)
    assert working_hours_between(at(2027, 1, 18, 9), at(2027, 1, 15, 17), DAY_SHIFTS) == 0


def test_zero_hours_and_bad_input() -> None:
    assert add_working_time(at(2027, 1, 16, 12), 0, DAY_SHIFTS) == at(2027, 1, 16, 12)
    with pytest.raises(ValueError):
        add_working_time(0, -1, DAY_SHIFTS)
    with pytest.raises(ValueError):
        add_working_time(0, 1, PlantCalendar.standard(days=()))
    with pytest.raises(ValueError):
        PlantCalendar(week=((),))
    with pytest.raises(ValueError):
        PlantCalendar.standard(start="25:00")


@given(start=st.floats(min_value=1.7e9, max_value=1.9e9), hours=st.floats(min_value=0, max_value=200))
def test_adding_then_aging_gives_the_hours_back(start: float, hours: float) -> None:
    due = add_working_time(start, hours, DAY_SHIFTS)
    assert due >= start
    assert working_hours_between(start, due, DAY_SHIFTS) == pytest.approx(hours, abs=1e-6)

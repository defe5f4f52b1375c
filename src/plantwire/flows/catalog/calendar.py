"""Plant calendars: when a plant works, so SLAs and aging count working hours, not wall time.

Pure functions on epoch seconds. A calendar has working windows per weekday in the plant's local
time (a window may run past midnight, e.g. a night shift 22:00-06:00) and holidays (a window that
starts on a holiday does not happen). Windows are placed on real dates through zoneinfo, so a
daylight-saving change is counted in elapsed time: a window 00:00-24:00 on the spring-forward day
holds 23 working hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["PlantCalendar", "add_working_time", "working_hours_between"]

Window = tuple[str, str]
"""A working window as local "HH:MM" start and end; end "24:00" is midnight, end <= start runs overnight."""

MAX_DAYS = 3 * 366
"""How far the search for working time goes before a calendar is judged to have none."""


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"not a time of day: {hhmm!r}")
    return value


@dataclass(frozen=True)
class PlantCalendar:
    """Working windows per weekday (Monday = 0) in a time zone, and holidays."""

    tz: str = "UTC"
    week: tuple[tuple[Window, ...], ...] = field(default_factory=lambda: _weekdays((("06:00", "22:00"),)))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a plant calendar needs windows for all 7 weekdays (empty for days off)")
        for windows in self.week:
            for start, end in windows:
                _minutes(start)  # raises on a malformed time
                _minutes(end)
        ZoneInfo(self.tz)  # raises on an unknown zone

    @classmethod
    def standard(cls, tz: str = "UTC", start: str = "06:00", end: str = "22:00",
                 days: tuple[int, ...] = (0, 1, 2, 3, 4), holidays: frozenset[date] = frozenset()
                 ) -> PlantCalendar:
        """One window on the given weekdays (Monday to Friday by default)."""
        week = tuple(((start, end),) if d in days else () for d in range(7))
        return cls(tz=tz, week=week, holidays=holidays)


def _weekdays(windows: tuple[Window, ...]) -> tuple[tuple[Window, ...], ...]:
    return tuple(windows if d < 5 else () for d in range(7))


def _at(day: date, minute: int, zone: ZoneInfo) -> float:
    """Epoch of a local wall time on a day (minute may pass midnight)."""
    extra, minute = divmod(minute, 24 * 60)
    local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=extra, minutes=minute)
    return local.timestamp()


def _windows(calendar: PlantCalendar, first: date) -> Iterator[tuple[float, float]]:
    """Working windows as epoch intervals, from those starting on `first` on, in time order."""
    zone = ZoneInfo(calendar.tz)
    for n in range(MAX_DAYS):
        day = first + timedelta(days=n)
        if day in calendar.holidays:
            continue
        spans = []
        for start, end in calendar.week[day.weekday()]:
            s, e = _minutes(start), _minutes(end)
            if e <= s:
                e += 24 * 60
            spans.append((_at(day, s, zone), _at(day, e, zone)))
        yield from sorted(spans)


def _first_day(epoch: float, calendar: PlantCalendar) -> date:
    # one day back: an overnight window of the day before may still be running
    return datetime.fromtimestamp(epoch, ZoneInfo(calendar.tz)).date() - timedelta(days=1)


def add_working_time(start: float, hours: float, calendar: PlantCalendar) -> float:
    """The epoch at which `hours` working hours have passed after `start`."""
    if hours < 0:
        raise ValueError("working hours to add must not be negative")
    left = hours * 3600.0
    if left == 0:
        return start
    for w_start, w_end in _windows(calendar, _first_day(start, calendar)):
        begin = max(w_start, start)
        if begin >= w_end:
            continue
        if begin + left <= w_end:
            return begin + left
        left -= w_end - begin
    raise ValueError(f"the calendar has no working time within {MAX_DAYS} days of {start}")


def working_hours_between(start: float, end: float, calendar: PlantCalendar) -> float:
    """Working hours in [start, end): the aging of something open since `start`."""
    total = 0.0
    if end <= start:
        return total
    for w_start, w_end in _windows(calendar, _first_day(start, calendar)):
        if w_start >= end:
            break
        total += max(0.0, min(w_end, end) - max(w_start, start))
    return total / 3600.0

"""Times as a person reads them: the parts of the day, and the times they asked for first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from intake.scheduling.slots import Slot, subtract
from intake.scheduling.weeks import one_day, part_of_day, preferred_first, week_of, wished

LONDON = "Europe/London"


def slot(day: int, hour: int, minute: int = 0) -> Slot:
    """A 30-minute time on 30 November 2026 + `day` days (a Monday), in UTC (= London)."""
    start = datetime(2026, 11, 30, hour, minute, tzinfo=UTC) + timedelta(days=day)
    return Slot(start, start + timedelta(minutes=30))


def test_the_parts_of_the_day_turn_at_noon_and_at_five():
    assert [part_of_day(datetime(2026, 11, 30, h, m)) for h, m in
            ((0, 0), (11, 59), (12, 0), (16, 59), (17, 0), (23, 30))] == [
        "morning", "morning", "afternoon", "afternoon", "evening", "evening"]


def test_wishes_are_read_in_the_persons_zone_and_none_means_any():
    evening_in_london = slot(0, 18)
    assert wished(evening_in_london, {"evening"}, LONDON)
    assert not wished(evening_in_london, {"evening"}, "America/New_York")  # 1 pm there
    assert wished(evening_in_london, set(), LONDON)
    assert not wished(evening_in_london, {"evening", "weekend"}, LONDON)  # a Monday
    assert wished(slot(5, 18), {"evening", "weekend"}, LONDON)


def test_the_times_asked_for_come_first_then_the_soonest_others():
    times = [slot(0, 9), slot(0, 13), slot(0, 18), slot(1, 9), slot(1, 18), slot(2, 18)]
    assert preferred_first(times, {"evening"}, LONDON, 3) == [times[2], times[4], times[5]]
    assert preferred_first(times, {"evening"}, LONDON, 4) == [
        times[2], times[4], times[5], times[0]]
    assert preferred_first(times, set(), LONDON, 2) == times[:2]
    assert preferred_first(times, {"weekend"}, LONDON, 2) == times[:2]  # none: the soonest


def test_subtracting_spans_leaves_what_no_span_covers():
    day = datetime(2026, 11, 30, tzinfo=UTC)
    h = timedelta(hours=1)
    assert subtract([(day + 9 * h, day + 17 * h)],
                    [(day + 10 * h, day + 11 * h), (day + 16 * h, day + 18 * h)]) == [
        (day + 9 * h, day + 10 * h), (day + 11 * h, day + 16 * h)]
    assert subtract([(day, day + h)], []) == [(day, day + h)]
    assert subtract([(day, day + h)], [(day - h, day + 2 * h)]) == []


def test_a_day_of_the_week_is_chosen_and_its_times_grouped_by_part_of_the_day():
    times = [slot(0, 9), slot(0, 18), slot(2, 9), slot(2, 12), slot(2, 12, 40), slot(2, 19)]
    now = datetime(2026, 11, 29, tzinfo=UTC)
    week = week_of(times, LONDON, date(2026, 11, 30), now, timedelta(days=30))
    first = one_day(week, LONDON, None)
    assert first["strip"] == [(date(2026, 11, 30), 2, False), (date(2026, 12, 2), 4, False)]
    assert first["chosen"] == date(2026, 11, 30)
    assert first["groups"] == [("morning", [times[0]]), ("evening", [times[1]])]
    asked = one_day(week, LONDON, "2026-12-02")
    assert asked["groups"] == [("morning", [times[2]]), ("afternoon", times[3:5]),
                               ("evening", [times[5]])]
    for nothing_there in ("2026-12-01", "2027-01-01", "Wednesday", ""):
        assert one_day(week, LONDON, nothing_there)["chosen"] == date(2026, 11, 30)
    # Asked for afternoons: the first day with an afternoon time is chosen, and marked.
    afternoons = one_day(week, LONDON, None, {"afternoon"})
    assert afternoons["chosen"] == date(2026, 12, 2)
    assert [fits for _, _, fits in afternoons["strip"]] == [False, True]
    empty = one_day(week_of([], LONDON, date(2026, 11, 30), now, timedelta(days=30)), LONDON,
                    None)
    assert empty == {"strip": [], "chosen": None, "groups": []}

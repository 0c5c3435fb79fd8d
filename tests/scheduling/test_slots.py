"""Open times from the pure core: hours, busy time, buffers, notice, horizon and DST."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from intake.scheduling.slots import HoursRange, Rules, open_slots, within_hours, working_intervals

NY = "America/New_York"
LONDON = "Europe/London"


def weekdays(start: str, end: str, days=range(7)):
    return [HoursRange(d, time.fromisoformat(start), time.fromisoformat(end)) for d in days]


def rules(zone=NY, length=30, buffer=0, notice_hours=0, horizon_days=60):
    return Rules(zone, timedelta(minutes=length), timedelta(minutes=buffer),
                 timedelta(hours=notice_hours), timedelta(days=horizon_days))


def local_starts(slots, zone):
    return [s.starts_at.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") for s in slots]


def at(zone, *args):
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_a_day_of_hours_is_cut_into_consultations_with_buffers_between():
    now = at(NY, 2026, 6, 1, 0, 0)
    slots = open_slots(weekdays("09:00", "11:00"), rules(length=50, buffer=10), [], now, now,
                       now + timedelta(days=1))
    assert local_starts(slots, NY) == ["Mon 09:00", "Mon 10:00"]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=50) for s in slots)


def test_busy_time_and_its_buffer_are_never_offered():
    now = at(NY, 2026, 6, 1, 0, 0)
    busy = [(at(NY, 2026, 6, 1, 10, 0), at(NY, 2026, 6, 1, 10, 30))]
    slots = open_slots(weekdays("09:00", "12:00"), rules(length=30, buffer=15), busy, now, now,
                       now + timedelta(days=1))
    # 09:00 (ends 09:30, buffer to 09:45 — clear of 10:00 minus 15), then after 10:45.
    assert local_starts(slots, NY) == ["Mon 09:00", "Mon 10:45", "Mon 11:30"]


def test_notice_and_horizon_bound_the_offer():
    now = at(NY, 2026, 6, 1, 9, 20)
    slots = open_slots(weekdays("09:00", "12:00"), rules(notice_hours=1, horizon_days=1), [],
                       now, now, now + timedelta(days=7))
    starts = [s.starts_at for s in slots]
    assert min(starts) >= now + timedelta(hours=1)
    assert max(starts) < now + timedelta(days=1)
    assert local_starts(slots, NY)[0] == "Mon 10:30"


def test_spring_forward_keeps_wall_clock_hours_in_the_therapists_zone():
    # 8 March 2026: New York moves from UTC-5 to UTC-4.
    before = open_slots(weekdays("09:00", "09:30"), rules(), [], at(NY, 2026, 3, 7, 0, 0),
                        at(NY, 2026, 3, 7, 0, 0), at(NY, 2026, 3, 10, 0, 0))
    utc_hours = [s.starts_at.hour for s in before]
    assert utc_hours == [14, 13, 13]  # Sat at 09:00 EST; Sun (after 02:00) and Mon at 09:00 EDT
    assert local_starts(before, NY) == ["Sat 09:00", "Sun 09:00", "Mon 09:00"]


def test_fall_back_keeps_wall_clock_hours_in_the_therapists_zone():
    # 1 November 2026: New York moves from UTC-4 to UTC-5.
    slots = open_slots(weekdays("09:00", "09:30"), rules(), [], at(NY, 2026, 10, 31, 0, 0),
                       at(NY, 2026, 10, 31, 0, 0), at(NY, 2026, 11, 3, 0, 0))
    assert [s.starts_at.hour for s in slots] == [13, 14, 14]
    assert local_starts(slots, NY) == ["Sat 09:00", "Sun 09:00", "Mon 09:00"]


def test_hours_across_the_skipped_hour_are_an_hour_shorter():
    # 01:00–04:00 on the night the clocks skip 02:00–03:00 holds two real hours.
    start = at(NY, 2026, 3, 8, 0, 0)
    slots = open_slots([HoursRange(6, time(1), time(4))], rules(length=60), [], start, start,
                       start + timedelta(hours=12))
    assert len(slots) == 2
    assert local_starts(slots, NY) == ["Sun 01:00", "Sun 03:00"]


def test_hours_across_the_repeated_hour_are_an_hour_longer():
    start = at(NY, 2026, 11, 1, 0, 0)
    slots = open_slots([HoursRange(6, time(0), time(3))], rules(length=60), [], start, start,
                       start + timedelta(hours=12))
    assert len(slots) == 4  # 00:00, 01:00 EDT, 01:00 EST, 02:00


def test_times_shown_in_the_clients_zone_follow_both_zones_changes():
    # Between 8 and 29 March 2026 New York is on summer time and London is not yet:
    # a 09:00 New York slot is 13:00 in London, otherwise 14:00.
    def london_hour(day):
        start = at(NY, 2026, 3, day, 0, 0)
        (slot,) = open_slots(weekdays("09:00", "09:30"), rules(), [], start, start,
                             start + timedelta(days=1))
        return slot.starts_at.astimezone(ZoneInfo(LONDON)).hour

    assert london_hour(2) == 14
    assert london_hour(16) == 13
    assert london_hour(30) == 14


ZONES = st.sampled_from([NY, LONDON, "Europe/Paris", "America/Los_Angeles",
                         "Australia/Sydney", "Asia/Kolkata", "UTC"])


@st.composite
def hours_strategy(draw):
    ranges = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 22 * 4)) * 15
        end = min(start + draw(st.integers(2, 40)) * 15, 24 * 60 - 1)
        ranges.append(HoursRange(draw(st.integers(0, 6)), time(start // 60, start % 60),
                                 time(end // 60, end % 60)))
    return ranges


@settings(max_examples=150, deadline=None)
@given(
    zone=ZONES,
    hours=hours_strategy(),
    length=st.sampled_from([15, 30, 45, 50, 60, 90]),
    buffer=st.sampled_from([0, 5, 10, 15, 30]),
    notice=st.integers(0, 72),
    horizon=st.integers(1, 30),
    start_offset=st.integers(0, 365 * 24 * 4),
    busy_spec=st.lists(st.tuples(st.integers(0, 14 * 24 * 4), st.integers(1, 16)), max_size=8),
)
def test_offered_times_never_clash_and_respect_every_rule(
    zone, hours, length, buffer, notice, horizon, start_offset, busy_spec
):
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * start_offset)
    busy = [(now + timedelta(minutes=15 * a), now + timedelta(minutes=15 * (a + b)))
            for a, b in busy_spec]
    r = rules(zone, length, buffer, notice, horizon)
    window_end = now + timedelta(days=14)
    slots = open_slots(hours, r, busy, now, now, window_end)
    tz = ZoneInfo(zone)
    gap = timedelta(minutes=buffer)
    for i, slot in enumerate(slots):
        assert slot.ends_at - slot.starts_at == timedelta(minutes=length)
        assert slot.starts_at >= now + timedelta(hours=notice)
        assert slot.starts_at < now + timedelta(days=horizon)
        assert slot.starts_at < window_end
        for s, e in busy:
            assert slot.ends_at + gap <= s or slot.starts_at >= e + gap
        if i:
            assert slots[i - 1].ends_at + gap <= slot.starts_at
        # Inside one working range on its local day.
        local_start = slot.starts_at.astimezone(tz)
        inside = False
        for h in hours:
            for day in (local_start.date(), local_start.date() - timedelta(days=1)):
                if day.weekday() != h.weekday:
                    continue
                rs = datetime.combine(day, h.starts, tzinfo=tz).astimezone(UTC)
                re_ = datetime.combine(day, h.ends, tzinfo=tz).astimezone(UTC)
                if rs <= slot.starts_at and slot.ends_at <= re_:
                    inside = True
        assert inside, (slot, hours)


# Each rule pinned by fixed cases on a plain Monday (1 June 2026, New York), so that breaking
# the rule fails here every time, not only on the seeds where the property test happens to
# draw the edge.

def monday_slots(hours=("09:00", "12:00"), now=(8, 0), busy=(), **rule):
    """Return the local start times offered on Monday 1 June 2026 (from `now`, that day)."""
    now_at = at(NY, 2026, 6, 1, *now)
    blocked = [(at(NY, 2026, 6, 1, *s), at(NY, 2026, 6, 1, *e)) for s, e in busy]
    slots = open_slots(weekdays(*hours), rules(**rule), blocked, now_at,
                       at(NY, 2026, 6, 1, 0, 0), at(NY, 2026, 6, 2, 0, 0))
    return [s.starts_at.astimezone(ZoneInfo(NY)).strftime("%H:%M") for s in slots]


def test_the_buffer_is_kept_before_busy_time():
    # 09:00–09:50 would end 10 minutes before the 10:00 busy time: inside the 15-minute buffer.
    assert monday_slots(busy=[((10, 0), (10, 30))], length=50, buffer=15) == ["10:45"]
    # Ending exactly a buffer before it is fine.
    assert monday_slots(busy=[((10, 0), (10, 30))], length=45, buffer=15) == ["09:00", "10:45"]


def test_the_buffer_is_kept_after_busy_time_and_between_offered_times():
    assert monday_slots(busy=[((9, 0), (9, 30))], length=30, buffer=15) == [
        "09:45", "10:30", "11:15"]
    assert monday_slots(length=60, buffer=0) == ["09:00", "10:00", "11:00"]


def test_the_buffer_is_kept_between_ranges_that_meet():
    # 09:00–10:00 then 10:00–11:00: the first range's consultation ends at 10:00, so the second
    # range's first one would leave no buffer after it.
    meeting = [*weekdays("09:00", "10:00", [0]), *weekdays("10:00", "11:00", [0])]
    now_at = at(NY, 2026, 6, 1, 8, 0)
    slots = open_slots(meeting, rules(length=60, buffer=15), [], now_at,
                       at(NY, 2026, 6, 1, 0, 0), at(NY, 2026, 6, 2, 0, 0))
    assert [s.starts_at.astimezone(ZoneInfo(NY)).strftime("%H:%M") for s in slots] == ["09:00"]


def test_a_start_after_busy_time_is_rounded_up_to_the_quarter_hour():
    assert monday_slots(hours=("09:00", "10:00"), busy=[((9, 0), (9, 10))], length=30) == [
        "09:15"]
    assert monday_slots(hours=("09:00", "10:30"), busy=[((9, 0), (9, 20))], length=30) == [
        "09:30", "10:00"]
    # Right after the busy time, even when the times before it were off the quarter-hour grid
    # (20-minute consultations: 09:00, then 09:20 clashes with 09:20–09:25).
    assert monday_slots(hours=("09:00", "10:00"), busy=[((9, 20), (9, 25))], length=20) == [
        "09:00", "09:30"]
    # Counted from the start of the working range, not from the hour.
    assert monday_slots(hours=("09:10", "10:30"), busy=[((9, 0), (9, 20))], length=30) == [
        "09:25", "09:55"]


def test_a_busy_time_of_no_length_blocks_nothing():
    assert monday_slots(hours=("09:00", "10:00"), busy=[((9, 30), (9, 30))], length=30,
                        buffer=15) == ["09:00"]
    assert monday_slots(hours=("09:00", "10:00"), busy=[((9, 30), (9, 30))], length=30) == [
        "09:00", "09:30"]


def test_a_time_that_just_fits_before_the_end_of_the_hours_is_offered():
    assert monday_slots(hours=("09:00", "10:00"), now=(8, 30), notice_hours=1, length=30) == [
        "09:30"]


def test_busy_time_touching_a_slot_does_not_block_it():
    assert monday_slots(hours=("09:00", "10:00"), busy=[((8, 0), (9, 0)), ((10, 0), (11, 0))],
                        length=60) == ["09:00"]


def test_the_minimum_notice_is_kept_to_the_minute():
    # Exactly the notice away is offered; a minute less is not.
    assert monday_slots(now=(8, 0), notice_hours=1, length=30)[0] == "09:00"
    assert monday_slots(now=(8, 1), notice_hours=1, length=30)[0] == "09:30"
    assert monday_slots(now=(7, 31), notice_hours=2, length=30)[0] == "10:00"


def test_nothing_is_offered_beyond_the_horizon():
    now = at(NY, 2026, 6, 1, 9, 0)
    slots = open_slots(weekdays("09:00", "12:00"), rules(length=60, horizon_days=1), [], now,
                       now, now + timedelta(days=3))
    # Tuesday 09:00 is exactly a day ahead: beyond the horizon.
    assert local_starts(slots, NY) == ["Mon 09:00", "Mon 10:00", "Mon 11:00"]


def test_only_times_starting_inside_the_window_are_returned():
    now = at(NY, 2026, 6, 1, 0, 0)
    slots = open_slots(weekdays("09:00", "12:00"), rules(length=60), [], now,
                       at(NY, 2026, 6, 1, 10, 0), at(NY, 2026, 6, 1, 11, 0))
    assert local_starts(slots, NY) == ["Mon 10:00"]
    # A window that has passed, or lies beyond the horizon, is empty.
    assert open_slots(weekdays("09:00", "12:00"), rules(horizon_days=1), [], now,
                      now + timedelta(days=2), now + timedelta(days=3)) == []


def test_within_hours_means_wholly_inside_one_working_range():
    hours = [HoursRange(0, time(9), time(12)), HoursRange(0, time(13), time(17))]

    def inside(start, end):
        return within_hours(hours, NY, at(NY, 2026, 6, 1, *start), at(NY, 2026, 6, 1, *end))

    assert inside((9, 0), (12, 0)) and inside((13, 30), (14, 20))
    assert not inside((8, 59), (9, 30))  # starts before
    assert not inside((11, 30), (12, 1))  # ends after
    assert not inside((11, 30), (13, 30))  # spans the lunch break
    # Tuesday has no hours; Monday's hours are wall-clock in New York even across a DST change.
    assert not within_hours(hours, NY, at(NY, 2026, 6, 2, 9, 0), at(NY, 2026, 6, 2, 10, 0))
    assert within_hours(hours, NY, at(NY, 2026, 3, 9, 9, 0), at(NY, 2026, 3, 9, 10, 0))
    # The zone decides: 05:00–06:00 in New York is 09:00–10:00 UTC.
    early = at(NY, 2026, 6, 1, 5, 0), at(NY, 2026, 6, 1, 6, 0)
    assert within_hours(hours, "UTC", *early) and not within_hours(hours, NY, *early)


def test_working_intervals_are_those_that_touch_the_window_in_utc():
    hours = [HoursRange(0, time(9), time(12)), HoursRange(1, time(10), time(10))]  # Tue: none

    def on_monday(start, end):
        return working_intervals(hours, NY, at(NY, 2026, 6, 1, *start), at(NY, 2026, 6, 1, *end))

    nine_to_noon = (at(NY, 2026, 6, 1, 9, 0), at(NY, 2026, 6, 1, 12, 0))
    assert on_monday((11, 59), (13, 0)) == [nine_to_noon]
    assert on_monday((12, 0), (13, 0)) == []  # ends as the window starts
    assert on_monday((8, 0), (9, 0)) == []  # starts as the window ends
    assert on_monday((8, 0), (9, 1)) == [nine_to_noon]
    # The days either side of the window are looked at, never returned; an empty range never.
    assert working_intervals(hours, NY, at(NY, 2026, 6, 2, 0, 0), at(NY, 2026, 6, 3, 0, 0)) == []
    assert all(s.tzinfo is UTC for s, _ in working_intervals(hours, NY, *nine_to_noon))

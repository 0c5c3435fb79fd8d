"""Matching as a pure function: hard filters, then scores with reasons in plain words."""

from datetime import date, time

from intake.matching import Candidate, Wish, _join, rank, score, time_buckets, wanted_modalities
from intake.scheduling.slots import HoursRange

TODAY = date(2026, 12, 1)


def therapist(id, modalities, concerns=(), languages=("en",), formats=("telehealth",),
              accepting=True, hours=((0, "09:00", "12:00"),), zone="America/New_York", load=0):
    return Candidate(
        id=id, modalities=frozenset(modalities), concerns=frozenset(concerns),
        languages=frozenset(languages), formats=frozenset(formats), accepting=accepting,
        timezone=zone, load=load,
        hours=tuple(HoursRange(d, time.fromisoformat(s), time.fromisoformat(e))
                    for d, s, e in hours),
    )


def ids(matches):
    return [m.therapist_id for m in matches]


def test_not_sure_reads_the_concerns():
    assert wanted_modalities(Wish("not_sure", frozenset({"conflict"}))) == {"couples"}
    assert wanted_modalities(Wish("not_sure", frozenset({"ptsd"}))) == {"emdr", "cft"}
    assert wanted_modalities(Wish("not_sure", frozenset({"shame"}))) == {"cft"}
    assert wanted_modalities(Wish("not_sure", kind="couple")) == {"couples"}
    assert wanted_modalities(Wish("not_sure")) == {"couples", "emdr", "cft"}
    assert wanted_modalities(Wish("emdr", frozenset({"conflict"}))) == {"emdr"}


def test_hard_filters_remove_who_cannot_help():
    people = [
        therapist(1, ["emdr"]),
        therapist(2, ["couples"]),
        therapist(3, ["emdr"], accepting=False),
        therapist(4, ["emdr"], formats=["in_person"]),
        therapist(5, ["emdr"], languages=["fr"]),
    ]
    assert ids(rank(people, Wish("emdr", format="telehealth", language="en"), TODAY)) == [1]
    assert set(ids(rank(people, Wish("emdr", format="either", language="en"), TODAY))) == {1, 4}


def test_trauma_with_not_sure_goes_to_emdr_or_compassion_focused():
    people = [therapist(1, ["couples"]), therapist(2, ["emdr"]), therapist(3, ["cft"])]
    found = rank(people, Wish("not_sure", frozenset({"trauma"})), TODAY)
    assert set(ids(found)) == {2, 3}


def test_concerns_and_times_rank_and_explain():
    evening = ((1, "17:00", "20:00"),)
    people = [
        therapist(1, ["couples"], concerns=["conflict"], hours=((1, "09:00", "12:00"),)),
        therapist(2, ["couples"], concerns=["conflict", "withdrawal"], hours=evening),
        therapist(3, ["couples"], hours=evening),
    ]
    wish = Wish("couples", frozenset({"conflict", "withdrawal"}), kind="couple",
                times=frozenset({"evening"}), timezone="America/New_York", format="telehealth")
    found = rank(people, wish, TODAY)
    assert ids(found) == [2, 1, 3]
    assert found[0].reasons == [
        "Offers couples therapy", "Works with recurring conflict and withdrawal",
        "Has evening times", "Sees clients online", "Has room for new clients",
    ]


def test_preferred_times_are_read_in_the_clients_zone():
    # 18:00–20:00 in Paris is noon to 2 pm in New York: an afternoon there, not an evening.
    paris = therapist(1, ["cft"], hours=((2, "18:00", "20:00"),), zone="Europe/Paris")
    wish_ny = Wish("cft", times=frozenset({"evening"}), timezone="America/New_York")
    wish_paris = Wish("cft", times=frozenset({"evening"}), timezone="Europe/Paris")
    assert "Has evening times" not in rank([paris], wish_ny, TODAY)[0].reasons
    assert "Has evening times" in rank([paris], wish_paris, TODAY)[0].reasons


def test_a_lighter_load_wins_a_tie_and_a_full_diary_is_not_called_roomy():
    people = [therapist(1, ["emdr"], load=6), therapist(2, ["emdr"], load=0)]
    found = rank(people, Wish("emdr"), TODAY)
    assert ids(found) == [2, 1]
    assert "Has room for new clients" not in found[1].reasons


def test_the_list_is_short():
    people = [therapist(i, ["emdr"]) for i in range(10)]
    assert len(rank(people, Wish("emdr"), TODAY)) == 3


def test_weekend_and_weekday_preferences():
    sunday = therapist(1, ["couples"], hours=((6, "10:00", "13:00"),))
    monday = therapist(2, ["couples"], hours=((0, "10:00", "13:00"),))
    weekend = rank([sunday, monday], Wish("couples", times=frozenset({"weekend"}),
                                          timezone="America/New_York"), TODAY)
    assert ids(weekend) == [1, 2]
    assert "Has weekend times" in weekend[0].reasons
    weekday = rank([sunday, monday], Wish("couples", times=frozenset({"weekday"}),
                                          timezone="America/New_York"), TODAY)
    assert ids(weekday) == [2, 1]


# Each scoring rule pinned by exact values.

def buckets(*hours, zone="UTC"):
    """Return the time buckets of hours given as (weekday, start, end) in UTC."""
    return time_buckets(therapist(1, ["emdr"], hours=hours, zone="UTC"), zone, TODAY)


def test_time_buckets_start_and_end_on_the_hour_named():
    assert buckets((0, "06:00", "06:30")) == {"weekday", "morning"}
    assert buckets((0, "05:00", "06:00")) == {"weekday"}  # too early for "morning"
    assert buckets((0, "11:30", "12:00")) == {"weekday", "morning"}  # ends at noon: no afternoon
    assert buckets((0, "12:00", "12:30")) == {"weekday", "afternoon"}
    assert buckets((0, "16:30", "17:00")) == {"weekday", "afternoon"}
    assert buckets((0, "17:00", "17:30")) == {"weekday", "evening"}
    assert buckets((0, "21:30", "22:00")) == {"weekday", "evening"}
    assert buckets((0, "22:00", "23:00")) == {"weekday"}  # too late for "evening"
    assert buckets((0, "09:00", "12:30")) == {"weekday", "morning", "afternoon"}
    assert buckets((0, "11:15", "12:15")) == {"weekday", "morning", "afternoon"}
    assert buckets((0, "09:00", "22:30")) == {"weekday", "morning", "afternoon", "evening"}
    assert buckets((4, "10:00", "10:30")) == {"weekday", "morning"}  # Friday
    assert buckets((5, "10:00", "10:30")) == {"weekend", "morning"}  # Saturday
    assert buckets((6, "18:00", "18:30")) == {"weekend", "evening"}  # Sunday
    # Read in the client's zone: 23:00 UTC Sunday is 18:00 Sunday in New York.
    assert buckets((6, "23:00", "23:30"), zone="America/New_York") == {"weekend", "evening"}
    # Monday 01:00–02:00 UTC is Sunday evening in New York: the client's day decides.
    assert buckets((0, "01:00", "02:00"), zone="America/New_York") == {"weekend", "evening"}
    # Friday 20:00–23:00 UTC is 21:00 to midnight in Paris: Friday evening, not the weekend.
    assert buckets((4, "20:00", "23:00"), zone="Europe/Paris") == {"weekday", "evening"}
    assert buckets((4, "20:00", "23:30"), zone="Europe/Paris") == {"weekday", "evening",
                                                                   "weekend"}


def test_time_buckets_follow_the_clients_daylight_saving_time():
    # Mondays 10:00–11:00 UTC: 05:00 in New York in winter (too early), 06:00 from 8 March.
    utc_mornings = therapist(1, ["emdr"], hours=((0, "10:00", "11:00"),), zone="UTC")
    assert time_buckets(utc_mornings, "America/New_York", date(2026, 3, 2)) == {"weekday"}
    assert time_buckets(utc_mornings, "America/New_York", date(2026, 3, 9)) == {"weekday",
                                                                                 "morning"}


def test_the_score_adds_each_rule_s_points():
    # Not sure, with two concerns: a point per fitting modality, three per shared concern,
    # two per preferred time covered, a quarter less per appointment already booked.
    person = therapist(1, ["emdr", "cft", "couples"], concerns=["trauma", "shame"],
                       hours=((0, "09:00", "12:00"), (5, "09:00", "10:00")), zone="UTC", load=3)
    wish = Wish("not_sure", frozenset({"trauma", "shame"}),
                times=frozenset({"morning", "weekend", "evening"}), timezone="UTC")
    found = score(person, wish, TODAY)
    assert found.score == 2 + 3 * 2 + 2 * 2 - 0.25 * 3  # EMDR and CFT fit; not couples
    assert found.reasons == ["Offers compassion-focused therapy", "EMDR-trained",
                             "Works with shame and trauma",
                             "Has morning times and has weekend times"]
    # A named modality earns no points of its own.
    named = score(person, Wish("emdr", frozenset({"trauma"})), TODAY)
    assert named.score == 3 - 0.75 and named.reasons == ["EMDR-trained", "Works with trauma"]


def test_reasons_say_the_format_language_and_room_in_plain_words():
    person = therapist(1, ["couples"], languages=["en", "es", "uk"],
                       formats=["in_person", "telehealth"], load=2)
    assert score(person, Wish("couples", format="in_person", language="es"), TODAY).reasons == [
        "Offers couples therapy", "Sees clients in person", "Speaks Spanish",
        "Has room for new clients"]
    assert score(person, Wish("couples", format="either", language="uk"), TODAY).reasons == [
        "Offers couples therapy", "Speaks uk", "Has room for new clients"]
    busier = therapist(1, ["couples"], load=3)
    assert score(busier, Wish("couples", language="en"), TODAY).reasons == [
        "Offers couples therapy"]


def test_lists_read_as_plain_english():
    assert _join([]) == "" and _join(["shame"]) == "shame"
    assert _join(["a", "b"]) == "a and b" and _join(["a", "b", "c"]) == "a, b and c"

"""Matching as a pure function: hard filters, then scores with reasons in plain words."""

from datetime import date, time

from intake.matching import Candidate, Wish, rank, wanted_modalities
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

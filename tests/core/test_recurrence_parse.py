"""RRULE parsing: what is accepted and how it is spelled back, what is refused and which part
the refusal names, and random text that never gets anything but a rule or a RecurrenceError."""

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.recurrence import (
    MAX_RULE_LENGTH,
    ByDay,
    Frequency,
    RecurrenceError,
    Rule,
    parse_rule,
)
from tests.core.recurrence_rules import profile, rule_texts


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=monthly;byday=-1fr", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("  RRULE:FREQ=WEEKLY;BYDAY=FR,MO  ", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("FREQ=MONTHLY;BYDAY=+2MO", "FREQ=MONTHLY;BYDAY=2MO"),
        ("INTERVAL=1;FREQ=DAILY;WKST=MO", "FREQ=DAILY"),
        (
            "FREQ=WEEKLY;INTERVAL=02;WKST=SU;BYDAY=TU,TH",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=-1,15,1,15", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"),
        ("FREQ=YEARLY;BYMONTH=12,1,1", "FREQ=YEARLY;BYMONTH=1,12"),
        (
            "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR,TH,WE,TU,MO",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        ("FREQ=YEARLY;BYDAY=-1SU,1MO,MO;BYMONTH=3", "FREQ=YEARLY;BYDAY=MO,1MO,-1SU;BYMONTH=3"),
        ("FREQ=DAILY;COUNT=010", "FREQ=DAILY;COUNT=10"),
        ("FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"),
        ("FREQ=DAILY;until=20261231t235959z", "FREQ=DAILY;UNTIL=20261231T235959Z"),
        ("FREQ=YEARLY;BYDAY=53MO", "FREQ=YEARLY;BYDAY=53MO"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2"),
        ("FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2,3", "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2,3"),
    ],
)
def test_parse_rule_accepts_and_normalizes(text: str, canonical: str) -> None:
    rule = parse_rule(text)
    assert str(rule) == canonical
    assert parse_rule(canonical) == rule


def test_parse_rule_reads_every_part() -> None:
    rule = parse_rule("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR;BYMONTH=1,7;BYSETPOS=1;WKST=SU;COUNT=5")
    assert rule == Rule(
        freq=Frequency.MONTHLY,
        interval=2,
        by_day=(ByDay(weekday=4, ordinal=-1),),
        by_month=(1, 7),
        by_set_pos=(1,),
        week_start=6,
        count=5,
    )
    assert parse_rule("FREQ=DAILY;UNTIL=20261231").until == date(2026, 12, 31)
    assert parse_rule("FREQ=DAILY;UNTIL=20261231T080000Z").until == datetime(
        2026, 12, 31, 8, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "part"),
    [
        # The text as a whole.
        ("", None),
        ("   ", None),
        ("RRULE:", None),
        (";", None),
        ("FREQ=DAILY;", None),
        ("FREQ=DAILY;;COUNT=2", None),
        ("FREQ = DAILY", None),
        ("FREQ=DAILY\nCOUNT=2", None),
        ("FREQ=DAİLY", None),
        ("FREQ=DAILY;1=2", None),
        ("X" * (MAX_RULE_LENGTH + 1), None),
        # FREQ.
        ("INTERVAL=2", "FREQ"),
        ("FREQ=", "FREQ"),
        ("FREQ", "FREQ"),
        ("FREQ=SECONDLY", "FREQ"),
        ("FREQ=MINUTELY", "FREQ"),
        ("FREQ=HOURLY", "FREQ"),
        ("FREQ=FORTNIGHTLY", "FREQ"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ"),
        ("FREQ=DAILY=WEEKLY", "FREQ"),
        # Parts that are not supported or not known.
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
        ("FREQ=DAILY;BYMINUTE=30", "BYMINUTE"),
        ("FREQ=DAILY;BYSECOND=0", "BYSECOND"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
        ("FREQ=YEARLY;RSCALE=HEBREW", "RSCALE"),
        ("FREQ=DAILY;X-NAME=1", "X-NAME"),
        ("FREQ=DAILY;DTSTART=20260101", "DTSTART"),
        # Values out of range or malformed.
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=1000", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=2.5", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=99999999999999999999", "INTERVAL"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=100001", "COUNT"),
        ("FREQ=DAILY;COUNT=two", "COUNT"),
        ("FREQ=DAILY;INTERVAL=2;INTERVAL=3", "INTERVAL"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20261231", "COUNT"),
        ("FREQ=DAILY;UNTIL=20261231T080000", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T0800Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T250000Z", "UNTIL"),
        ("FREQ=WEEKLY;WKST=XX", "WKST"),
        ("FREQ=WEEKLY;BYDAY=", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=MON", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=MO,,TU", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=2MO", "BYDAY"),
        ("FREQ=DAILY;BYDAY=-1FR", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=0", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=+1", "BYMONTH"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS"),
        # Rules no date can satisfy.
        ("FREQ=YEARLY;BYMONTHDAY=31;BYMONTH=2", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=30,31;BYMONTH=2", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-31;BYMONTH=4,6,9,11", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=-6FR;BYMONTH=5", "BYDAY"),
        ("FREQ=WEEKLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;BYDAY=MO;BYSETPOS=2", "BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=8", "BYSETPOS"),
        ("FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3", "BYSETPOS"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,2;BYSETPOS=-3", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=1MO,MO;BYSETPOS=6", "BYSETPOS"),
        ("FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=2MO", "BYDAY"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-6", "BYSETPOS"),
    ],
)
def test_parse_rule_refuses_naming_the_part(text: str, part: str | None) -> None:
    with pytest.raises(RecurrenceError) as caught:
        parse_rule(text)
    assert caught.value.part == part
    assert caught.value.message
    if part is not None:
        assert str(caught.value).startswith(f"{part}: ")


def test_parse_rule_refuses_what_is_not_a_string() -> None:
    with pytest.raises(RecurrenceError):
        parse_rule(b"FREQ=DAILY")  # type: ignore[arg-type]


def test_refusals_quote_at_most_a_little_of_the_input() -> None:
    with pytest.raises(RecurrenceError) as caught:
        parse_rule("FREQ=MONTHLY;BYDAY=" + "A" * 400)
    assert len(caught.value.message) < 100


# Fragments of RRULE syntax, so random rules get past the first checks and reach the deeper ones.
TOKENS = [
    *["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"],
    *["WKST", "BYHOUR", "RRULE", "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"],
    *["MO", "TU", "WE", "TH", "FR", "SA", "SU"],
    *["=", ";", ",", ":", "-", "+", "T", "Z", "0", "1", "2", "5", "29", "31", "53", "366"],
    *["-1", "20261231", "20260229T020000Z", "99999999999", " ", "é", "\x00"],
]
rule_like = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
structured = st.lists(
    st.tuples(st.sampled_from(TOKENS[:10]), st.lists(st.sampled_from(TOKENS), max_size=6)),
    max_size=8,
).map(lambda parts: ";".join(f"{name}={''.join(value)}" for name, value in parts))


@profile(200)
@given(st.one_of(st.text(max_size=MAX_RULE_LENGTH + 20), rule_like, structured, rule_texts()))
def test_any_text_gives_a_rule_or_a_recurrence_error(text: str) -> None:
    try:
        rule = parse_rule(text)
    except RecurrenceError as error:
        refused: RecurrenceError | None = error
    else:
        refused = None
    if refused is not None:
        # The part named is a part name, never arbitrary input.
        assert refused.part is None or re.fullmatch(r"[A-Z][A-Z0-9-]{0,19}", refused.part)
        return
    canonical = str(rule)
    assert parse_rule(canonical) == rule
    assert str(parse_rule(canonical)) == canonical

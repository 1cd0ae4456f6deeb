"""A calendar feed's recurring tasks expand, in a second implementation, to the occurrences our
own API previews (issue 20).

The feed is parsed by vobject, and each RRULE it read is expanded by dateutil against the
DTSTART it read, in the feed's own VTIMEZONE (read by dateutil's tzical: vobject rewrites a
VTIMEZONE before reading it and loses all but the first date of an RDATE list, so it would
drop every daylight saving change after the first). For a year from the current due that
must be exactly `GET /api/v1/tasks/{id}/occurrences`, across daylight saving changes, with
COUNT restated after completions and UNTIL restated for the due's value type.
"""

import io
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

import pytest
import vobject
from dateutil import tz
from dateutil.rrule import rruleset, rrulestr
from fastapi.testclient import TestClient

from tests.factories import make_account, make_task

ZONE = "Europe/Berlin"
YEAR = timedelta(days=366)
# (rule, due, completions before the feed is read): each due is on the rule's pattern.
SERIES = [
    ("FREQ=WEEKLY;BYDAY=TU", "2026-12-01T09:00:00+01:00", 0),
    ("FREQ=MONTHLY;BYDAY=-1FR", "2026-12-25T18:30:00+01:00", 0),
    ("FREQ=DAILY;INTERVAL=4", "2026-12-01", 0),
    ("FREQ=MONTHLY;BYMONTHDAY=31", "2026-12-31", 0),
    ("FREQ=WEEKLY;COUNT=10", "2027-03-01T08:00:00+01:00", 2),
    ("FREQ=DAILY;INTERVAL=5;UNTIL=20270601", "2027-03-02T07:15:00+01:00", 0),
    ("FREQ=WEEKLY;UNTIL=20270315T120000Z", "2026-12-03", 1),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2026-12-31T17:00:00+01:00", 0),
    # The second 02:30 of the night clocks go back (a TZID value names the first one) ...
    ("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "2026-10-25T02:30:00+01:00", 0),
    # ... and the first.
    ("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "2026-10-25T02:30:00+02:00", 0),
]


def _zone(text: str) -> tzinfo:
    """The feed's VTIMEZONE, as dateutil reads it."""
    start = text.index("BEGIN:VTIMEZONE")
    end = text.index("END:VTIMEZONE\r\n") + len("END:VTIMEZONE\r\n")
    zone = tz.tzical(io.StringIO(text[start:end])).get()
    assert zone is not None
    return zone


def _ours(value: str) -> date | datetime:
    if "T" not in value:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).astimezone(UTC)


def _theirs(value: date | datetime, all_day: bool) -> date | datetime:
    if all_day:
        return value.date() if isinstance(value, datetime) else value
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


@pytest.mark.parametrize(("rule", "due", "done"), SERIES)
def test_feed_recurrence_matches_our_occurrences_for_a_year(
    client: TestClient, rule: str, due: str, done: int
) -> None:
    account = make_account(client)
    changed = client.patch("/api/v1/users/me", json={"timezone": ZONE}, headers=account.headers)
    assert changed.status_code == 200, changed.text
    task = make_task(client, account, title="Recurring", due=due, recurrence=rule)
    for _ in range(done):
        completed = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=account.headers)
        assert completed.status_code == 200, completed.text
    listed = client.get(
        f"/api/v1/tasks/{task['id']}/occurrences", params={"limit": 100}, headers=account.headers
    )
    assert listed.status_code == 200, listed.text
    ours_all = [_ours(item) for item in listed.json()["items"]]
    assert ours_all
    all_day = not isinstance(ours_all[0], datetime)
    start = ours_all[0]
    horizon: Any = start + YEAR
    ours = [value for value in ours_all if value <= horizon]
    # The preview holds 100 at most: a year must end within it, or the series before it.
    assert len(ours_all) < 100 or ours_all[-1] > horizon

    created = client.post("/api/v1/calendar/feeds", json={}, headers=account.headers)
    assert created.status_code == 201, created.text
    text = client.get(urlsplit(created.json()["url"]).path).text
    todo = next(c for c in vobject.readOne(text).vtodo_list if c.uid.value.startswith(task["id"]))
    dtstart = todo.dtstart.value
    if isinstance(dtstart, datetime):
        # The wall time vobject read, in the zone the feed's VTIMEZONE defines.
        dtstart = dtstart.replace(tzinfo=_zone(text))
    else:
        dtstart = datetime.combine(dtstart, time())
    expansion = rruleset()
    expansion.rrule(rrulestr(todo.rrule.value, dtstart=dtstart))
    for line in todo.contents.get("rdate", []):
        for moment in line.value:
            expansion.rdate(moment)
    for line in todo.contents.get("exdate", []):
        for moment in line.value:
            expansion.exdate(moment.replace(tzinfo=dtstart.tzinfo))
    theirs = []
    for value in expansion:
        occurrence = _theirs(value, all_day)
        if occurrence > horizon:
            break
        theirs.append(occurrence)
    assert theirs == ours

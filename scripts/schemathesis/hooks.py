"""Tells Schemathesis the rules of Lantern's API that a JSON Schema cannot state.

Every other rule is in the OpenAPI document itself (node/src/api/schemas.rs). These are relations
between values, which the server checks and answers with a 400 or 422 naming the field:
- a period `FROM..TO` must not end before it starts and spans at most 600 months;
- a timeline stage is not dated before the case's `opened` day, nor more than 50 years after it;
- no date of a case is after today (a case cannot have happened yet);
- a narrative fits the federation's byte limit (LANTERN_MAX_NARRATIVE_BYTES, 4000 by default);
- an `Idempotency-Key` names one intended request: the same key with another request is a 422
  (as the IETF idempotency-key draft says), so each call gets a fresh key.

Generated values that break a relation are put right just before the call (every phase passes
through `before_call`; the coverage phase skips generation hooks). Only values in the document's
own grammar are touched, so a request generated to break the schema still breaks it.
"""

import datetime
import os
import re
import uuid

import schemathesis

MAX_MONTHS = 600
MAX_NARRATIVE_BYTES = int(os.environ.get("LANTERN_MAX_NARRATIVE_BYTES", "4000"))

YEAR = r"(19[89]\d|20\d\d|21\d\d|2200)"
DAY = re.compile(rf"^{YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
ONE_PERIOD = re.compile(rf"^{YEAR}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


def _bounds(period):
    """First and last month index of YYYY, YYYY-MM or YYYY-Qn."""
    year, rest = int(period[:4]), period[5:]
    if not rest:
        return year * 12, year * 12 + 11
    if rest.startswith("Q"):
        q = int(rest[1:])
        return year * 12 + 3 * (q - 1), year * 12 + 3 * q - 1
    return year * 12 + int(rest) - 1, year * 12 + int(rest) - 1


def _months(day):
    return int(day[:4]) * 12 + int(day[5:7]) - 1


def _put_period_right(query):
    period = query.get("period") if isinstance(query, dict) else None
    if not isinstance(period, str) or period.count("..") != 1:
        return
    start, end = period.split("..")
    if not (ONE_PERIOD.match(start) and ONE_PERIOD.match(end)):
        return
    if _bounds(end)[1] < _bounds(start)[0]:
        start, end = end, start
    if _bounds(end)[1] - _bounds(start)[0] >= MAX_MONTHS:
        end = start
    query["period"] = f"{start}..{end}"


def _put_timeline_right(body):
    if not isinstance(body, dict):
        return
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    opened, timeline = body.get("opened"), body.get("timeline")
    if isinstance(opened, str) and DAY.match(opened) and opened > today:
        body["opened"] = opened = today
    if not (isinstance(opened, str) and DAY.match(opened) and isinstance(timeline, list)):
        return
    for stage in timeline:
        date = stage.get("date") if isinstance(stage, dict) else None
        if isinstance(date, str) and DAY.match(date):
            if date < opened or date > today or _months(date) - _months(opened) > MAX_MONTHS:
                stage["date"] = opened


KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _fresh_idempotency_key(headers):
    for name in list(headers or {}):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and KEY.match(headers[name]):
            headers[name] = str(uuid.uuid4())


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    _put_period_right(case.query)
    _put_timeline_right(case.body)
    _fresh_idempotency_key(case.headers)


@schemathesis.hook
def filter_body(ctx, body):
    narrative = body.get("narrative") if isinstance(body, dict) else None
    return not (isinstance(narrative, str) and len(narrative.encode("utf-8", "surrogatepass")) > MAX_NARRATIVE_BYTES)

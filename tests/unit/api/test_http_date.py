"""Every response says when it was made (RFC 9110 ``Date``), formatted once a second."""

from __future__ import annotations

import email.utils
import time

from qinling.api.middleware import HttpDate
from tests.unit.api.conftest import P1


def test_responses_carry_the_date(api):
    before = int(time.time())
    answers = [api.get("/"), api.get("/v1/functions", headers=P1), api.get("/v1/nothing")]
    after = time.time()

    for answer in answers:
        sent = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
        assert before <= sent <= after


def test_the_date_is_formatted_again_only_when_the_second_changes():
    now = [1_700_000_000.2]
    date = HttpDate(clock=lambda: now[0])

    first = date.now()
    now[0] += 0.7
    same_second = date.now()
    now[0] += 0.2
    next_second = date.now()

    assert first == same_second == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert next_second == "Tue, 14 Nov 2023 22:13:21 GMT"

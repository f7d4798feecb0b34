from datetime import UTC, datetime, timedelta, timezone

import pytest

from marketlink.domain.audit import (
    DONE,
    MAX_DETAIL_LENGTH,
    MAX_OBJECT_ID_LENGTH,
    AuditEntry,
    object_id_of,
    refused,
    short_detail,
)
from marketlink.domain.errors import InvalidValue

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_an_entry_is_done_or_refused_with_a_code():
    assert AuditEntry(NOW, 1, "order.cancel", "order", "abc", DONE).succeeded
    entry = AuditEntry(NOW, 1, "order.cancel", "order", "abc", refused("invalid_transition"))
    assert entry.outcome == "refused: invalid_transition" and not entry.succeeded


@pytest.mark.parametrize(
    "fields",
    [
        {"outcome": "ok"},
        {"outcome": "refused: "},
        {"action": ""},
        {"object_id": ""},
        {"detail": "x" * (MAX_DETAIL_LENGTH + 1)},
        {"at": datetime(2026, 12, 2, 12, 0, tzinfo=timezone(timedelta(hours=6)))},
    ],
)
def test_a_malformed_entry_is_refused(fields):
    values = {
        "at": NOW,
        "actor_id": 1,
        "action": "user.deactivate",
        "object_kind": "user",
        "object_id": "2",
        "outcome": DONE,
        **fields,
    }
    with pytest.raises(InvalidValue):
        AuditEntry(**values)


def test_a_detail_is_kept_to_one_short_line():
    assert short_detail("  customer\n asked  ") == "customer asked"
    long = short_detail("y" * 1000)
    assert len(long) == MAX_DETAIL_LENGTH and long.endswith("…")


def test_an_object_id_a_client_sent_is_kept_printable_and_short():
    assert object_id_of("X\x00") == "X\\x00"
    assert len(object_id_of("Y" * 5000)) == MAX_OBJECT_ID_LENGTH
    assert object_id_of(42) == "42"

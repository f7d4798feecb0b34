"""The audit trail: what an admin did, to what, when, and how it ended. Append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from marketlink.domain.errors import InvalidValue

DONE = "done"
REFUSED = "refused: "
MAX_DETAIL_LENGTH = 500
MAX_OBJECT_ID_LENGTH = 64


class AuditAction(StrEnum):
    USER_DEACTIVATE = "user.deactivate"
    USER_REACTIVATE = "user.reactivate"
    USER_PROMOTE = "user.promote"
    VENDOR_DEACTIVATE = "vendor.deactivate"
    VENDOR_REACTIVATE = "vendor.reactivate"
    VENDOR_APPROVE = "vendor.approve"
    ORDER_CANCEL = "order.cancel"
    ORDER_FAIL = "order.fail"
    PAYMENT_ACCEPT = "payment.accept"
    PAYMENT_REFUND = "payment.refund"


class AuditObject(StrEnum):
    USER = "user"
    VENDOR = "vendor"
    ORDER = "order"
    PAYMENT = "payment"


def refused(code: str) -> str:
    """The outcome of an action a rule refused, named by the error's code."""
    return f"{REFUSED}{code}"


def _printable(text: str) -> str:
    # What a client sent may hold anything (a NUL, say, which PostgreSQL's text refuses).
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _at_most(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_detail(text: str) -> str:
    """A detail as the trail keeps it: one printable line of at most MAX_DETAIL_LENGTH."""
    return _at_most(_printable(" ".join(text.split())), MAX_DETAIL_LENGTH)


def object_id_of(asked: object) -> str:
    """An object's id as the trail keeps it: what was asked for, printable and short (an id
    that names nothing, as a refusal's may, is still recorded)."""
    return _at_most(_printable(str(asked)), MAX_OBJECT_ID_LENGTH)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action. `actor_id` is None for the command line (no signed-in admin).

    `detail` is a short, human text (a reason given, say): never a secret.
    """

    at: datetime
    actor_id: int | None
    action: str
    object_kind: str
    object_id: str
    outcome: str
    detail: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        if self.at.utcoffset() != timedelta(0):
            raise InvalidValue("An audit entry's time must be in UTC.")
        if not self.action or not self.object_kind or not self.object_id:
            raise InvalidValue("An audit entry names its action and its object.")
        if self.outcome != DONE and not (
            self.outcome.startswith(REFUSED) and len(self.outcome) > len(REFUSED)
        ):
            raise InvalidValue("An audit entry's outcome is 'done' or 'refused: <code>'.")
        if len(self.object_id) > MAX_OBJECT_ID_LENGTH:
            raise InvalidValue(
                f"An audit entry's object id has at most {MAX_OBJECT_ID_LENGTH} characters."
            )
        if len(self.detail) > MAX_DETAIL_LENGTH:
            raise InvalidValue(
                f"An audit entry's detail has at most {MAX_DETAIL_LENGTH} characters."
            )

    @property
    def succeeded(self) -> bool:
        return self.outcome == DONE

"""The audit trail: what an admin did, to what, when, and how it ended. Append-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from marketlink.domain.errors import InvalidValue

DONE = "done"
REFUSED = "refused: "
MAX_DETAIL_LENGTH = 500


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


def short_detail(text: str) -> str:
    """A detail as the trail keeps it: one line, at most MAX_DETAIL_LENGTH characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL_LENGTH else line[: MAX_DETAIL_LENGTH - 1] + "…"


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
        if len(self.detail) > MAX_DETAIL_LENGTH:
            raise InvalidValue(
                f"An audit entry's detail has at most {MAX_DETAIL_LENGTH} characters."
            )

    @property
    def succeeded(self) -> bool:
        return self.outcome == DONE

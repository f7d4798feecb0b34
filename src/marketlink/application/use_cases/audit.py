"""The audit trail: every admin action leaves exactly one entry, whatever its outcome.

`Audited` wraps a use case (composed in containers.py, never copied into the use case):

- Called by an admin, the wrapped use case runs on units of work that, at their first
  commit, add the entry "done": the entry is in the same transaction as the change, and
  a change rolled back takes its entry with it.
- A use case that succeeds without committing anything (nothing to change) gets its
  "done" entry in a transaction of its own, after it returned.
- A refusal (a DomainError: not_found, invalid_transition, ...) is recorded as
  "refused: <code>" in a transaction of its own, then raised again. If the use case had
  already committed its change when something refused, the "done" entry stands alone.
- Called by anyone else (a customer cancelling their own order), it is the plain use
  case: not an admin action, no entry.

A fault that is not a DomainError (the database is down) is not recorded: the change it
interrupted was rolled back with its entry, and nothing was refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, Generic, ParamSpec, Self, TypeVar, cast

from marketlink.application.actors import Actor
from marketlink.application.ports import (
    Clock,
    Page,
    PageRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.domain.audit import (
    DONE,
    AuditAction,
    AuditEntry,
    AuditObject,
    object_id_of,
    refused,
    short_detail,
)
from marketlink.domain.errors import DomainError
from marketlink.domain.users import Role

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class AuditSubject:
    """What an admin action is and what it is done to (an entry without time and outcome)."""

    action: AuditAction
    object_kind: AuditObject
    object_id: str
    detail: str = ""


class AuditTrail:
    """Writes entries: the use cases' clock, and a transaction of its own when needed."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def entry(self, actor_id: int | None, subject: AuditSubject, outcome: str) -> AuditEntry:
        return AuditEntry(
            at=self._clock.now(),
            actor_id=actor_id,
            action=subject.action.value,
            object_kind=subject.object_kind.value,
            object_id=object_id_of(subject.object_id),
            outcome=outcome,
            detail=short_detail(subject.detail),
        )

    def write(self, entry: AuditEntry) -> None:
        """Records the entry in a transaction of its own."""
        with self._uow() as uow:
            uow.audit.add(entry)
            uow.commit()


class _RecordingUnitOfWork:
    """A unit of work whose first commit (of all those of one call) carries the entry.

    Everything else (the repositories, rollback) is the wrapped unit of work's own.
    """

    def __init__(self, inner: UnitOfWork, call: _Call) -> None:
        self._inner = inner
        self._call = call

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._inner.__exit__(*exc_info)

    def commit(self) -> None:
        call = self._call
        if call.recorded:
            self._inner.commit()
            return
        self._inner.audit.add(call.entry(DONE))
        self._inner.commit()
        call.recorded = True


class _Call:
    """One audited call: its entry, and whether a commit has carried it yet."""

    def __init__(
        self, trail: AuditTrail, uow: UnitOfWorkFactory, actor: Actor, subject: AuditSubject
    ) -> None:
        self._trail = trail
        self._uow = uow
        self._actor = actor
        self._subject = subject
        self.recorded = False

    def entry(self, outcome: str) -> AuditEntry:
        return self._trail.entry(self._actor.user_id, self._subject, outcome)

    def unit_of_work(self) -> UnitOfWork:
        # It is one by delegation (`__getattr__`), which a Protocol check cannot follow.
        return cast(UnitOfWork, _RecordingUnitOfWork(self._uow(), self))


class Audited(Generic[P, R]):
    """An admin use case whose every call by an admin leaves one audit entry.

    `build` makes the use case on a unit-of-work factory (the recording one for an admin's
    call, the plain one otherwise); `describe` names the action and its object from the
    call's arguments after the actor (the same parameters as the use case's).
    """

    def __init__(
        self,
        build: Callable[[UnitOfWorkFactory], Callable[Concatenate[Actor, P], R]],
        uow: UnitOfWorkFactory,
        trail: AuditTrail,
        describe: Callable[P, AuditSubject],
    ) -> None:
        self._build = build
        self._uow = uow
        self._trail = trail
        self._describe = describe

    def __call__(self, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not actor.is_admin:
            return self._build(self._uow)(actor, *args, **kwargs)
        call = _Call(self._trail, self._uow, actor, self._describe(*args, **kwargs))
        try:
            result = self._build(call.unit_of_work)(actor, *args, **kwargs)
        except DomainError as exc:
            if not call.recorded:
                self._trail.write(call.entry(refused(exc.code)))
            raise
        if not call.recorded:
            self._trail.write(call.entry(DONE))
        return result


# What each audited use case is, from its arguments (see containers.py) -----------------


def user_switch(user_id: int, is_active: bool) -> AuditSubject:
    action = AuditAction.USER_REACTIVATE if is_active else AuditAction.USER_DEACTIVATE
    return AuditSubject(action, AuditObject.USER, str(user_id))


def vendor_switch(vendor_id: int, is_active: bool) -> AuditSubject:
    action = AuditAction.VENDOR_REACTIVATE if is_active else AuditAction.VENDOR_DEACTIVATE
    return AuditSubject(action, AuditObject.VENDOR, str(vendor_id))


def vendor_approval(vendor_id: int) -> AuditSubject:
    return AuditSubject(AuditAction.VENDOR_APPROVE, AuditObject.VENDOR, str(vendor_id))


def order_cancel(order_id: uuid.UUID, reason: str = "") -> AuditSubject:
    return AuditSubject(AuditAction.ORDER_CANCEL, AuditObject.ORDER, str(order_id), reason)


def order_fail(order_id: uuid.UUID, reason: str = "") -> AuditSubject:
    return AuditSubject(AuditAction.ORDER_FAIL, AuditObject.ORDER, str(order_id), reason)


def payment_accept(tran_id: str) -> AuditSubject:
    return AuditSubject(AuditAction.PAYMENT_ACCEPT, AuditObject.PAYMENT, tran_id)


def payment_refund(tran_id: str) -> AuditSubject:
    return AuditSubject(AuditAction.PAYMENT_REFUND, AuditObject.PAYMENT, tran_id)


# Reading it --------------------------------------------------------------------------------


class ListAuditEntries:
    """The audit trail, newest first (admins only)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, page: PageRequest) -> Page[AuditEntry]:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            return uow.audit.list(page)

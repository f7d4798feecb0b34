"""A status change that loses its race, on each database: the loser re-reads and is refused.

The interleaving is forced, not hoped for: the losing cancel has read the order when
the winning one runs and commits, then it tries to write. On PostgreSQL its
compare-and-set matches no row; on SQLite its stale snapshot may not write at all
(ConcurrentUpdate). Either way it starts over and is refused as an invalid transition.
"""

from __future__ import annotations

import pytest

from marketlink.adapters.sqlalchemy.repositories import SqlOrderRepository
from marketlink.application.actors import Actor
from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.use_cases.orders import CancelOrder
from marketlink.domain.errors import InvalidTransition
from marketlink.domain.orders import OrderStatus
from marketlink.domain.users import Role
from tests.fakes import FakeClock
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


def test_the_loser_of_two_cancels_is_refused_and_the_slot_comes_back_once(
    uow, build: Builder, engine, monkeypatch
):
    vendor = build.vendor()
    variant = build.variant(build.service(vendor), stock=2, reserved=1)
    customer = build.user()
    order = build.order(customer, variant)
    cancel = CancelOrder(uow, FakeClock(T0))
    shop = Actor(vendor.user_id, Role.VENDOR)

    read, write = SqlOrderRepository.get, SqlOrderRepository.save_transition
    writes: list[str] = []

    def read_then_lose_the_race(self, order_id):
        found = read(self, order_id)
        if not writes:
            writes.append("winner")
            cancel(shop, order_id)  # the other path, on its own connection, wins now
        return found

    def record_write(self, order, expected):
        try:
            won = write(self, order, expected)
        except ConcurrentUpdate:
            writes.append("conflict")
            raise
        writes.append("won" if won else "lost")
        return won

    monkeypatch.setattr(SqlOrderRepository, "get", read_then_lose_the_race)
    monkeypatch.setattr(SqlOrderRepository, "save_transition", record_write)

    with pytest.raises(InvalidTransition):
        cancel(Actor(customer.id, Role.CUSTOMER), order.id)

    # The winner wrote once; the loser either could not write (SQLite) or matched no row
    # (PostgreSQL), or already saw the new status when it checked its permission.
    assert writes[:2] == ["winner", "won"]
    if engine.dialect.name == "sqlite":
        assert writes[2:] == ["conflict"]
    else:
        assert writes[2:] in ([], ["lost"])
    with uow() as work:
        assert work.orders.get(order.id).status is OrderStatus.CANCELLED
        cancels = [e for e in work.orders.events(order.id) if e.to_status is OrderStatus.CANCELLED]
        assert len(cancels) == 1
        assert work.variants.get(variant.id).reserved == 0

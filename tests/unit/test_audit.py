"""Every admin action leaves one audit entry: with its change, or alone when refused."""

import uuid

import pytest

from marketlink.application.errors import ConcurrentUpdate, Forbidden, NotFound, NotPayable
from marketlink.application.ports import PageRequest
from marketlink.application.use_cases import audit
from marketlink.application.use_cases.admin import ApproveVendor, SetUserActive, SetVendorActive
from marketlink.application.use_cases.audit import Audited, AuditTrail, ListAuditEntries
from marketlink.application.use_cases.orders import CancelOrder, FailWork, StartWork
from marketlink.application.use_cases.payments import AcceptPayment, RefundPayment
from marketlink.application.use_cases.vendors import CreateVendorProfile
from marketlink.domain.errors import InvalidTransition
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import RefundStatus
from marketlink.domain.users import Role
from tests.fakes import FakeTokenBlocklist
from tests.unit.test_payments import Payments


def audited(world, build, describe):
    return Audited(build, world.uow, AuditTrail(world.uow, world.clock), describe)


def user_switch(world):
    blocklist = FakeTokenBlocklist()
    return audited(world, lambda uow: SetUserActive(uow, blocklist), audit.user_switch)


def entries(world):
    return list(world.uow.db.audit)  # in the order written


def test_a_change_and_its_entry_are_committed_together(world):
    admin, customer = world.user(Role.ADMIN), world.user()
    commits = world.uow.commits

    user = user_switch(world)(admin, customer.user_id, False)

    assert user.is_active is False
    assert world.uow.commits == commits + 1, "one transaction: the change and its entry"
    [entry] = world.uow.db.audit
    assert (entry.actor_id, entry.action, entry.object_kind, entry.object_id) == (
        admin.user_id,
        "user.deactivate",
        "user",
        str(customer.user_id),
    )
    assert (entry.outcome, entry.at) == ("done", world.clock.now())


def test_a_change_rolled_back_takes_its_entry_along_and_is_recorded_as_refused(world):
    admin, customer = world.user(Role.ADMIN), world.user()
    world.uow.fail_next_commit = True

    with pytest.raises(ConcurrentUpdate):
        user_switch(world)(admin, customer.user_id, False)

    assert world.uow.db.users[customer.user_id].is_active
    assert [(e.action, e.outcome) for e in entries(world)] == [
        ("user.deactivate", "refused: concurrent_update")
    ]


def test_a_call_that_changes_nothing_is_recorded_done_in_its_own_transaction(world):
    admin, customer = world.user(Role.ADMIN), world.user()
    user_switch(world)(admin, customer.user_id, True)
    assert [(e.action, e.outcome) for e in entries(world)] == [("user.reactivate", "done")]


def test_a_refusal_is_recorded_then_raised_again(world):
    admin = world.user(Role.ADMIN)
    with pytest.raises(NotFound):
        user_switch(world)(admin, 999, False)
    assert [(e.object_id, e.outcome) for e in entries(world)] == [("999", "refused: not_found")]


def test_only_an_admins_actions_are_recorded(world):
    customer, other = world.user(), world.user()
    with pytest.raises(Forbidden):
        user_switch(world)(customer, other.user_id, False)
    assert world.uow.db.audit == []


@pytest.fixture
def pay(world):
    return Payments(world)


def cancel(world, pay):
    return audited(
        world, lambda uow: CancelOrder(uow, world.clock, pay.refunds), audit.order_cancel
    )


def test_an_admin_cancels_a_paid_order_its_refund_asked_in_the_history_and_the_trail(world, pay):
    admin = world.user(Role.ADMIN)
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    assert pay.order(order.id).status is OrderStatus.PAID

    cancelled = cancel(world, pay)(admin, order.id, "customer phoned\n to cancel")

    assert cancelled.status is OrderStatus.CANCELLED and pay.reserved == 0
    assert pay.payment(tran_id).refund_status is RefundStatus.PENDING
    last = world.uow.db.events[-1]
    assert (last.source, last.actor_id) == (EventSource.ADMIN, admin.user_id)
    [entry] = world.uow.db.audit
    assert (entry.action, entry.object_id, entry.outcome, entry.detail) == (
        "order.cancel",
        str(order.id),
        "done",
        "customer phoned to cancel",
    )


def test_a_customer_cancelling_their_own_order_is_not_an_admin_action(world, pay):
    order, _ = pay.book_and_open()
    cancel(world, pay)(pay.customer, order.id)
    assert pay.order(order.id).status is OrderStatus.CANCELLED
    assert world.uow.db.audit == []


def test_failing_an_order_not_in_progress_is_recorded_as_refused(world, pay):
    admin = world.user(Role.ADMIN)
    order, _ = pay.book_and_open()
    fail = audited(world, lambda uow: FailWork(uow, world.clock, pay.refunds), audit.order_fail)
    with pytest.raises(InvalidTransition):
        fail(admin, order.id)
    with pytest.raises(NotFound):
        fail(admin, uuid.UUID(int=1))
    assert [(e.action, e.outcome) for e in entries(world)] == [
        ("order.fail", "refused: invalid_transition"),
        ("order.fail", "refused: not_found"),
    ]


def test_accepting_and_refunding_payments_are_recorded(world, pay):
    admin = world.user(Role.ADMIN)
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id, risk=1))
    accept = audited(
        world, lambda uow: AcceptPayment(uow, world.clock, pay.refunds), audit.payment_accept
    )
    refund = audited(
        world, lambda uow: RefundPayment(uow, world.clock, pay.refunds), audit.payment_refund
    )

    accept(admin, tran_id)
    with pytest.raises(NotPayable):
        accept(admin, tran_id)  # held no more
    with pytest.raises(NotPayable):
        refund(admin, tran_id)  # no flag left

    assert pay.order(order.id).status is OrderStatus.PAID
    assert [(e.action, e.object_id, e.outcome) for e in entries(world)] == [
        ("payment.accept", tran_id, "done"),
        ("payment.accept", tran_id, "refused: not_payable"),
        ("payment.refund", tran_id, "refused: not_payable"),
    ]


def test_a_vendor_waits_for_approval_when_required_and_an_admin_approves_it(world):
    admin, owner = world.user(Role.ADMIN), world.user(Role.VENDOR)
    shop = CreateVendorProfile(world.uow, world.clock, approval_required=True)(owner, "S", "D")
    assert shop.is_approved is False and not shop.is_open
    approve = audited(world, ApproveVendor, audit.vendor_approval)

    with pytest.raises(Forbidden):
        approve(owner, shop.id)
    assert approve(admin, shop.id).is_approved
    assert approve(admin, shop.id).is_open  # again: nothing to change, still fine
    with pytest.raises(NotFound):
        approve(admin, 999)

    assert [(e.action, e.object_id, e.outcome) for e in entries(world)] == [
        ("vendor.approve", str(shop.id), "done"),
        ("vendor.approve", str(shop.id), "done"),
        ("vendor.approve", "999", "refused: not_found"),
    ]


def test_switching_a_vendor_is_recorded_by_direction(world):
    admin, owner = world.user(Role.ADMIN), world.vendor()
    vendor_id = next(iter(world.uow.db.vendors))
    switch = audited(world, SetVendorActive, audit.vendor_switch)
    switch(admin, vendor_id, False)
    switch(admin, vendor_id, True)
    assert [e.action for e in entries(world)] == ["vendor.deactivate", "vendor.reactivate"]
    assert owner.role is Role.VENDOR


def test_admins_read_the_trail_newest_first(world):
    admin, customer = world.user(Role.ADMIN), world.user()
    switch = user_switch(world)
    switch(admin, customer.user_id, False)
    world.clock.advance(60)
    switch(admin, customer.user_id, True)

    page = ListAuditEntries(world.uow)(admin, PageRequest(page=1, page_size=1))

    assert page.total == 2
    assert [e.action for e in page.items] == ["user.reactivate"]
    with pytest.raises(Forbidden):
        ListAuditEntries(world.uow)(customer, PageRequest())


def test_an_admin_fails_a_job_in_progress_its_refund_asked_and_recorded(world, pay):
    admin = world.user(Role.ADMIN)
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    StartWork(world.uow, world.clock)(pay.shop, order.id)
    fail = audited(world, lambda uow: FailWork(uow, world.clock, pay.refunds), audit.order_fail)

    failed = fail(admin, order.id, "parts unavailable")

    assert failed.status is OrderStatus.FAILED and pay.reserved == 0
    assert pay.payment(tran_id).refund_status is RefundStatus.PENDING
    assert world.uow.db.events[-1].source is EventSource.ADMIN
    assert [(e.action, e.outcome, e.detail) for e in entries(world)] == [
        ("order.fail", "done", "parts unavailable")
    ]

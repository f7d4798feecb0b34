import pytest

from marketlink.application.errors import (
    ConcurrentUpdate,
    Forbidden,
    LockTimeout,
    NotFound,
    TooManyUnpaidOrders,
)
from marketlink.application.ports import PageRequest
from marketlink.application.use_cases.catalog import DeactivateVariant
from marketlink.application.use_cases.orders import (
    BookingPolicy,
    CancelOrder,
    CompleteWork,
    ExpireUnpaidOrders,
    FailWork,
    GetOrder,
    GetOrderEvents,
    ListOrders,
    PlaceOrder,
    StartWork,
)
from marketlink.domain.errors import InvalidTransition, OutOfStock
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.users import Role
from tests.fakes import FakeLock, FakeOrderRepository


@pytest.fixture
def lock():
    return FakeLock()


@pytest.fixture
def place(world, lock):
    return PlaceOrder(world.uow, lock, world.clock, BookingPolicy(max_unpaid_orders=3))


def paid(world, order):
    """Marks an order paid as the payment flow would (that flow has its own tests)."""
    stored = world.uow.db.orders[order.id]
    stored.status = OrderStatus.PAID
    return order


def test_booking_reserves_a_slot_under_the_variant_lock_and_copies_the_price(world, place, lock):
    shop = world.vendor()
    variant = world.variant(shop, stock=2, price="1500.00")
    customer = world.user()

    order = place(customer, variant.id)

    assert lock.held == [f"variant_lock_{variant.id}"]
    assert world.uow.db.variants[variant.id].reserved == 1
    assert world.uow.db.orders[order.id].status is OrderStatus.PENDING
    assert str(order.total_amount) == "1500.00"
    assert (order.expires_at - order.created_at).total_seconds() == 1800
    [event] = GetOrderEvents(world.uow)(customer, order.id)
    assert (event.from_status, event.to_status, event.source) == (
        None,
        OrderStatus.PENDING,
        EventSource.API,
    )


def test_booking_the_last_slot_twice_is_out_of_stock(world, place):
    variant = world.variant(world.vendor(), stock=1)
    place(world.user(), variant.id)
    with pytest.raises(OutOfStock):
        place(world.user(), variant.id)
    assert world.uow.db.variants[variant.id].reserved == 1
    assert len(world.uow.db.orders) == 1


def test_a_lock_timeout_books_nothing(world, place, lock):
    variant = world.variant(world.vendor())
    lock.times_out = True
    with pytest.raises(LockTimeout):
        place(world.user(), variant.id)
    assert world.uow.db.variants[variant.id].reserved == 0
    assert world.uow.db.orders == {}


def test_only_customers_book_and_only_active_variants(world, place):
    shop = world.vendor()
    variant = world.variant(shop)
    with pytest.raises(Forbidden):
        place(shop, variant.id)
    with pytest.raises(Forbidden):
        place(world.user(Role.ADMIN), variant.id)
    with pytest.raises(NotFound):
        place(world.user(), 999_999)
    DeactivateVariant(world.uow)(shop, variant.id)
    with pytest.raises(NotFound):
        place(world.user(), variant.id)


def test_a_withdrawn_service_or_a_closed_shop_is_not_bookable(world, place):
    shop = world.vendor()
    variant = world.variant(shop)
    service = world.uow.db.services[variant.service_id]
    service.is_active = False
    with pytest.raises(NotFound):
        place(world.user(), variant.id)
    service.is_active = True
    world.uow.db.vendors[service.vendor_id].is_active = False
    with pytest.raises(NotFound):
        place(world.user(), variant.id)
    assert world.uow.db.variants[variant.id].reserved == 0


def test_a_customer_holds_at_most_max_unpaid_orders(world, place):
    variant = world.variant(world.vendor(), stock=10)
    customer = world.user()
    for _ in range(3):
        place(customer, variant.id)
    with pytest.raises(TooManyUnpaidOrders):
        place(customer, variant.id)
    assert world.uow.db.variants[variant.id].reserved == 3


def test_a_zero_limit_means_no_limit(world, lock):
    variant = world.variant(world.vendor(), stock=10)
    customer = world.user()
    place = PlaceOrder(world.uow, lock, world.clock, BookingPolicy(max_unpaid_orders=0))
    for _ in range(7):
        place(customer, variant.id)
    assert world.uow.db.variants[variant.id].reserved == 7


def test_the_customer_cancels_a_pending_order_and_the_slot_comes_back(world, place):
    variant = world.variant(world.vendor(), stock=1)
    customer = world.user()
    order = place(customer, variant.id)

    cancelled = CancelOrder(world.uow, world.clock)(customer, order.id)

    assert cancelled.status is OrderStatus.CANCELLED
    assert world.uow.db.variants[variant.id].reserved == 0
    with pytest.raises(InvalidTransition):
        CancelOrder(world.uow, world.clock)(customer, order.id)
    assert world.uow.db.variants[variant.id].reserved == 0


def test_the_customer_may_not_cancel_a_paid_order_but_the_shop_may(world, place):
    shop = world.vendor()
    variant = world.variant(shop, stock=1)
    customer = world.user()
    order = paid(world, place(customer, variant.id))
    with pytest.raises(InvalidTransition):
        CancelOrder(world.uow, world.clock)(customer, order.id)
    CancelOrder(world.uow, world.clock)(shop, order.id)
    assert world.uow.db.variants[variant.id].reserved == 0


def test_the_shop_runs_the_job_to_completion_and_the_slot_comes_back_once(world, place):
    shop = world.vendor()
    variant = world.variant(shop, stock=1)
    customer = world.user()
    order = paid(world, place(customer, variant.id))

    StartWork(world.uow, world.clock)(shop, order.id)
    assert world.uow.db.variants[variant.id].reserved == 1
    CompleteWork(world.uow, world.clock)(shop, order.id)
    assert world.uow.db.variants[variant.id].reserved == 0
    with pytest.raises(InvalidTransition):
        CompleteWork(world.uow, world.clock)(shop, order.id)
    assert world.uow.db.variants[variant.id].reserved == 0
    history = [(e.from_status, e.to_status) for e in GetOrderEvents(world.uow)(shop, order.id)]
    assert history == [
        (None, OrderStatus.PENDING),
        (OrderStatus.PAID, OrderStatus.PROCESSING),
        (OrderStatus.PROCESSING, OrderStatus.COMPLETED),
    ]


def test_lifecycle_permissions(world, place):
    shop, other_shop = world.vendor(), world.vendor()
    variant = world.variant(shop, stock=3)
    customer, stranger, admin = world.user(), world.user(), world.user(Role.ADMIN)
    order = paid(world, place(customer, variant.id))

    with pytest.raises(Forbidden):
        StartWork(world.uow, world.clock)(customer, order.id)
    with pytest.raises(Forbidden):
        StartWork(world.uow, world.clock)(admin, order.id)
    with pytest.raises(NotFound):
        StartWork(world.uow, world.clock)(other_shop, order.id)
    with pytest.raises(NotFound):
        CancelOrder(world.uow, world.clock)(stranger, order.id)
    with pytest.raises(NotFound):
        GetOrder(world.uow)(stranger, order.id)

    StartWork(world.uow, world.clock)(shop, order.id)
    with pytest.raises(Forbidden):
        FailWork(world.uow, world.clock)(customer, order.id)
    failed = FailWork(world.uow, world.clock)(admin, order.id, reason="part unavailable")
    assert failed.status is OrderStatus.FAILED
    assert world.uow.db.variants[variant.id].reserved == 0
    last = GetOrderEvents(world.uow)(admin, order.id)[-1]
    assert (last.source, last.actor_id, last.reason) == (
        EventSource.ADMIN,
        admin.user_id,
        "part unavailable",
    )


def test_people_cannot_fail_a_pending_order(world, place):
    shop = world.vendor()
    order = place(world.user(), world.variant(shop).id)
    with pytest.raises(InvalidTransition):
        FailWork(world.uow, world.clock)(shop, order.id)


def test_losing_the_compare_and_set_is_rejudged_from_the_fresh_status(world, place, monkeypatch):
    variant = world.variant(world.vendor(), stock=1)
    customer = world.user()
    order = place(customer, variant.id)
    original = FakeOrderRepository.save_transition
    attempts = []

    def expiry_wins_meanwhile(self, order, expected):
        attempts.append(expected)
        if len(attempts) == 1:
            # The expiry sweep cancels the order between our read and our write.
            world.uow.db.orders[order.id].status = OrderStatus.CANCELLED
            world.uow.db.variants[variant.id].reserved = 0
        return original(self, order, expected)

    monkeypatch.setattr(FakeOrderRepository, "save_transition", expiry_wins_meanwhile)

    with pytest.raises(InvalidTransition):
        CancelOrder(world.uow, world.clock)(customer, order.id)
    assert attempts == [OrderStatus.PENDING]
    assert world.uow.db.variants[variant.id].reserved == 0


def test_a_write_conflict_is_a_lost_race_rejudged_from_the_fresh_status(world, place, monkeypatch):
    # SQLite cannot answer "someone else won" with a row count: the loser's stale
    # transaction may not write at all, and the repository raises ConcurrentUpdate.
    variant = world.variant(world.vendor(), stock=1)
    customer = world.user()
    order = place(customer, variant.id)
    original = FakeOrderRepository.save_transition
    attempts = []

    def stale_snapshot(self, order, expected):
        attempts.append(expected)
        if len(attempts) == 1:
            world.uow.db.orders[order.id].status = OrderStatus.CANCELLED
            world.uow.db.variants[variant.id].reserved = 0
            raise ConcurrentUpdate()
        return original(self, order, expected)

    monkeypatch.setattr(FakeOrderRepository, "save_transition", stale_snapshot)

    with pytest.raises(InvalidTransition):
        CancelOrder(world.uow, world.clock)(customer, order.id)
    assert attempts == [OrderStatus.PENDING]
    assert world.uow.db.variants[variant.id].reserved == 0


def test_a_write_conflict_that_clears_lets_the_change_through(world, place, monkeypatch):
    variant = world.variant(world.vendor(), stock=1)
    customer = world.user()
    order = place(customer, variant.id)
    original = FakeOrderRepository.save_transition
    conflicts = [ConcurrentUpdate()]

    def conflicts_once(self, order, expected):
        if conflicts:
            raise conflicts.pop()
        return original(self, order, expected)

    monkeypatch.setattr(FakeOrderRepository, "save_transition", conflicts_once)

    cancelled = CancelOrder(world.uow, world.clock)(customer, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert world.uow.db.variants[variant.id].reserved == 0
    assert [e.to_status for e in GetOrderEvents(world.uow)(customer, order.id)] == [
        OrderStatus.PENDING,
        OrderStatus.CANCELLED,
    ]


def test_a_compare_and_set_that_keeps_losing_gives_up(world, place, monkeypatch):
    variant = world.variant(world.vendor(), stock=1)
    customer = world.user()
    order = place(customer, variant.id)
    monkeypatch.setattr(
        "tests.fakes.FakeOrderRepository.save_transition", lambda self, order, expected: False
    )
    with pytest.raises(ConcurrentUpdate):
        CancelOrder(world.uow, world.clock)(customer, order.id)
    assert world.uow.db.variants[variant.id].reserved == 1


def test_listing_is_scoped_by_role(world, place):
    shop, other_shop = world.vendor(), world.vendor()
    mine = world.variant(shop, stock=5)
    theirs = world.variant(other_shop, stock=5)
    alice, bob, admin = world.user(), world.user(), world.user(Role.ADMIN)
    a1 = place(alice, mine.id)
    place(bob, theirs.id)
    a2 = place(alice, theirs.id)
    CancelOrder(world.uow, world.clock)(alice, a2.id)

    def ids(actor, status=None):
        return {o.id for o in ListOrders(world.uow)(actor, status, PageRequest()).items}

    assert ids(alice) == {a1.id, a2.id}
    assert ids(alice, OrderStatus.CANCELLED) == {a2.id}
    assert ids(shop) == {a1.id}
    assert len(ids(admin)) == 3
    assert ids(world.user(Role.VENDOR)) == set()


def test_expiry_cancels_only_orders_past_their_reservation(world, place):
    variant = world.variant(world.vendor(), stock=3)
    customer = world.user()
    old = place(customer, variant.id)
    world.clock.advance(1000)
    fresh = place(customer, variant.id)
    world.clock.advance(900)

    report = ExpireUnpaidOrders(world.uow, world.clock)()

    assert (report.cancelled, report.skipped) == (1, 0)
    assert world.uow.db.orders[old.id].status is OrderStatus.CANCELLED
    assert world.uow.db.orders[fresh.id].status is OrderStatus.PENDING
    assert world.uow.db.variants[variant.id].reserved == 1
    last = GetOrderEvents(world.uow)(customer, old.id)[-1]
    assert (last.source, last.actor_id) == (EventSource.EXPIRY, None)
    with pytest.raises(InvalidTransition):
        CancelOrder(world.uow, world.clock)(customer, old.id)


def test_expiry_skips_an_order_that_another_path_ended_first(world, place, monkeypatch):
    variant = world.variant(world.vendor(), stock=1)
    order = place(world.user(), variant.id)
    world.clock.advance(1801)
    # The payment lands between the sweep's read and its compare-and-set.
    world.uow.cas_losers.add(order.id)
    original = FakeOrderRepository.save_transition

    def paid_meanwhile(self, order, expected):
        world.uow.db.orders[order.id].status = OrderStatus.PAID
        return original(self, order, expected)

    monkeypatch.setattr(FakeOrderRepository, "save_transition", paid_meanwhile)

    report = ExpireUnpaidOrders(world.uow, world.clock)()

    assert (report.cancelled, report.skipped) == (0, 1)
    assert world.uow.db.orders[order.id].status is OrderStatus.PAID
    assert world.uow.db.variants[variant.id].reserved == 1

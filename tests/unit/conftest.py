import pytest

from marketlink.application.actors import Actor
from marketlink.application.use_cases.accounts import Register, RegisterUser
from marketlink.application.use_cases.catalog import AddVariant, NewVariant, PublishService
from marketlink.application.use_cases.vendors import CreateVendorProfile
from marketlink.domain.money import Money
from marketlink.domain.users import Role
from tests.fakes import FakeClock, FakePasswordHasher, FakeUnitOfWorkFactory


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


class World:
    """Builds users, shops and variants through the real use cases."""

    def __init__(self, uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
        self.uow = uow
        self.clock = clock
        self._register = Register(uow, FakePasswordHasher(), clock)
        self._count = 0

    def user(self, role: Role = Role.CUSTOMER) -> Actor:
        self._count += 1
        user = self._register(
            RegisterUser(f"user{self._count}@example.com", "password1", "A", "B", role),
            allow_admin=True,
        )
        assert user.id is not None
        return Actor(user.id, role)

    def vendor(self) -> Actor:
        actor = self.user(Role.VENDOR)
        CreateVendorProfile(self.uow, self.clock)(actor, "Shop", "Dhaka")
        return actor

    def variant(self, vendor: Actor, *, stock: int = 2, price: str = "1500.00", name="Brakes"):
        service = PublishService(self.uow, self.clock)(vendor, name, "pads and discs")
        assert service.id is not None
        return AddVariant(self.uow)(
            vendor, service.id, NewVariant("Front", Money.of(price), 60, stock)
        )


@pytest.fixture
def world(uow, clock) -> World:
    return World(uow, clock)

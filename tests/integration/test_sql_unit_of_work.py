"""The unit of work: one transaction, rolled back unless committed."""

from __future__ import annotations

import pytest

from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.application.errors import EmailTaken
from marketlink.domain.users import Role, User
from tests.integration.conftest import T0, unique

pytestmark = pytest.mark.integration


def new_user(email: str | None = None) -> User:
    return User(email or f"{unique()}@example.com", "hash", "A", "B", Role.CUSTOMER, T0)


def test_commit_persists(uow):
    user = new_user()
    with uow() as work:
        work.users.add(user)
        work.commit()
    with uow() as work:
        assert work.users.get(user.id) is not None


def test_leaving_without_commit_rolls_back(uow):
    user = new_user()
    with uow() as work:
        work.users.add(user)
        assert work.users.get(user.id) is not None  # visible inside its own transaction
    with uow() as work:
        assert work.users.get(user.id) is None


def test_an_error_in_the_block_rolls_back(uow):
    user = new_user()

    def add_then_fail() -> None:
        with uow() as work:
            work.users.add(user)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with uow() as work:
        assert work.users.get_by_email(user.email) is None


def test_rollback_drops_what_came_before_it(uow):
    first, second = new_user(), new_user()
    with uow() as work:
        work.users.add(first)
        work.rollback()
        work.users.add(second)
        work.commit()
    with uow() as work:
        assert work.users.get_by_email(first.email) is None
        assert work.users.get_by_email(second.email) is not None


def test_a_refused_insert_leaves_the_transaction_usable(uow):
    email = f"{unique()}@example.com"
    with uow() as work:
        work.users.add(new_user(email))
        work.commit()
    other = new_user()
    with uow() as work:
        with pytest.raises(EmailTaken):
            work.users.add(new_user(email.upper()))
        work.users.add(other)  # the savepoint kept the outer transaction alive
        work.commit()
    with uow() as work:
        assert work.users.get_by_email(other.email) is not None


def test_calling_the_factory_gives_a_fresh_unit_of_work_each_time(uow):
    first, second = uow(), uow()
    assert isinstance(first, SqlAlchemyUnitOfWork)
    assert first is not second
    with first, second:  # two transactions side by side
        pass


def test_an_open_unit_of_work_cannot_be_entered_again(uow):
    work = uow()
    with work, pytest.raises(RuntimeError, match="already open"), work:
        pass
    with work:  # closed again: it may be reused
        pass


def test_the_connection_goes_back_to_the_pool(uow, clean_engine):
    for _ in range(30):  # more than the pool holds
        with uow() as work:
            work.users.get(1)
    assert clean_engine.pool.checkedout() == 0

"""The composition root: what it hands the use cases, on the real container."""

import pytest
from dependency_injector import providers

from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.application.errors import InvalidCredentials

pytestmark = pytest.mark.e2e


def test_the_unit_of_work_factory_makes_a_fresh_one_per_call(container):
    factory = container.uow()
    first, second = factory(), factory()
    assert isinstance(first, SqlAlchemyUnitOfWork)
    assert first is not second
    with first, second:  # two transactions side by side
        pass
    container.engine().dispose()


def test_even_a_singleton_use_case_opens_a_unit_of_work_of_its_own_per_call(container):
    login = container.login()  # built once, before the override below
    opened: list[SqlAlchemyUnitOfWork] = []

    def counting() -> SqlAlchemyUnitOfWork:
        work = SqlAlchemyUnitOfWork(container.engine())
        opened.append(work)
        return work

    with container.unit_of_work.override(providers.Callable(counting)):
        for _ in range(2):
            with pytest.raises(InvalidCredentials):
                login("nobody@example.com", "wrong-password")
    assert len(opened) == 2
    assert opened[0] is not opened[1]
    assert container.login() is login
    container.engine().dispose()

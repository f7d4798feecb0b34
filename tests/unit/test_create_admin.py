"""The command line's admin accounts: a strong password for a new one, promotion recorded."""

import pytest

from marketlink.adapters.password_strength import ZxcvbnPasswordStrength
from marketlink.application.errors import NotFound, WeakPassword
from marketlink.application.use_cases.accounts import Register, RegisterUser
from marketlink.application.use_cases.admin import CreateAdmin, PromoteToAdmin
from marketlink.application.use_cases.audit import AuditTrail
from marketlink.domain.errors import InvalidValue
from marketlink.domain.users import Role
from tests.fakes import FakePasswordHasher

STRONG = "violet-kettle-harbour-93"


class ScriptedStrength:
    def __init__(self, weakness=None):
        self.weakness_of = weakness
        self.asked = []

    def weakness(self, password, user_inputs=()):
        self.asked.append((password, tuple(user_inputs)))
        return self.weakness_of


def create(world, strength):
    return CreateAdmin(Register(world.uow, FakePasswordHasher(), world.clock), strength)


def test_a_new_admin_needs_a_password_the_estimator_accepts(world):
    strength = ScriptedStrength()
    user = create(world, strength)(RegisterUser("Root@Example.com", STRONG, "Ada", "Admin"))
    assert user.role is Role.ADMIN and user.email == "root@example.com"
    assert strength.asked == [(STRONG, ("Root@Example.com", "Ada", "Admin"))]


def test_a_weak_password_is_refused_and_no_account_made(world):
    refusing = ScriptedStrength("The password is too easy to guess.")
    with pytest.raises(WeakPassword, match="too easy"):
        create(world, refusing)(RegisterUser("root@example.com", "password1234", "A", "B"))
    assert world.uow.db.users == {}


def test_registrations_rules_come_first(world):
    with pytest.raises(InvalidValue, match="at least 8"):
        create(world, ScriptedStrength())(RegisterUser("root@example.com", "short", "A", "B"))
    with pytest.raises(InvalidValue, match="email"):
        create(world, ScriptedStrength())(RegisterUser("not-an-email", STRONG, "A", "B"))


@pytest.mark.parametrize(
    ("password", "weak"),
    [
        ("eleven-char", True),
        ("password1234", True),
        ("qwertyuiop123", True),
        ("rahim.uddin@example.com", True),  # the account's own email
        (STRONG, False),
        ("correct horse battery staple", False),
    ],
)
def test_the_estimator_refuses_short_and_common_passwords(password, weak):
    why = ZxcvbnPasswordStrength().weakness(password, ["rahim.uddin@example.com"])
    assert (why is not None) is weak
    if why is not None:
        assert why[0].isupper() and why.endswith(".")


def test_promoting_makes_an_account_an_admin_and_is_recorded_without_an_actor(world):
    customer = world.user()
    email = world.uow.db.users[customer.user_id].email
    promote = PromoteToAdmin(world.uow, AuditTrail(world.uow, world.clock))
    commits = world.uow.commits

    user = promote(email.upper())

    assert user.role is Role.ADMIN and world.uow.db.users[customer.user_id].role is Role.ADMIN
    assert world.uow.commits == commits + 1, "the change and its entry together"
    [entry] = world.uow.db.audit
    assert (entry.actor_id, entry.action, entry.object_id, entry.outcome, entry.detail) == (
        None,
        "user.promote",
        str(customer.user_id),
        "done",
        "was customer",
    )
    with pytest.raises(NotFound):
        promote("nobody@example.com")
    assert [e.outcome for e in world.uow.db.audit] == ["done", "refused: not_found"]

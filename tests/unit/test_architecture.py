"""Rules about the code itself, checked on its syntax tree (import-linter checks the imports)."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import marketlink
from marketlink.application import errors as app_errors
from marketlink.domain import errors as domain_errors

SRC = Path(marketlink.__file__).parent
APPLICATION = SRC / "application"

# A payment's state and what the gateway told us about it change only through Payment's
# methods (domain/payments.py), which apply its transition table.
PAYMENT_STATE = {"status", "flag", "refund_status"}
PAYMENT_RECORD = {
    "session_key",
    "gateway_url",
    "val_id",
    "bank_tran_id",
    "card_type",
    "card_no",
    "risk_level",
    "refund_ref_id",
    "paid_amount",
}


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(
        node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor | ast.comprehension
    ):
        yield node.target
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        yield node.optional_vars
    elif isinstance(node, ast.NamedExpr):
        yield node.target


def _attributes(target: ast.expr) -> Iterator[ast.Attribute]:
    if isinstance(target, ast.Attribute):
        yield target
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _attributes(element)
    elif isinstance(target, ast.Starred):
        yield from _attributes(target.value)


def assignments_to(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, attribute) of every assignment to `<anything>.<name>`, setattr included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for target in _targets(node):
            found += [(a.lineno, a.attr) for a in _attributes(target) if a.attr in names]
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            func, name = node.func, node.args[1]
            is_setattr = (isinstance(func, ast.Name) and func.id == "setattr") or (
                isinstance(func, ast.Attribute) and func.attr == "__setattr__"
            )
            if is_setattr and isinstance(name, ast.Constant) and name.value in names:
                found.append((node.lineno, str(name.value)))
    return found


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_production_code_guards_with_errors_not_asserts():
    # `python -O` strips asserts: a guard that must hold raises a named error instead.
    offences = [
        f"{path.relative_to(SRC)}:{node.lineno}"
        for path in _modules(SRC)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert offences == []


def test_the_application_layer_never_assigns_a_payments_state_or_record():
    offences = [
        f"{path.relative_to(SRC)}:{line}: .{name} = ..."
        for path in _modules(APPLICATION)
        for line, name in assignments_to(path.read_text(), PAYMENT_STATE | PAYMENT_RECORD)
    ]
    assert offences == [], "call Payment's methods instead (domain/payments.py)"


@pytest.mark.parametrize(
    "source",
    [
        "payment.status = PaymentStatus.VALID",
        "uow.payments.get(t).flag = None",
        "payment.refund_status: RefundStatus | None = None",
        "payment.risk_level += 1",
        "payment.status, other = a, b",
        "[*rest, payment.flag] = values",
        "for payment.status in statuses: pass",
        "setattr(payment, 'refund_status', None)",
        "object.__setattr__(payment, 'status', 'valid')",
        "def f(payment):\n    if True:\n        payment.paid_amount = None",
    ],
)
def test_the_check_finds_every_way_of_assigning(source):
    assert assignments_to(source, PAYMENT_STATE | PAYMENT_RECORD) != []


@pytest.mark.parametrize(
    "source",
    [
        "status = payment.status",
        "if payment.flag is None: pass",
        "order.transition(status)",
        "payment.open_session(key, url, now)",
        "setattr(payment, name, None)",
        "variant.is_active = False",
    ],
)
def test_the_check_lets_reading_and_calling_be(source):
    assert assignments_to(source, PAYMENT_STATE | PAYMENT_RECORD) == []


USE_CASES = APPLICATION / "use_cases"
USE_CASE_PACKAGE = "marketlink.application.use_cases"


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _imports_package(path: Path, package: str) -> bool:
    name = f"{USE_CASE_PACKAGE}.{package}"
    return any(m == name or m.startswith(f"{name}.") for m in _imported(path))


@pytest.mark.parametrize(("package", "other"), [("orders", "payments"), ("payments", "orders")])
def test_order_and_payment_use_cases_do_not_import_each_other(package, other):
    # What they share (visibility, status changes) has modules of its own beside them.
    offenders = [p.name for p in _modules(USE_CASES / package) if _imports_package(p, other)]
    assert offenders == []


def test_the_shared_order_helpers_depend_on_neither_package():
    for shared in ("order_access.py", "order_transitions.py"):
        path = USE_CASES / shared
        assert not _imports_package(path, "orders") and not _imports_package(path, "payments")


def test_no_use_case_module_is_longer_than_a_reader_can_hold():
    lengths = {
        str(path.relative_to(USE_CASES)): len(path.read_text().splitlines())
        for path in _modules(USE_CASES)
    }
    assert {name: n for name, n in lengths.items() if n > 300} == {}


def test_use_cases_raise_errors_defined_in_the_error_modules():
    # The HTTP edge maps errors from application/errors.py and domain/errors.py; it must
    # never reach into a use-case module for one.
    error_names = {
        name
        for module in (app_errors, domain_errors)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, domain_errors.DomainError)
    }
    defined_here = [
        f"{path.relative_to(USE_CASES)}:{node.name}"
        for path in _modules(USE_CASES)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id in error_names for b in node.bases)
    ]
    assert defined_here == []

"""Domain errors: each carries a stable, machine-readable code the HTTP edge passes on."""


class DomainError(Exception):
    """A business rule refused the operation."""

    code = "domain_error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidMoney(DomainError):
    """The amount is not a valid amount of money."""

    code = "invalid_money"


class CurrencyMismatch(DomainError):
    """Amounts in different currencies cannot be combined."""

    code = "currency_mismatch"


class OutOfStock(DomainError):
    """No free slot is left on this variant."""

    code = "out_of_stock"


class StockBelowReserved(DomainError):
    """Stock cannot be lowered below the slots already reserved."""

    code = "stock_below_reserved"


class NothingReserved(DomainError):
    """No reserved slot to release."""

    code = "nothing_reserved"


class InvalidTransition(DomainError):
    """The order cannot move to that status from its current one."""

    code = "invalid_transition"

    def __init__(self, from_status: object, to_status: object) -> None:
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"Cannot change an order from {from_status} to {to_status}.")


class InvalidPaymentTransition(DomainError):
    """The payment cannot take that event in the state it is in."""

    code = "invalid_payment_transition"

    def __init__(self, state: object, event: object) -> None:
        self.state = state
        self.event = event
        super().__init__(f"A payment in state {state} cannot take the event {event}.")


class InactiveVariant(DomainError):
    """This variant is not available for booking."""

    code = "variant_inactive"


class InvalidValue(DomainError):
    """A value is outside what the domain allows."""

    code = "invalid_value"

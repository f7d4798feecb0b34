"""Errors of the application layer: who may act, what exists, what is busy."""

from marketlink.domain.errors import DomainError


class ApplicationError(DomainError):
    code = "application_error"


class NotFound(ApplicationError):
    """Not found."""

    code = "not_found"


class Forbidden(ApplicationError):
    """Your role may not do this."""

    code = "forbidden"


class InvalidCredentials(ApplicationError):
    """Invalid email or password."""

    code = "invalid_credentials"


class EmailTaken(ApplicationError):
    """An account with this email already exists."""

    code = "email_taken"


class VendorProfileExists(ApplicationError):
    """You already have a vendor profile."""

    code = "vendor_profile_exists"


class VendorProfileRequired(ApplicationError):
    """Create your vendor profile first."""

    code = "vendor_profile_required"


class WeakPassword(ApplicationError):
    """The password is too easy to guess."""

    code = "weak_password"


class CannotDeactivateSelf(ApplicationError):
    """An admin cannot switch off their own account."""

    code = "cannot_deactivate_self"


class TooManyUnpaidOrders(ApplicationError):
    """You hold too many unpaid orders; pay or cancel one first."""

    code = "too_many_unpaid_orders"


class LockTimeout(ApplicationError):
    """The variant is busy; try again in a moment."""

    code = "lock_timeout"


class ConcurrentUpdate(ApplicationError):
    """Someone else changed this at the same moment; try again."""

    code = "concurrent_update"


class IdempotencyKeyReused(ApplicationError):
    """This Idempotency-Key was used with a different request."""

    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(ApplicationError):
    """A request with this Idempotency-Key is still running."""

    code = "idempotency_key_in_progress"


class GatewayUnavailable(ApplicationError):
    """The payment gateway cannot be reached; try again shortly."""

    code = "gateway_unavailable"


class GatewayRejected(ApplicationError):
    """The payment gateway refused the request."""

    code = "gateway_rejected"


class InvalidNotice(ApplicationError):
    """The notice is not authentic or not well formed."""

    code = "invalid_notice"


class NotPayable(ApplicationError):
    """This order cannot be paid any more."""

    code = "not_payable"


class InconsistentState(RuntimeError):
    """Stored data contradicts itself (a payment without its order, say): a bug, not a
    refusal, so deliberately no DomainError; the HTTP edge answers it as any fault, 500."""


class InvalidListQuery(ApplicationError):
    """This list cannot be searched, filtered or sorted that way."""

    code = "invalid_list_query"

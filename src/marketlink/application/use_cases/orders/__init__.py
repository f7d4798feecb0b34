"""The order use cases, one module for each thing done to orders.

- place: PlaceOrder books one slot of a variant (BookingPolicy sets its limits).
- lifecycle: CancelOrder, StartWork, CompleteWork and FailWork, asked for by people.
- expire: ExpireUnpaidOrders gives back the slots of orders never paid.
- read: GetOrder, ListOrders and GetOrderEvents.

What order and payment use cases share (who may see an order, changing its status
safely) is in `order_access` and `order_transitions`, beside this package.
"""

from marketlink.application.use_cases.orders.expire import ExpireUnpaidOrders, ExpiryReport
from marketlink.application.use_cases.orders.lifecycle import (
    CancelOrder,
    CompleteWork,
    FailWork,
    RefundRequester,
    StartWork,
)
from marketlink.application.use_cases.orders.place import (
    BookingPolicy,
    PlaceOrder,
    variant_lock_key,
)
from marketlink.application.use_cases.orders.read import GetOrder, GetOrderEvents, ListOrders

__all__ = [
    "BookingPolicy",
    "CancelOrder",
    "CompleteWork",
    "ExpireUnpaidOrders",
    "ExpiryReport",
    "FailWork",
    "GetOrder",
    "GetOrderEvents",
    "ListOrders",
    "PlaceOrder",
    "RefundRequester",
    "StartWork",
    "variant_lock_key",
]

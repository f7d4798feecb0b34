"""The payment use cases, one module for each thing the user, the gateway or an admin does.

- start: StartPayment opens (or reuses) a gateway session for a pending order.
- settle: SettlePayment applies what the gateway says about an attempt, once, whoever
  tells us: HandleGatewayNotice (the IPN) and ConfirmFromReturn (the browser's return page).
- refund: Refunds asks the gateway to give money back and follows the request up.
- review: AcceptPayment and RefundPayment, an admin's verdict on a flagged payment.
- reconcile: ReconcilePayments asks the gateway about notices that never came.
- read: GetOrderPayments and ListFlaggedPayments.
"""

from marketlink.application.use_cases.payments.gateway_ids import (
    MAX_TRAN_ID_LENGTH,
    MAX_VAL_ID_LENGTH,
    is_gateway_id,
)
from marketlink.application.use_cases.payments.read import GetOrderPayments, ListFlaggedPayments
from marketlink.application.use_cases.payments.reconcile import (
    RECONCILE_QUIET_PERIOD,
    ReconcilePayments,
    ReconcileReport,
)
from marketlink.application.use_cases.payments.refund import Refunds
from marketlink.application.use_cases.payments.review import AcceptPayment, RefundPayment
from marketlink.application.use_cases.payments.settle import (
    ConfirmFromReturn,
    HandleGatewayNotice,
    NoticeOutcome,
    ReturnOutcome,
    SettlePayment,
)
from marketlink.application.use_cases.payments.start import (
    CallbackUrls,
    OpenedPayment,
    StartPayment,
    new_tran_id,
)

__all__ = [
    "MAX_TRAN_ID_LENGTH",
    "MAX_VAL_ID_LENGTH",
    "RECONCILE_QUIET_PERIOD",
    "AcceptPayment",
    "CallbackUrls",
    "ConfirmFromReturn",
    "GetOrderPayments",
    "HandleGatewayNotice",
    "ListFlaggedPayments",
    "NoticeOutcome",
    "OpenedPayment",
    "ReconcilePayments",
    "ReconcileReport",
    "RefundPayment",
    "Refunds",
    "ReturnOutcome",
    "SettlePayment",
    "StartPayment",
    "is_gateway_id",
    "new_tran_id",
]

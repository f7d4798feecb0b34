"""The notice: the fields the gateway POSTs to the IPN listener and, through the browser,
to the success/fail/cancel URL (docs/sslcommerz.md §2.2), signed as §3 says.

The signature is computed here, apart from MarketLink's client: a stand-in that shared
the client's recipe would agree with any mistake in it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from marketlink.sandbox.state import CANCELLED, FAILED, VALID, SandboxTransaction

VERIFY_SIGN = "verify_sign"
VERIFY_KEY = "verify_key"
VERIFY_SIGN_SHA2 = "verify_sign_sha2"

# Notice fields in the order the gateway posts them (§2.2).
FIELD_ORDER = (
    "tran_id",
    "val_id",
    "amount",
    "card_type",
    "store_amount",
    "card_no",
    "bank_tran_id",
    "status",
    "tran_date",
    "error",
    "currency",
    "card_issuer",
    "card_brand",
    "card_sub_brand",
    "card_issuer_country",
    "card_issuer_country_code",
    "store_id",
    VERIFY_SIGN,
    VERIFY_KEY,
    VERIFY_SIGN_SHA2,
    "currency_type",
    "currency_amount",
    "currency_rate",
    "base_fair",
    "value_a",
    "value_b",
    "value_c",
    "value_d",
    "risk_level",
    "risk_title",
)
# Which of them each status leaves out (the §2.2 table).
_LEFT_OUT = {
    VALID: frozenset(),
    FAILED: frozenset({"val_id", "store_amount", "risk_level", "risk_title"}),
    CANCELLED: frozenset(
        {
            "val_id",
            "store_amount",
            "card_type",
            "card_no",
            "card_issuer",
            "card_brand",
            "card_sub_brand",
            "card_issuer_country",
            "card_issuer_country_code",
            "risk_level",
            "risk_title",
        }
    ),
}
_SIGNATURES = frozenset({VERIFY_SIGN, VERIFY_KEY, VERIFY_SIGN_SHA2})


def notice(transaction: SandboxTransaction, store_id: str, store_password: str) -> dict[str, str]:
    """The notice for the transaction's status, in the gateway's field order, signed."""
    values = {
        **{k: v for k, v in asdict(transaction).items() if isinstance(v, str)},
        **transaction.reported_currency(),
        "store_id": store_id,
        "base_fair": "0.00",
    }
    sent = [name for name in FIELD_ORDER if name not in _LEFT_OUT[transaction.status]]
    signed = sorted(name for name in sent if name not in _SIGNATURES)
    values[VERIFY_KEY] = ",".join(signed)
    values[VERIFY_SIGN] = signature(values, signed, store_password, "md5")
    values[VERIFY_SIGN_SHA2] = signature(values, signed, store_password, "sha256")
    return {name: values[name] for name in sent}


def signature(
    values: Mapping[str, str], signed: Iterable[str], store_password: str, algorithm: str
) -> str:
    """§3.1 with `algorithm` (md5 for `verify_sign`, sha256 for `verify_sign_sha2`, §3.3).

    The hashed string is `key=value` pairs joined with `&`, sorted by key, of the signed
    fields and of `store_passwd`, the password's digest by the same algorithm.
    """

    def digest(text: str) -> str:
        # MD5 because the protocol says so; nothing here protects a secret with it.
        return hashlib.new(algorithm, text.encode("utf-8"), usedforsecurity=False).hexdigest()

    pairs = {name: values[name] for name in signed} | {"store_passwd": digest(store_password)}
    return digest("&".join(f"{name}={pairs[name]}" for name in sorted(pairs)))

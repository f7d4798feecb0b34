"""What a tran_id or val_id can look like, before any of it reaches the database."""

from __future__ import annotations

MAX_TRAN_ID_LENGTH = 30
MAX_VAL_ID_LENGTH = 50


def is_gateway_id(value: str, max_length: int) -> bool:
    """Looks like a tran_id or val_id: printable ASCII without spaces, of a bounded length.

    Anything else (a NUL byte, a megabyte of text) is no id the gateway or we ever
    issued, and must not reach the database, whose columns and keys are bounded.
    """
    return (
        0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )

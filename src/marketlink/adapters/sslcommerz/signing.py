"""SSLCommerz notice signatures: `verify_sign` (MD5) and `verify_sign_sha2` (docs/sslcommerz.md §3).

Pure functions, no I/O. The recipe: take the fields named in `verify_key` with their
values exactly as received (after form decoding: no trimming, no URL-encoding, empty
strings kept), add `store_passwd` = hex digest of the store password, sort by key, join
as `key=value` with `&`, and hash the UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

VERIFY_SIGN = "verify_sign"
VERIFY_SIGN_SHA2 = "verify_sign_sha2"
VERIFY_KEY = "verify_key"
_PASSWORD_KEY = "store_passwd"  # noqa: S105 - a field name, not a password


def _md5(text: str) -> str:
    # MD5 because the gateway's protocol says so; the Validation API is the real authority.
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signed_string(
    fields: Mapping[str, str], signed_keys: Iterable[str], password_digest: str
) -> str:
    signed = {key: fields[key] for key in signed_keys}
    # The password's digest is sorted in with the fields (it lands between store_id and
    # tran_date), never appended at the end; it also overrides any posted `store_passwd`.
    signed[_PASSWORD_KEY] = password_digest
    return "&".join(f"{key}={signed[key]}" for key in sorted(signed))


def sign(fields: Mapping[str, str], signed_keys: Iterable[str], store_password: str) -> str:
    """`verify_sign` over `signed_keys` of `fields`: 32 lower-case hex digits (§3.1).

    Raises KeyError when a signed key is missing from `fields`.
    """
    return _md5(_signed_string(fields, signed_keys, _md5(store_password)))


def sign_sha2(fields: Mapping[str, str], signed_keys: Iterable[str], store_password: str) -> str:
    """`verify_sign_sha2`: the same string with SHA-256 (of the password, then of the string).

    Reproduces the official library's published sample; docs/sslcommerz.md §3.3 marks the
    recipe UNCONFIRMED, so nothing here ever verifies with it.
    """
    return _sha256(_signed_string(fields, signed_keys, _sha256(store_password)))


def verify(
    fields: Mapping[str, str], store_password: str, *, must_sign: Iterable[str] = ()
) -> bool:
    """True when `fields` carry a `verify_sign` that matches their `verify_key` list.

    False when either is missing, when `verify_key` names a field that is not in
    `fields`, or when a name in `must_sign` is not among the signed fields; always False
    with an empty password, which anyone could sign with.
    """
    if not store_password:
        return False
    given = fields.get(VERIFY_SIGN)
    key_list = fields.get(VERIFY_KEY)
    if not given or not key_list:
        return False
    keys = key_list.split(",")
    if any(key not in fields for key in keys):
        return False
    if not set(must_sign) <= set(keys):
        return False
    try:
        expected = sign(fields, keys, store_password)
        # Bytes: compare_digest refuses non-ASCII str, and a forged value may be anything.
        return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8"))
    except UnicodeError:  # a lone surrogate: nothing the gateway ever signed
        return False

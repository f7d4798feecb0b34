"""The IPN sender: POSTs a notice to the merchant's `ipn_url`, as SSLCommerz's servers do."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)


def is_under(url: str, base: str) -> bool:
    """True when `url` is `base` or below it: same scheme, host and port, and a path under
    `base`'s (compared as parsed, so `http://app@evil.example/` is evil.example's)."""
    target, allowed = urlsplit(url), urlsplit(base)
    try:
        same_origin = (
            target.scheme.lower() == allowed.scheme.lower()
            and target.hostname == allowed.hostname
            and target.port == allowed.port
            and not target.username
        )
    except ValueError:  # a port out of range or not a number
        return False
    folder = allowed.path.rstrip("/") + "/"
    return same_origin and (target.path + "/").startswith(folder)


class IpnSender:
    """Form-encoded POSTs, no redirects followed; a delivery that fails is logged and lost.

    The gateway's retry policy is unknown (docs/sslcommerz.md §2.2), so the sandbox retries
    nothing by itself: the tester asks for repeats (`ipn_repeat`) or for none (`ipn=0`).

    Notices go only under `merchant_base` (the app's PUBLIC_BASE_URL), as a real store's
    go only to the IPN URL registered with it: the sandbox, open to anyone in development,
    must not become a way to make this server POST to any address it is given.
    """

    def __init__(self, merchant_base: str, timeout: float = 10.0) -> None:
        self._merchant_base = merchant_base
        self._timeout = timeout

    def send(self, url: str, notice: Mapping[str, str], times: int = 1) -> None:
        if not is_under(url, self._merchant_base):
            log.warning("sandbox IPN to %s not sent: not under %s", url, self._merchant_base)
            return
        for _ in range(times):
            self._deliver(url, notice)

    def _deliver(self, url: str, notice: Mapping[str, str]) -> None:
        try:
            response = requests.post(
                url, data=dict(notice), timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            log.warning("sandbox IPN to %s not delivered: %s", url, type(exc).__name__)
            return
        if not 200 <= response.status_code < 300:
            log.warning("sandbox IPN to %s answered HTTP %s", url, response.status_code)

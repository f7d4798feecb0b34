"""The IPN sender: POSTs a notice to the merchant's `ipn_url`, as SSLCommerz's servers do."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import requests

log = logging.getLogger(__name__)


class IpnSender:
    """Form-encoded POSTs, no redirects followed; a delivery that fails is logged and lost.

    The gateway's retry policy is unknown (docs/sslcommerz.md §2.2), so the sandbox retries
    nothing by itself: the tester asks for repeats (`ipn_repeat`) or for none (`ipn=0`).
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout

    def send(self, url: str, notice: Mapping[str, str], times: int = 1) -> None:
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

"""Pay links: MarketLink's own signed, expiring URL that opens the gateway for one order."""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, URLSafeTimedSerializer


class SignedPayLinks:
    def __init__(self, secret_key: str, public_base_url: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="marketlink.pay-link")
        self._base = public_base_url.rstrip("/")
        self._max_age = max_age_seconds

    def url_for(self, order_id: uuid.UUID) -> str:
        token = self._serializer.dumps(str(order_id))
        return f"{self._base}/pay/{order_id}?token={token}"

    def is_valid(self, order_id: uuid.UUID, token: str) -> bool:
        try:
            signed_id = self._serializer.loads(token, max_age=self._max_age)
        except BadSignature:  # also covers SignatureExpired
            return False
        return bool(signed_id == str(order_id))

"""Path parameters that the blueprints share.

An order id in a path (`<order_id:order_id>`) is a UUID. A path segment that is not one
names no order, and is answered exactly like an order that does not exist: after the
token is checked, by the use case, with the same 404 body. Werkzeug's own `uuid`
converter would instead not match the route at all, and answer its generic "not found"
text before authentication.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from werkzeug.routing import BaseConverter

ORDER_ID = "order_id"

# What werkzeug's `uuid` converter accepts: the canonical, hyphenated form.
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")

# The nil UUID: no order has it (their ids are random UUIDs), so looking it up is "not found".
NO_ORDER = uuid.UUID(int=0)


class OrderIdConverter(BaseConverter):
    """Any path segment: its UUID, or NO_ORDER when it is not one."""

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value) if _UUID.fullmatch(value) else NO_ORDER

    def to_url(self, value: Any) -> str:
        return str(value)


# Registered on the app's url_map (by name) and documented as a UUID path parameter.
CONVERTERS: dict[str, type[BaseConverter]] = {ORDER_ID: OrderIdConverter}


def converter_schema(_converter: BaseConverter) -> dict[str, str]:
    return {"type": "string", "format": "uuid"}

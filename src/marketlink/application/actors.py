"""Who is acting: every use case decides permissions from this, whatever the entrypoint."""

from __future__ import annotations

from dataclasses import dataclass

from marketlink.application.errors import Forbidden
from marketlink.domain.users import Role


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden()

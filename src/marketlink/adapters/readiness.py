"""Readiness probes: does each backing service answer right now?"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class DatabaseProbe:
    engine: sa.Engine
    name: str = "database"

    def __call__(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))


@dataclass(frozen=True, slots=True)
class RedisProbe:
    client: redis.Redis
    name: str = "redis"

    def __call__(self) -> None:
        if not self.client.ping():
            raise ConnectionError("Redis did not answer PING")


def readiness_probes(
    engine: sa.Engine, redis_client: redis.Redis | None
) -> list[DatabaseProbe | RedisProbe]:
    probes: list[DatabaseProbe | RedisProbe] = [DatabaseProbe(engine)]
    if redis_client is not None:
        probes.append(RedisProbe(redis_client))
    return probes

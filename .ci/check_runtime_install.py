"""Checks a runtime-only install: run by `make check-runtime-install` in a fresh venv.

That venv holds requirements/runtime.txt and MarketLink itself (`pip install --no-deps .`,
not editable). This script, run with its Python, fails unless:
- exactly the runtime lock's packages are installed (plus pip and setuptools): none of
  the packages only the dev lock has (ruff, mypy, pytest and the rest);
- the installed package works without them: `marketlink migrate` brings a fresh SQLite
  database up to date (the migrations are in the wheel), and the app answers /readyz.

Standard library only, apart from MarketLink.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import NoReturn

LOCKS = Path(__file__).resolve().parents[1] / "requirements"
# Named in the acceptance criteria; the check covers every dev-only package.
TOOLS = {"ruff", "mypy", "pytest"}
INSTALLER = {"pip", "setuptools", "wheel", "marketlink"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(lock: str) -> dict[str, str]:
    text = (LOCKS / lock).read_text()
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", text, re.MULTILINE)
    return {_normalize(name): version for name, version in pins}


def _installed() -> dict[str, str]:
    return {_normalize(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def _fail(message: str) -> NoReturn:
    print(f"check-runtime-install: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    locked, installed = _locked("runtime.txt"), _installed()
    dev_only = set(_locked("dev.txt")) - set(locked)
    if TOOLS - dev_only:
        _fail(f"{sorted(TOOLS - dev_only)} should be in dev.txt only")
    tools = sorted(dev_only & installed.keys())
    if tools:
        _fail(f"development packages in the runtime install: {', '.join(tools)}")
    extra = sorted(set(installed) - set(locked) - INSTALLER)
    missing = sorted(set(locked) - set(installed))
    differ = sorted(n for n in set(locked) & set(installed) if locked[n] != installed[n])
    if extra or missing or differ:
        _fail(f"install differs from runtime.txt: extra={extra} missing={missing} {differ=}")

    with tempfile.TemporaryDirectory(prefix="marketlink-runtime-") as tmp:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tmp,
            "MARKETLINK_INSTANCE_DIR": str(Path(tmp) / "instance"),
        }
        marketlink = Path(sys.executable).with_name("marketlink")
        subprocess.run([str(marketlink), "migrate"], cwd=tmp, env=env, check=True)  # noqa: S603
        probe = (
            "from marketlink.entrypoints.http.app import create_app\n"
            "response = create_app().test_client().get('/readyz')\n"
            "assert response.status_code == 200, response.get_data(as_text=True)\n"
        )
        subprocess.run([sys.executable, "-c", probe], cwd=tmp, env=env, check=True)  # noqa: S603
    print(
        f"check-runtime-install: the {len(locked)} packages of runtime.txt and marketlink; "
        f"none of the {len(dev_only)} dev-only ones ({', '.join(sorted(TOOLS))}, ...); "
        "`marketlink migrate` and /readyz work"
    )


if __name__ == "__main__":
    main()

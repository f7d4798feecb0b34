"""Section 7 of issue 9: a client generated from the served document, used as a client would.

openapi-python-client generates `marketlink_client` from a real server's /openapi.json;
`mypy --strict` checks client_flow.py against it; client_flow.py then runs a customer's
and a vendor's flows through it against that server (`marketlink run`, SQLite, the demo
data). Bounded: every step has a timeout, about 30 s in all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.test_servers import _serving, server_env  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.client]

FLOW = Path(__file__).with_name("client_flow.py")
BIN = Path(sys.executable).parent
GENERATOR = shutil.which("openapi-python-client", path=str(BIN))

# The generator's own client.py passes `*args: object` on to httpx's __exit__, which
# strict mypy refuses; everything else it generates (the models and the calls that
# client_flow.py uses) is checked strictly.
MYPY_CONFIG = """\
[mypy]
strict = True
[mypy-marketlink_client.client]
ignore_errors = True
"""


def _run(command: list[str], *, cwd: Path, timeout: float, **env: str) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def test_a_generated_client_runs_the_customer_and_vendor_flows(
    server_env: dict[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    assert GENERATOR, "openapi-python-client is not installed (pyproject's dev extras)"
    with _serving("run", server_env) as base:
        document = requests.get(f"{base}/openapi.json", timeout=5)
        assert document.status_code == 200
        (tmp_path / "openapi.json").write_bytes(document.content)

        generated = _run(
            [
                GENERATOR,
                "generate",
                "--path",
                "openapi.json",
                "--output-path",
                "marketlink_client",
                "--meta",
                "none",
            ],
            cwd=tmp_path,
            timeout=60,
        )
        assert "Warning" not in generated, generated

        (tmp_path / "mypy.ini").write_text(MYPY_CONFIG)
        _run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                "mypy.ini",
                "--cache-dir",
                ".mypy_cache",
                str(FLOW),
            ],
            cwd=tmp_path,
            timeout=120,
            MYPYPATH=str(tmp_path),
        )

        ran = _run(
            [sys.executable, str(FLOW), base], cwd=tmp_path, timeout=60, PYTHONPATH=str(tmp_path)
        )
        assert "flows ran through the generated client" in ran

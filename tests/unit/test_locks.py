"""The two locks agree with pyproject.toml and with each other (regenerate: `make lock`).

requirements/runtime.txt pins what `pip install .` needs; requirements/dev.txt adds the
dev extra, constrained by the runtime lock. A dependency added to pyproject.toml without
`make lock` fails here, before an install on a clean machine does.
"""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)((?:\s*\\\n\s*--hash=\S+)*)", re.MULTILINE)
DEV_TOOLS = {"ruff", "mypy", "pytest"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pins(lock: str) -> dict[str, tuple[str, str]]:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    return {canonicalize_name(m[1]): (m[2], m[3]) for m in PIN.finditer(text)}


def _versions(lock: str) -> dict[str, str]:
    return {name: version for name, (version, _) in _pins(lock).items()}


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("runtime.txt", lambda project: project["dependencies"]),
        (
            "dev.txt",
            lambda project: project["dependencies"] + project["optional-dependencies"]["dev"],
        ),
    ],
    ids=["runtime", "dev"],
)
def test_every_declared_dependency_is_locked_at_a_version_it_allows(lock, requirements):
    pins = _versions(lock)
    for line in requirements(_project()):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in {lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, pyproject.toml wants {requirement.specifier}"
        )
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert canonicalize_name(f"{name}-{extra}") in pins, f"{name}[{extra}] in {lock}"


def test_the_runtime_lock_has_no_development_tools():
    assert not DEV_TOOLS & _versions("runtime.txt").keys()
    assert _versions("dev.txt").keys() >= DEV_TOOLS


def test_the_dev_lock_keeps_every_runtime_pin():
    runtime, dev = _pins("runtime.txt"), _pins("dev.txt")
    for name, pin in runtime.items():
        assert dev.get(name) == pin, f"{name}: dev.txt differs from runtime.txt, run `make lock`"


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt"])
def test_every_pin_carries_hashes(lock):
    pins = _pins(lock)
    assert pins
    unhashed = sorted(name for name, (_, hashes) in pins.items() if "--hash=sha256:" not in hashes)
    assert not unhashed, f"{lock}: no hashes for {unhashed}: run `make lock`"

"""Every target the Makefile declares phony has a rule: none answers "Nothing to be done"."""

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def test_every_phony_target_has_a_rule():
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    phony = {
        name for line in re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE) for name in line.split()
    }
    rules = set(re.findall(r"^([\w.-]+):(?!=)", text, re.MULTILINE))
    assert {"typecheck", "arch", "test-unit", "test-integration", "test-e2e"} <= phony
    assert not phony - rules, f"declared .PHONY without a rule: {sorted(phony - rules)}"

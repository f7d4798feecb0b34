"""Every document the code and the README point to is in the repository, with its section."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `docs/sslcommerz.md §3.3`: a document, and optionally the section it points into.
REFERENCE = re.compile(r"(?P<doc>[\w./-]*\b[\w-]+\.md\b)(?: §(?P<section>\d+(?:\.\d+)*))?")
OUTSIDE = re.compile(r"\.\./shared|shared doc", re.IGNORECASE)


def _sources() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("src", "tests", "bench"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [path for path in files if path != Path(__file__).resolve()]


def _references() -> list[tuple[Path, str, str | None]]:
    found = []
    for path in _sources():
        for match in REFERENCE.finditer(path.read_text(encoding="utf-8")):
            found.append((path.relative_to(ROOT), match["doc"], match["section"]))
    return found


def _has_section(document: Path, section: str) -> bool:
    heading = re.compile(rf"^#+ {re.escape(section)}(?:\.|\s)", re.MULTILINE)
    return bool(heading.search(document.read_text(encoding="utf-8")))


def test_the_code_points_to_documents_inside_the_repository():
    references = [(path, doc, section) for path, doc, section in _references()]
    assert references, "the pattern finds the references"
    for path, doc, section in references:
        if doc == "README.md":
            continue
        assert doc.startswith("docs/"), f"{path}: {doc} is not under docs/"
        document = ROOT / doc
        assert document.is_file(), f"{path}: {doc} does not exist"
        if section is not None:
            assert _has_section(document, section), f"{path}: {doc} has no section {section}"


def test_nothing_points_outside_the_repository():
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        assert not OUTSIDE.search(text), f"{path.relative_to(ROOT)} points outside the repository"

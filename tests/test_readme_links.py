"""The README points only at files the repository holds."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TRACKED_FOLDERS = (
    "docs/",
    "examples/",
    "tests/",
    "experiments/",
    "analysis/",
    "benchmarks/",
    "scripts/",
    "src/",
)


def _links() -> list[str]:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    return sorted({target for target in targets if "://" not in target})


def _mentioned_paths() -> list[str]:
    quoted = re.findall(r"`([^`\s]+)`", README)
    paths = {q.rstrip("/.,:") for q in quoted if q.startswith(TRACKED_FOLDERS)}
    return sorted(p for p in paths if not any(c in p for c in "*<>{}"))


@pytest.mark.parametrize("target", _links())
def test_every_link_in_the_readme_is_a_file_of_the_repository(target: str) -> None:
    assert (ROOT / target).exists(), f"README links {target}, which is not in the repository"


@pytest.mark.parametrize("path", _mentioned_paths())
def test_every_repository_path_the_readme_names_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"README names {path}, which is not in the repository"


def test_the_readme_links_the_design_notes() -> None:
    assert "docs/DESIGN.md" in _links()
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    assert "trial table" in design.lower()

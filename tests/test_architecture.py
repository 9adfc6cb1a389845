"""Imports flow one way (ARCHITECTURE.md): app, web, tickets and evaluations, then routing and
deadlines, then classifier."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = [
    "core",
    "models",
    "accounts",
    "units",
    "deadlines",
    "tickets",
    "routing",
    "classifier",
    "evaluations",
    "integrations",
    "app",
    "web",
]

# What each package may import from the project (besides itself).
BASE = {"core", "models", "accounts", "units"}  # what every domain package may use
ALLOWED = {
    "core": set(),
    "models": {"core"},
    "classifier": set(),
    "integrations": {"core"},
    "accounts": {"core", "models"},
    "units": {"core", "models", "accounts"},
    "deadlines": {"core", "models"},
    "routing": BASE | {"classifier"},
    "tickets": BASE | {"deadlines", "routing", "classifier", "integrations"},
    "evaluations": BASE | {"deadlines", "tickets", "routing", "integrations"},
    "web": BASE | {"deadlines", "tickets", "evaluations", "routing"},
    "app": set(PROJECT),
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(PROJECT)


@pytest.mark.parametrize("package", PROJECT)
def test_imports_flow_one_way(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_packages(path) - ALLOWED[package] - {package}
    }
    assert not wrong, sorted(wrong)

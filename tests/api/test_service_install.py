"""What a fresh `pip install .` must bring for `clearplan serve` to start."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "scheduler", "solver", "simulations")


def _imported_top_modules() -> set[str]:
    """Top-level modules imported anywhere in the installed packages."""
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names.add((node.module or "").split(".")[0])
    return names - set(PACKAGES) - set(sys.stdlib_module_names) - {""}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (PEP 503)."""
    name = re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_with_dependencies() -> set[str]:
    """The declared dependencies and what they require in turn (no extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: set[str] = set()
    pending = [_name(requirement) for requirement in project["dependencies"]]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        pending += [_name(need) for need in needs if "extra ==" not in need]
    return found


def test_service_install_declares_every_imported_distribution() -> None:
    """Every third-party module the packages import comes from a declared
    dependency (simpy was missing: `clearplan serve` died on import)."""
    installed = _installed_with_dependencies()
    owners = packages_distributions()
    undeclared = {
        module: owners.get(module, ["?"])
        for module in _imported_top_modules()
        if not {_name(name) for name in owners.get(module, [])} & installed
    }
    assert undeclared == {}

"""Dependencies point down (issue 10 item 3, ARCHITECTURE.md): routers → services → sync/models.

Every ``import`` statement counts, including function-local ones and ``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "polaris_api"

# layer → the layers it must never import
FORBIDDEN = {
    "sync": ("services", "routers"),
    "imports": ("services", "routers"),
    "models": ("services", "routers"),
    "services": ("routers",),
}


def imported_modules(source: str, package: str) -> set[str]:
    """Absolute names of every module ``source`` (a module of ``package``) imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def violations(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        package = ".".join(path.relative_to(PACKAGE.parent).parent.parts)
        for name in sorted(imported_modules(path.read_text(), package)):
            parts = name.split(".")
            if parts[0] == "polaris_api" and len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer: str) -> None:
    """sync/, imports/ and models/ never import services/ or routers/; services/ never imports
    routers/."""
    assert violations(layer) == []


def test_function_local_and_relative_imports_are_seen() -> None:
    source = "def f():\n    from polaris_api.services import audit\n    from ...routers import sync\n"
    names = imported_modules(source, "polaris_api.sync.salesforce")
    assert "polaris_api.services.audit" in names
    assert "polaris_api.routers.sync" in names


def test_the_salesforce_double_stays_out_of_the_application() -> None:
    """Issue 10 item 3: ``polaris_api/testing/`` (the Salesforce double) is imported only by the
    CLI (``polaris dev fake-salesforce``), the demo seeding and itself."""
    allowed = ("testing", "cli.py", "demo")
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in allowed:
            continue
        package = ".".join(path.relative_to(PACKAGE.parent).parent.parts)
        found += [
            f"{relative} imports {name}"
            for name in imported_modules(path.read_text(), package)
            if name.startswith("polaris_api.testing")
        ]
    assert found == []

"""Capability matrix rows for the PF-3 column aliases (admin-managed: global admins only)."""

from __future__ import annotations

from typing import Any

from polaris_api.models.imports import ColumnAlias
from tests.capability_matrix import Case, only


async def _alias(ctx: dict[str, Any], session: Any) -> None:
    rows = {
        role: ColumnAlias(import_type="pathful", alias=f"name {role}", canonical="Title")
        for role in ("admin",)
    }
    session.add_all(rows.values())
    await session.commit()
    ctx["aliases"] = {role: row.id for role, row in rows.items()}


CASES: list[Case] = [
    Case("GET", "/api/v1/admin/column-aliases", 200, only("admin")),
    Case(
        "POST",
        "/api/v1/admin/column-aliases",
        201,
        only("admin"),
        build=lambda ctx, role: {
            "json": {"import_type": "pathful", "alias": f"title {role}", "canonical": "Title"}
        },
    ),
    Case(
        "DELETE",
        "/api/v1/admin/column-aliases/{alias_id}",
        204,
        only("admin"),
        url=lambda ctx: f"/api/v1/admin/column-aliases/{ctx['aliases']['admin']}",
        setup=_alias,
    ),
]

"""04 PF-3 (issue 11 item 13): column aliases are admin-managed at ``/api/v1/admin/column-aliases``,
so a renamed column in a roster or Pathful file is fixed by configuration; every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from polaris_api.models.audit import AuditEntry
from polaris_api.models.reference import District
from tests.teacher_factories import ROSTER_HEADERS, roster_csv, roster_row

URL = "/api/v1/admin/column-aliases"


async def _upload(client, headers, content: bytes):
    return await client.post(
        "/api/v1/imports/roster",
        headers=headers,
        data={"district_id": "1", "dry_run": "true"},
        files={"file": ("roster.csv", content)},
    )


async def test_pf_3_an_alias_makes_a_renamed_roster_column_import(client, admin, session):
    session.add(District(id=1, name="District One", slug="district-one"))
    await session.commit()
    renamed = ["Educator E-mail", *ROSTER_HEADERS[1:]]
    content = roster_csv([roster_row("maria@one.example", "Maria Delgado")], headers=renamed)
    refused = await _upload(client, admin["headers"], content)
    assert (refused.status_code, refused.json()["code"]) == (422, "missing_columns")

    created = await client.post(
        URL,
        headers=admin["headers"],
        json={"import_type": "roster", "alias": "  Educator  E-MAIL ", "canonical": "teacher email"},
    )
    assert created.status_code == 201, created.text
    alias = created.json()
    assert (alias["alias"], alias["canonical"], alias["created_by_id"]) == (
        "educator e-mail",
        "Teacher Email",
        admin["id"],
    )
    assert (await _upload(client, admin["headers"], content)).status_code == 200

    listed = (await client.get(URL, headers=admin["headers"], params={"import_type": "roster"})).json()
    assert [a["id"] for a in listed["items"]] == [alias["id"]]
    deleted = await client.delete(f"{URL}/{alias['id']}", headers=admin["headers"])
    assert deleted.status_code == 204
    assert (await _upload(client, admin["headers"], content)).status_code == 422
    actions = (
        await session.execute(select(AuditEntry.action).where(AuditEntry.entity_type == "column_alias"))
    ).scalars()
    assert sorted(actions) == ["column_alias.created", "column_alias.deleted"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"import_type": "pathful", "alias": "Session Name", "canonical": "No Such Column"},
            422,
            "unknown_column",
        ),
        ({"import_type": "pathful", "alias": "Title", "canonical": "Title"}, 409, "alias_exists"),
        ({"import_type": "spreadsheet", "alias": "A", "canonical": "Title"}, 422, "validation_error"),
        ({"import_type": "roster", "alias": " ", "canonical": "Teacher Email"}, 422, "validation_error"),
    ],
    ids=["unknown_column", "already_a_column", "unknown_import_type", "blank_alias"],
)
async def test_pf_3_refused_aliases_write_nothing(client, admin, session, body, status, code):
    response = await client.post(URL, headers=admin["headers"], json=body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (await client.get(URL, headers=admin["headers"])).json()["total"] == 0


async def test_pf_3_the_same_alias_twice_is_409(client, admin):
    body = {"import_type": "pathful", "alias": "Session Name", "canonical": "Title"}
    assert (await client.post(URL, headers=admin["headers"], json=body)).status_code == 201
    again = await client.post(URL, headers=admin["headers"], json=body | {"alias": "session  NAME"})
    assert (again.status_code, again.json()["code"]) == (409, "alias_exists")

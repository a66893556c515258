"""District year-end manual inputs (06 §6.8).

Figures Polaris cannot compute (Math Relays participants, credentials earned, ...) entered by
staff for one exact ``(district, school_year, host_filter)``. They are shown next to the computed
figures and never change, add to or replace any of them; they are read live (never cached) and
there is no fallback between the ``all`` and ``prepkc`` sets.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.auth import Principal
from polaris_api.models.reports import MANUAL_INPUT_TYPES, DistrictManualInput
from polaris_api.services import audit

FRACTIONAL_TYPES = frozenset({"college_credits_total"})  # every other data_type is an integer

ManualValue = int | float | None


def _typed(data_type: str, value: float) -> int | float:
    return float(value) if data_type in FRACTIONAL_TYPES else int(value)


async def read_manual_inputs(
    session: AsyncSession, district_id: int, school_year: str, host_filter: str
) -> dict[str, ManualValue]:
    """All 14 keys for the exact key triple, ``None`` where nothing was entered."""
    rows = await session.execute(
        select(DistrictManualInput.data_type, DistrictManualInput.value).where(
            DistrictManualInput.district_id == district_id,
            DistrictManualInput.school_year == school_year,
            DistrictManualInput.host_filter == host_filter,
        )
    )
    stored = {data_type: _typed(data_type, value) for data_type, value in rows}
    return {data_type: stored.get(data_type) for data_type in MANUAL_INPUT_TYPES}


async def update_manual_inputs(
    session: AsyncSession,
    principal: Principal,
    *,
    district_id: int,
    school_year: str,
    host_filter: str,
    changes: Mapping[str, ManualValue],
) -> dict[str, ManualValue]:
    """Partial update: a number sets the key, ``None`` deletes it, absent keys stay. Audited.

    ``changes`` is already validated (known keys, value >= 0, integer where required).
    """
    before = await read_manual_inputs(session, district_id, school_year, host_filter)
    key = (
        DistrictManualInput.district_id == district_id,
        DistrictManualInput.school_year == school_year,
        DistrictManualInput.host_filter == host_filter,
    )
    stored = {
        row.data_type: row
        for row in (await session.execute(select(DistrictManualInput).where(*key))).scalars()
    }
    user_id = principal.user_id
    for data_type, value in changes.items():
        if value is None:
            await session.execute(
                delete(DistrictManualInput).where(*key, DistrictManualInput.data_type == data_type)
            )
        elif data_type in stored:
            stored[data_type].value = float(value)
            stored[data_type].updated_by_id = user_id
        else:
            session.add(
                DistrictManualInput(
                    district_id=district_id,
                    school_year=school_year,
                    host_filter=host_filter,
                    data_type=data_type,
                    value=float(value),
                    updated_by_id=user_id,
                )
            )
    await session.flush()
    after = await read_manual_inputs(session, district_id, school_year, host_filter)
    await audit.record(
        session,
        "year_end.manual_inputs.updated",
        actor=principal,
        entity_type="district",
        entity_id=district_id,
        changes=audit.diff(before, after),
        details={"school_year": school_year, "host_filter": host_filter},
    )
    return after

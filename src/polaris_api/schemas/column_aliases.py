"""04 PF-3 header aliases of the file imports (``/api/v1/admin/column-aliases``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from polaris_api.schemas.common import CleanText, StrictBody

ImportType = Literal["pathful", "roster"]
Header = Annotated[CleanText, StringConstraints(min_length=1, max_length=255)]


class ColumnAliasCreate(StrictBody):
    import_type: ImportType
    alias: Header = Field(description="the header as files spell it (matched trimmed, casefolded)")
    canonical: Header = Field(description="the column it stands for, by its canonical name")


class ColumnAliasOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    import_type: str
    alias: str = Field(description="normalized: trimmed, casefolded, whitespace collapsed")
    canonical: str
    created_at: dt.datetime
    created_by_id: int | None

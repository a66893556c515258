"""Header matching and cell checks of a Pathful Session Report (04 PF-3, PF-4; PRIV-4 hostile input).

Hostile cells refuse the whole file (422, nothing written): a cell longer than its column's
storage width (``cell_too_long``) or a formula text starting with ``=`` (``formula_cell``; an
XLSX formula is read as its cached value, so only text formulas reach this check).

Headers match a canonical column after trimming, casefolding and collapsing whitespace, either by
the column's own name (or its field name) or through an admin-managed ``column_alias`` row of
``import_type='pathful'``. Unknown headers are ignored; two headers for one column → 422
``ambiguous_columns``. The email column is the first present of ``Email``, ``Educator Email``,
``Teacher Email``, ``Login Email`` and is stored under ``Email``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polaris_api.errors import Problem
from polaris_api.imports.tabular import RowSource, header_key
from polaris_api.models.imports import ColumnAlias
from polaris_api.schemas.pathful import CANONICAL_COLUMNS, EMAIL_COLUMNS, ID_COLUMNS, REQUIRED_COLUMNS
from polaris_api.sync.problems import AmbiguousColumns, CellTooLong, FormulaCell, MissingColumns

IMPORT_TYPE = "pathful"
EMAIL = EMAIL_COLUMNS[0]
# Longest accepted cell per column (the width it is stored in): longer → 422 cell_too_long.
MAX_CELL = {"Title": 500, **dict.fromkeys(ID_COLUMNS, 64)}
DEFAULT_MAX_CELL = 255


_BY_KEY: dict[str, str] = {}
for _display, _field in CANONICAL_COLUMNS.items():
    _BY_KEY[header_key(_display)] = _display
    _BY_KEY[header_key(_field)] = _display
for _display in EMAIL_COLUMNS:
    _BY_KEY[header_key(_display)] = _display
_BY_KEY[header_key("email")] = EMAIL


def canonical_of(name: str) -> str | None:
    """The canonical display name a header (or a column_alias target) stands for."""
    return _BY_KEY.get(header_key(name))


async def load_aliases(session: AsyncSession) -> dict[str, str]:
    """``column_alias`` rows for Pathful: normalized alias → canonical display name."""
    rows = (
        await session.execute(
            select(ColumnAlias.alias, ColumnAlias.canonical).where(ColumnAlias.import_type == IMPORT_TYPE)
        )
    ).all()
    aliases: dict[str, str] = {}
    for alias, canonical in rows:
        target = canonical_of(canonical)
        if target is not None:
            aliases[header_key(alias)] = target
    return aliases


@dataclass(frozen=True)
class ColumnMap:
    """canonical display name → the file's header text; ``missing`` required columns."""

    columns: dict[str, str]
    missing: list[str]


def map_headers(headers: Sequence[str], aliases: Mapping[str, str]) -> ColumnMap:
    found: dict[str, list[str]] = {}
    for header in headers:
        if not header:
            continue
        key = header_key(header)
        canonical = _BY_KEY.get(key) or aliases.get(key)
        if canonical is not None:
            found.setdefault(canonical, []).append(header)
    ambiguous = sorted(name for name, sources in found.items() if len(sources) > 1)
    if ambiguous:
        raise AmbiguousColumns(
            "Several headers stand for the same column: " + ", ".join(ambiguous) + ".",
            details={"ambiguous": ambiguous},
        )
    columns = {name: sources[0] for name, sources in found.items() if name not in EMAIL_COLUMNS}
    email_source = next((found[name][0] for name in EMAIL_COLUMNS if name in found), None)
    if email_source is not None:
        columns[EMAIL] = email_source
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    return ColumnMap(columns=columns, missing=missing)


def missing_columns_problem(missing: Sequence[str]) -> Problem:
    return MissingColumns(
        "The file lacks required columns: " + ", ".join(missing) + ".",
        details={"missing": list(missing)},
    )


class CellRow(Mapping[str, "str | int | None"]):
    """One data row's canonical cells, read as a mapping {column: text or None, "_row": n}.

    The values sit in a tuple under column names shared by every row of the file: a dict per row
    cost about 1.2 KB, this about 0.3 KB (issue 11 item 3). ``dict(row)`` gives the plain dict
    (stored as an unmatched record's raw data)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: Mapping[str, int], values: tuple[str | int | None, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> str | int | None:
        return self._values[self._index[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"CellRow({dict(self)!r})"

    @property
    def in_order(self) -> tuple[str | int | None, ...]:
        """The cells in column order (``_row`` first), as :func:`canonical_columns` names them."""
        return self._values


def canonical_columns(column_map: ColumnMap) -> list[str]:
    """The key of each position of a :class:`CellRow`'s values: ``_row``, then the mapped columns."""
    return ["_row", *column_map.columns]


# People's columns hold a different text in nearly every row; the others repeat (a session's
# rows share its title, date, status, partner...), so their texts are shared between rows.
_DISTINCT = frozenset({"Name", "User Auth Id", EMAIL})


def iter_canonical(table: RowSource, column_map: ColumnMap) -> Iterator[CellRow]:
    """Each data row as {canonical column: text or None, "_row": n}; 422 on an over-long cell
    or a formula.

    Reads ``table`` once, row by row (a :class:`~polaris_api.imports.tabular.RowStream` is never
    held whole): only the mapped columns of each row are kept, compactly (issue 11 item 3), and a
    text repeated in a column is kept once for the whole file (issue 13 item 4)."""
    position = {header: i for i, header in enumerate(table.headers) if header}  # a repeated header: the last
    names = canonical_columns(column_map)[1:]
    columns: list[tuple[str, int, int, dict[str, str] | None]] = [
        (
            name,
            position[column_map.columns[name]],
            MAX_CELL.get(name, DEFAULT_MAX_CELL),
            None if name in _DISTINCT else {},
        )
        for name in names
    ]
    index = {name: i for i, name in enumerate(canonical_columns(column_map))}
    for number, cells in table.numbered_cells():
        values: list[str | int | None] = [number]
        for name, at, limit, shared in columns:
            value = cells[at]
            if value is not None:
                if shared is not None:
                    known = shared.get(value)
                    if known is not None:  # seen (and checked) in an earlier row
                        values.append(known)
                        continue
                if len(value) > limit:
                    raise CellTooLong(
                        f"Row {number}, column '{name}': a cell is longer than {limit} characters.",
                        details={"row": number, "column": name, "max_length": limit},
                    )
                if value.startswith("="):
                    raise FormulaCell(
                        f"Row {number}, column '{name}': a cell holds a spreadsheet formula.",
                        details={"row": number, "column": name},
                    )
                if shared is not None:
                    shared[value] = value
            values.append(value)
        yield CellRow(index, tuple(values))

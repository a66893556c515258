"""School-year codes of the district year-end report (06 §6.1).

A code is ``YYZZ`` with ``ZZ = (YY + 1) mod 100``: ``2425`` is the school year 2024-2025, whose
window is the Chicago dates 2024-08-01 .. 2025-07-31 inclusive (G1 turns them into UTC bounds).
Accepted codes run from ``2021`` up to one year after the current school year, where today's
Chicago date gives the current year (Aug-Dec: ``YY`` = this year). Anything else is a 422.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from polaris_api.errors import NamedProblem
from polaris_api.schemas.roster import academic_year_start
from polaris_api.services.teacher_progress import academic_year_containing

FIRST_ACCEPTED_YEAR = 2020  # code 2021: the school year 2020-2021
_CODE = re.compile(r"^([0-9]{2})([0-9]{2})$")  # ASCII digits only (\d matches others)


class InvalidSchoolYear(NamedProblem):
    status, code = 422, "invalid_school_year"


@dataclass(frozen=True)
class SchoolYear:
    """One school year: its code, label and inclusive Chicago-date window."""

    first_year: int

    @property
    def code(self) -> str:
        return f"{self.first_year % 100:02d}{(self.first_year + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.first_year}-{self.first_year + 1}"

    @property
    def start_date(self) -> dt.date:
        return dt.date(self.first_year, 8, 1)

    @property
    def end_date(self) -> dt.date:
        return dt.date(self.first_year + 1, 7, 31)


def current_school_year(today: dt.date) -> SchoolYear:
    """The school year containing ``today`` (a Chicago date)."""
    return SchoolYear(academic_year_start(academic_year_containing(today)))


def parse_school_year(code: str, today: dt.date) -> SchoolYear:
    """``YYZZ`` → :class:`SchoolYear`; 422 ``invalid_school_year`` when malformed or out of range."""
    match = _CODE.match(code)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise InvalidSchoolYear("school_year must be YYZZ with ZZ = YY + 1, for example 2425.")
    latest = current_school_year(today).first_year + 1
    first_year = 2000 + int(match.group(1))
    if not FIRST_ACCEPTED_YEAR <= first_year <= latest:
        newest = SchoolYear(latest).code
        raise InvalidSchoolYear(f"school_year must be between 2021 and {newest}.")
    return SchoolYear(first_year)

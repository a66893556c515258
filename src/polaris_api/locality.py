"""08 VOC-6 ``volunteer.local_status``: the one place where Polaris derives it from an address.

A low module (no services, no database access): the Salesforce volunteer import, the website
signup and the staff override all call it, so the rule exists once.

The rule (:func:`derive_local_status`): the mailing ZIP code's first five digits (``64111``,
``64111-2345``, ``641112345``) are matched against two configurable prefix lists
(``POLARIS_LOCAL_ZIP_PREFIXES``: the Kansas City metro; ``POLARIS_PARTIAL_ZIP_PREFIXES``: within
driving distance). The longest matching prefix wins, so ``66044`` in the partial list beats ``660``
in the local list; on a tie, local wins. A usable ZIP that matches neither list is ``non_local``;
an address in another country is ``non_local``; no usable ZIP is ``unknown``.

Who may change the stored value (:func:`next_local_status`), by ``local_status_source``:

* ``manual``: a staff override; imports and signups never change it (only staff do);
* ``self_reported``: the website form's answer (03 SIGN-2) for a new volunteer; replaced as soon
  as an address gives a usable answer, kept while the address gives ``unknown``;
* ``derived``: recomputed from the address on every import, ``unknown`` when it is gone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DERIVED",
    "LOCAL_STATUS_SOURCES",
    "MANUAL",
    "SELF_REPORTED",
    "ZipPrefixes",
    "derive_local_status",
    "next_local_status",
    "refresh_local_status",
    "zip5",
]

DERIVED, SELF_REPORTED, MANUAL = "derived", "self_reported", "manual"
LOCAL_STATUS_SOURCES = (DERIVED, SELF_REPORTED, MANUAL)

_ZIP = re.compile(r"^(\d{5})(?:[-\s]?\d{4})?$")
_US = frozenset({"us", "usa", "u.s.", "u.s.a.", "united states", "united states of america"})


@dataclass(frozen=True)
class ZipPrefixes:
    """The two configured prefix lists (settings ``local_zip_prefixes``, ``partial_zip_prefixes``)."""

    local: tuple[str, ...]
    partial: tuple[str, ...]

    @classmethod
    def of(cls, local: Iterable[str], partial: Iterable[str]) -> ZipPrefixes:
        return cls(tuple(local), tuple(partial))


def zip5(postal_code: str | None) -> str | None:
    """The five-digit US ZIP of a postal code, or None when it is not one."""
    if postal_code is None:
        return None
    match = _ZIP.match(postal_code.strip())
    return match.group(1) if match else None


def _longest(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p)), default=-1)


def derive_local_status(postal_code: str | None, prefixes: ZipPrefixes, *, country: str | None = None) -> str:
    """VOC-6 value for a mailing address: ``local``, ``partial``, ``non_local`` or ``unknown``."""
    if country is not None and country.strip() and country.strip().lower() not in _US:
        return "non_local"
    code = zip5(postal_code)
    if code is None:
        return "unknown"
    local, partial = _longest(code, prefixes.local), _longest(code, prefixes.partial)
    if local < 0 and partial < 0:
        return "non_local"
    return "local" if local >= partial else "partial"


def next_local_status(
    current: str, source: str, postal_code: str | None, prefixes: ZipPrefixes, *, country: str | None = None
) -> tuple[str, str]:
    """``(local_status, local_status_source)`` after an address was (re)read by an import or signup."""
    if source == MANUAL:
        return current, MANUAL
    derived = derive_local_status(postal_code, prefixes, country=country)
    if source == SELF_REPORTED and derived == "unknown":
        return current, SELF_REPORTED
    return derived, DERIVED


class _HasAddress(Protocol):
    local_status: str
    local_status_source: str
    local_status_updated_at: dt.datetime | None
    mailing_postal_code: str | None
    mailing_country: str | None


def refresh_local_status(volunteer: _HasAddress, prefixes: ZipPrefixes) -> bool:
    """Apply :func:`next_local_status` to a volunteer after its address was written; True if changed."""
    status, source = next_local_status(
        volunteer.local_status,
        volunteer.local_status_source,
        volunteer.mailing_postal_code,
        prefixes,
        country=volunteer.mailing_country,
    )
    if (status, source) == (volunteer.local_status, volunteer.local_status_source):
        return False
    if status != volunteer.local_status:
        volunteer.local_status_updated_at = dt.datetime.now(dt.UTC)
    volunteer.local_status, volunteer.local_status_source = status, source
    return True

"""Stored report inputs: district year-end manual inputs (06 §6.8).

Everything else the reports show is computed in SQL when read (06 P1); nothing derived is stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from polaris_api.db import Base, IdMixin, UTCDateTime, utcnow

__all__ = ["MANUAL_INPUT_TYPES", "DistrictManualInput"]

MANUAL_INPUT_TYPES: tuple[str, ...] = (
    "math_relays_hs",
    "math_relays_jr",
    "math_relays_awards_hs",
    "math_relays_awards_ms",
    "dia_irc_earned",
    "p2gd_dual_credit",
    "p2t_completed",
    "cna_students",
    "cma_students",
    "college_credits_students",
    "college_credits_total",
    "careers_on_wheels",
    "holland_visits",
    "data_science",
)
"""The 14 ``data_type`` keys of 06 §6.8; every one is an integer except ``college_credits_total``."""


class DistrictManualInput(IdMixin, Base):
    """One manually entered year-end figure; read live, never cached, never mixed into computed values."""

    __tablename__ = "district_manual_input"

    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"), index=True)
    school_year: Mapped[str] = mapped_column(String(4))  # YYZZ, e.g. 2425
    host_filter: Mapped[str] = mapped_column(String(40))  # all | prepkc (06 G10)
    data_type: Mapped[str] = mapped_column(String(64))  # one of MANUAL_INPUT_TYPES
    value: Mapped[float] = mapped_column(Float)  # >= 0
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint(
            "district_id", "school_year", "host_filter", "data_type", name="uq_district_manual_input_key"
        ),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

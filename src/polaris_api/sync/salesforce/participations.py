"""What the two participation imports share (02 SF-33, SF-34): the key (``salesforce_id``, else
the (event, participant) pair), adopting a pair row without SF id, and the merge of a second
Salesforce record for the same pair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from polaris_api.sync.salesforce.common import FlagBook
from polaris_api.sync.salesforce.engine import BatchWriter, assign, is_stale, restore
from polaris_api.vocabularies import participation_rank

__all__ = ["ParticipationWriter"]


class ParticipationWriter(BatchWriter):
    """A writer keyed by ``salesforce_id`` and by its (event, participant) pair. Subclasses set
    ``vocabulary`` (the status vocabulary that ranks statuses) and fill ``rows`` and ``flags``."""

    vocabulary: str
    rows: dict[str, Any]
    by_pair: dict[tuple[int, int], Any]
    flags: FlagBook

    def upsert(
        self, record: Any, values: dict[str, Any], pair: tuple[int, int], new_row: Callable[[], Any]
    ) -> Any | None:
        """Write ``record`` to its row: by ``salesforce_id``, else the pair's row without SF id
        (adopted), else a merge into the pair's other SF row, else ``new_row()``. Returns the row
        whose flags are due, or None (merged, or an older read: SF-10)."""
        ctx = self.ctx
        row = self.rows.get(record.id or "")
        if row is None:
            pair_row = self.by_pair.get(pair)
            if pair_row is not None and pair_row.salesforce_id is None:  # e.g. a website signup
                pair_row.salesforce_id = record.id
                row = pair_row
                ctx.count("adopted")
            elif pair_row is not None:
                self.merge_duplicate(pair_row, record, values)
                return None
        if row is None:
            row = new_row()
            self.session.add(row)
            ctx.count("created")
        else:
            row.sf_last_seen_run_id = ctx.run_id
            if is_stale(row, record):
                ctx.count("unchanged")
                return None
            changed = assign(row, values)
            row.sf_modstamp = record.system_modstamp
            if restore(row):
                changed = True
                ctx.count("restored")
            ctx.count("updated" if changed else "unchanged")
        self.rows[record.id or ""] = row
        self.by_pair[pair] = row
        return row

    def merge_duplicate(self, row: Any, record: Any, values: dict[str, Any]) -> None:
        """VOC-13/VOC-14: the record with the higher-ranked status wins the row and keeps its
        ``salesforce_id``; flag ``duplicate_participation`` either way."""
        ctx = self.ctx
        row.sf_last_seen_run_id = ctx.run_id
        ids = sorted({row.salesforce_id or "", record.id or ""})
        if participation_rank(self.vocabulary, values["status"]) > participation_rank(
            self.vocabulary, row.status
        ):
            assign(row, values)
            row.salesforce_id = record.id
            row.sf_modstamp = record.system_modstamp
            restore(row)
            self.rows[record.id or ""] = row
            ctx.count("updated")
        else:
            ctx.count("unchanged")
        ctx.count("merged")
        kept = row.salesforce_id
        self.after_flush(
            lambda: self.flags.raise_flag(
                "duplicate_participation",
                entity_id=row.id,
                salesforce_id=kept,
                field="",
                details={"salesforce_ids": ids, "kept": kept},
            )
        )

"""What the two participation imports share (02 SF-33, SF-34): the merge of a second Salesforce
record for the same (event, participant) pair."""

from __future__ import annotations

from typing import Any

from polaris_api.sync.salesforce.common import FlagBook
from polaris_api.sync.salesforce.engine import BatchWriter, assign, restore
from polaris_api.vocabularies import participation_rank

__all__ = ["ParticipationWriter"]


class ParticipationWriter(BatchWriter):
    """A writer keyed by ``salesforce_id`` and by its (event, participant) pair. Subclasses set
    ``vocabulary`` (the status vocabulary that ranks statuses) and fill ``rows`` and ``flags``."""

    vocabulary: str
    rows: dict[str, Any]
    flags: FlagBook

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

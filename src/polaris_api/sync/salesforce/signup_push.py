"""``salesforce-signup-push``: the optional write-back of website signups (03 SIGN-9, 09 §1).

Available only with ``salesforce_signup_push_enabled`` (off by default; new signups are then
``pending`` instead of ``skipped``). Each run takes the pending signups in id order and, per
signup:

1. the Contact: the stored ``sf_contact_id``, else the Contact found by the normalized email
   (``Email`` or an npe01 work/home/alternate email; a volunteer-type Contact first, then the
   lowest Id), else a new Contact (``Contact_Type__c = 'Volunteer'``). Its Id is stored and
   committed at once;
2. the ``Session_Participant__c`` of that Contact and the event's session with
   ``Participant_Type__c = 'Volunteer'``: the one Salesforce already has, else a new one with
   ``Status__c = 'Registered'``. Its Id, ``sf_push_status = pushed`` and ``sf_pushed_at`` (taken
   after Salesforce answered, LIST-6) are committed at once.

A retry never creates a second record: both creates are preceded by a look-up, so a create whose
answer was lost (timeout, crash before our commit) is found and adopted the next time, and a
stored Id is never created again. Creates are sent once (``SalesforceConnector.create``); a
transient failure (``sf_unavailable``) repeats the whole look-up-then-create sequence up to the
connector's attempt count with its backoff (counted afresh once the Contact step is done).

Failures: a signup Salesforce rejects (4xx) or cannot take after the retries (``sf_unavailable``)
is an error of the run (``partial``) and of the signup, which stays ``pending`` for the next run
until ``salesforce_signup_push_max_attempts``, then becomes ``failed``; signups are taken fewest
attempts first, so a failing one never holds back new ones. Three ``sf_unavailable`` signups in a
row, a refused login or the request limit fail the run (the last two without counting an attempt
against the signup: not its fault); the rest wait for the next run. A signup whose event has no
Salesforce session id is ``failed`` at once. Errors hold ids and codes only, never values.

A pushed signup keeps counting against ``remaining_slots`` until a publishing run that started
after ``sf_pushed_at`` has read the event (``models.events.remaining_slots_expr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from polaris_api.db import utcnow
from polaris_api.models.events import Event, Signup
from polaris_api.sync.runs import RunContext
from polaris_api.sync.salesforce.client import SalesforceConnector, SalesforceError, soql_quote

CONTACT_EMAIL_FIELDS = ("Email", "npe01__WorkEmail__c", "npe01__HomeEmail__c", "npe01__AlternateEmail__c")
VOLUNTEER_CONTACT_TYPES = frozenset({"", "volunteer"})
# answers that end the run at once: not the signup's fault, and the next ones would meet them too
RUN_LEVEL_CODES = frozenset({"sf_auth_failed", "sf_rate_limited", "sf_not_configured"})
# signups in a row that Salesforce could not take (sf_unavailable) before the run gives up
MAX_UNAVAILABLE_IN_A_ROW = 3


@dataclass
class PendingSignup:
    """What the push needs of one signup, read before any Salesforce call."""

    signup_id: int
    session_sf_id: str | None
    normalized_email: str
    attempts: int
    contact_id: str | None
    contact_fields: dict[str, Any]
    title: str


def contact_query(normalized_email: str) -> str:
    """The Contacts holding this email in any of the fields the volunteer import reads (SF-27)."""
    quoted = soql_quote(normalized_email)
    where = " OR ".join(f"{name} = {quoted}" for name in CONTACT_EMAIL_FIELDS)
    return f"SELECT Id, Contact_Type__c FROM Contact WHERE {where} ORDER BY Id LIMIT 50"


def participant_query(contact_id: str, session_id: str) -> str:
    return (
        "SELECT Id FROM Session_Participant__c"
        f" WHERE Contact__c = {soql_quote(contact_id)} AND Session__c = {soql_quote(session_id)}"
        " AND Participant_Type__c = 'Volunteer' ORDER BY Id LIMIT 1"
    )


def pick_contact(records: list[dict[str, Any]]) -> str | None:
    """A volunteer-type (or untyped) Contact first, else any; the lowest Id among equals."""
    if not records:
        return None
    ranked = sorted(
        records,
        key=lambda r: (
            str(r.get("Contact_Type__c") or "").strip().lower() not in VOLUNTEER_CONTACT_TYPES,
            r["Id"],
        ),
    )
    return str(ranked[0]["Id"])


async def load_pending(ctx: RunContext) -> list[PendingSignup]:
    limit = ctx.settings.salesforce_signup_push_max_attempts
    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Signup, Event.salesforce_id)
                .join(Event, Event.id == Signup.event_id)
                .where(Signup.sf_push_status == "pending", Signup.sf_push_attempts < limit)
                .order_by(Signup.sf_push_attempts, Signup.id)  # a failing signup never blocks new ones
            )
        ).all()
        out = []
        for signup, session_sf_id in rows:
            fields = {
                "FirstName": signup.first_name,
                "MiddleName": signup.middle_name,
                "LastName": signup.last_name,
                "Email": signup.normalized_email,
                "Title": signup.title,
                "Phone": signup.phone,
                "Contact_Type__c": "Volunteer",
            }
            out.append(
                PendingSignup(
                    signup_id=signup.id,
                    session_sf_id=session_sf_id,
                    normalized_email=signup.normalized_email,
                    attempts=signup.sf_push_attempts,
                    contact_id=signup.sf_contact_id,
                    contact_fields={k: v for k, v in fields.items() if v not in (None, "")},
                    title=signup.title,
                )
            )
    return out


async def _store(ctx: RunContext, signup_id: int, **values: Any) -> None:
    async with ctx.sessionmaker() as session:
        await session.execute(
            update(Signup).where(Signup.id == signup_id).values(updated_at=utcnow(), **values)
        )
        await session.commit()  # sync run job: each created Id is kept before the next call (SIGN-9)


async def push_one(ctx: RunContext, sf: SalesforceConnector, item: PendingSignup) -> None:
    """Find or create the Contact, then the participant; each Id committed as soon as known."""
    assert item.session_sf_id is not None
    if item.contact_id is None:
        contact_id = pick_contact(
            await sf.query_all(contact_query(item.normalized_email), include_deleted=False)
        )
        if contact_id is None:
            contact_id = await sf.create("Contact", item.contact_fields)
            ctx.count("contacts_created")
        else:
            ctx.count("contacts_found")
        await _store(ctx, item.signup_id, sf_contact_id=contact_id)
        item.contact_id = contact_id
    found = await sf.query_all(participant_query(item.contact_id, item.session_sf_id), include_deleted=False)
    if found:
        participant_id = str(found[0]["Id"])
        ctx.count("participants_found")
    else:
        participant_id = await sf.create(
            "Session_Participant__c",
            {
                "Contact__c": item.contact_id,
                "Session__c": item.session_sf_id,
                "Participant_Type__c": "Volunteer",
                "Status__c": "Registered",
                "Email__c": item.normalized_email,
                "Title__c": item.title,
            },
        )
        ctx.count("participants_created")
    pushed_at = utcnow()  # after Salesforce answered: a later publishing run reflects it (LIST-6)
    holder = await _participant_holder(ctx, participant_id)
    note = None
    if holder is not None and holder != item.signup_id:
        # two signups of one event whose emails lead to the same Contact: Salesforce holds one
        # participant for both; the Id stays on the first signup (it is unique)
        note = f"same Session_Participant__c {participant_id} as signup {holder}"
        ctx.count("same_participant")
        ctx.add_error(
            {"signup_id": item.signup_id, "code": "same_participant", "message": note}, partial=False
        )
    await _store(
        ctx,
        item.signup_id,
        sf_participant_id=participant_id if note is None else None,
        sf_push_status="pushed",
        sf_pushed_at=pushed_at,
        sf_push_attempts=item.attempts + 1,
        sf_push_last_error=note,
    )
    ctx.count("pushed")


async def _participant_holder(ctx: RunContext, participant_id: str) -> int | None:
    async with ctx.sessionmaker() as session:
        return (
            await session.execute(select(Signup.id).where(Signup.sf_participant_id == participant_id))
        ).scalar_one_or_none()


async def _record_failure(
    ctx: RunContext, item: PendingSignup, code: str, message: str, *, final: bool, counted: bool = True
) -> None:
    attempts = item.attempts + (1 if counted else 0)
    gave_up = final or attempts >= ctx.settings.salesforce_signup_push_max_attempts
    await _store(
        ctx,
        item.signup_id,
        sf_push_attempts=attempts,
        sf_push_last_error=f"{code}: {message}"[:2000],
        sf_push_status="failed" if gave_up else "pending",
    )
    ctx.count("failed" if gave_up else "retry_later")
    ctx.add_error({"signup_id": item.signup_id, "code": code, "message": message, "attempts": attempts})


async def run(ctx: RunContext) -> None:
    ctx.effective_mode = ctx.mode
    connector = ctx.connector()  # sf_not_configured fails the run before anything is read
    async with connector:
        pending = await load_pending(ctx)
        ctx.counts["read"] = len(pending)
        unavailable_in_a_row = 0
        for item in pending:
            if not item.session_sf_id:
                await _record_failure(
                    ctx,
                    item,
                    "event_not_in_salesforce",
                    "the signup's event has no Salesforce session id",
                    final=True,
                )
                continue
            attempt = 1
            while True:
                contact_before = item.contact_id
                try:
                    await push_one(ctx, connector, item)
                    unavailable_in_a_row = 0
                    break
                except SalesforceError as exc:
                    if exc.code == "sf_unavailable" and item.contact_id != contact_before:
                        attempt = 1  # the Contact step got done: the participant step has its own attempts
                    if exc.code == "sf_unavailable" and attempt < connector.max_attempts:
                        await connector.wait_before_retry(attempt)
                        attempt += 1
                        continue
                    if exc.code in RUN_LEVEL_CODES:
                        await _record_failure(ctx, item, exc.code, exc.message, final=False, counted=False)
                        raise
                    await _record_failure(ctx, item, exc.code, exc.message, final=False)
                    if exc.code != "sf_unavailable":
                        unavailable_in_a_row = 0
                        break
                    unavailable_in_a_row += 1
                    if unavailable_in_a_row >= MAX_UNAVAILABLE_IN_A_ROW:
                        raise SalesforceError(
                            "sf_unavailable",
                            f"{unavailable_in_a_row} signups in a row could not be pushed; "
                            f"the others wait for the next run ({exc.message})",
                            status=exc.status,
                            sf_error_code=exc.sf_error_code,
                        ) from None
                    break

"""Request and response shapes of the ticket API."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from core.validation import MAX_ID, Code, Lines, OneLine, ReceivedAt, single_line
from models import (
    AppealType,
    Channel,
    DeadlineStatus,
    Satisfaction,
    Stage,
    TicketStatus,
    Urgency,
)
from tickets.credit_code import normalize_credit_code
from tickets.lights import Light

MAX_TEXT = 10_000

Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT), Lines
]
UnitCode = Code
CreditCode = Annotated[str, AfterValidator(single_line), AfterValidator(normalize_credit_code)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9*][0-9*\- ]{2,30}$")
]


class EnterpriseIn(BaseModel):
    """The enterprise that raises the appeal."""

    credit_code: CreditCode
    name: Line


class ContactIn(BaseModel):
    """Who to call back."""

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
    ]
    phone: Phone


class TicketCreate(BaseModel):
    """An appeal as a source system hands it over."""

    source: Code
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), OneLine
    ]
    channel: Channel
    received_at: ReceivedAt = Field(description="With an offset; from 2000 to a day from now.")
    enterprise: EnterpriseIn
    contact: ContactIn
    address: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), OneLine
    ]
    title: Line | None = None
    text: Note = Field(description=f"The appeal itself, 1 to {MAX_TEXT} characters.")
    appeal_type: AppealType
    urgency: Urgency = Urgency.NORMAL


class Versioned(BaseModel):
    """An action may name the version it was based on; a stale one is refused with 409."""

    version: int | None = Field(default=None, ge=1, le=MAX_ID)


class DispatchIn(Versioned):
    """Send a ticket to the unit that leads and the units that assist."""

    lead_unit: UnitCode
    assist_units: list[UnitCode] = Field(default_factory=list, max_length=20)
    subdistrict: UnitCode | None = None
    note: Note | None = None


class ContactActionIn(Versioned):
    """First contact with the enterprise (先行联系)."""

    note: Note


class ReplyIn(Versioned):
    """The unit's answer (答复)."""

    content: Note


class ReturnIn(Versioned):
    """A unit hands the ticket back (退单), saying why it is not its authority."""

    reason: Note


class LocalityIn(Versioned):
    """The desk names the ticket's 街镇."""

    subdistrict: str = Field(min_length=1, max_length=64)


class RepeatOfIn(Versioned):
    """An operator says which earlier ticket this one repeats."""

    ticket_id: int = Field(ge=1, le=MAX_ID, description="The earlier ticket.")


class PauseIn(Versioned):
    """The lead unit awaits the enterprise (材料, a site visit date) and says what for."""

    reason: Note


class ExtensionRequestIn(Versioned):
    """A unit asks for more time (延期)."""

    days: int = Field(ge=1, le=60)
    reason: Note


class NoteIn(Versioned):
    """An action that needs nothing but may carry a note."""

    note: Note | None = None


class CallbackIn(Versioned):
    """The operator's callback (回访) to the enterprise."""

    satisfaction: Satisfaction
    note: Note | None = None


class EnterprisePublic(BaseModel):
    """The enterprise on a ticket."""

    credit_code: str
    name: str


class EnterpriseDetail(BaseModel):
    """An enterprise as the registry knows it, for the intake form."""

    credit_code: str
    name: str
    address: str | None
    subdistrict: str | None


class ContactPublic(BaseModel):
    """The contact on a ticket."""

    name: str
    phone: str


class ContactRevealIn(BaseModel):
    """Why the caller needs the full contact (PIPL: each reading has a purpose, logged)."""

    reason: Line


class AssignmentPublic(BaseModel):
    """A unit's part in a ticket."""

    unit: str
    role: str
    state: str
    created_at: datetime
    acknowledged_at: datetime | None
    contacted_at: datetime | None
    replied_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None


class DeadlinePublic(BaseModel):
    """One stage's deadline on a ticket."""

    stage: Stage
    unit: str | None
    status: DeadlineStatus
    due_at: datetime | None
    paused: bool
    remaining_hours: float | None = Field(
        description="Working hours left (clock hours for urgent limits); negative when overdue."
    )
    clock_hours: bool
    calendar_fallback: bool
    started_at: datetime
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class CandidatePublic(BaseModel):
    """A unit routing considered, with the classifier's probability."""

    unit: str
    probability: float


class RepeatPublic(BaseModel):
    """An earlier ticket this one repeats."""

    ticket_id: int
    root_id: int
    similarity: float


class RoutingPublic(BaseModel):
    """Routing's latest decision on a ticket (item 52) and what it was made from."""

    lead_unit: str | None = Field(description="None: the ticket waits in the triage queue.")
    assist_units: list[str]
    subdistrict: str | None
    confidence: float | None
    rule: str
    candidates: list[CandidatePublic]
    screened_by: list[str]
    reasons: list[str]
    repeats: list[RepeatPublic] = Field(
        description="The earlier tickets it repeats, closest first."
    )
    repeat_method: str | None = Field(
        default=None, description="How repeats were decided: the pair scorer, or the fallback."
    )
    model_version: str | None
    locality_source: str
    trigger: str
    decided_at: datetime
    correct: bool | None = Field(description="Judged by the operator's dispatch or the loop.")
    corrected_unit: str | None


class TicketPublic(BaseModel):
    """A ticket as the API shows it."""

    id: int
    source: str
    external_id: str
    channel: Channel
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    enterprise: EnterprisePublic
    contact: ContactPublic
    title: str | None
    text: str
    address: str
    subdistrict: str | None
    appeal_type: AppealType
    urgency: Urgency
    status: TicketStatus
    lead_unit: str | None
    assist_units: list[str]
    assignments: list[AssignmentPublic]
    repeat_of: int | None
    repeat_count: int
    repeat_chain: list[int] = Field(
        default_factory=list,
        description="Its repeat chain: the root first, then the repeats as they came in.",
    )
    routing: RoutingPublic | None
    escalation_level: int
    deadlines: list[DeadlinePublic]
    overdue: bool = Field(description="A deadline breached and not met (the light is red).")
    light: Light | None = Field(
        description="green: on time; yellow: a deadline warned (80 % used); red: one breached "
        "and not met; null: no open deadline."
    )
    next_deadline: DeadlinePublic | None = Field(
        description="The open deadline (pending, warned, or breached and not met) due first."
    )
    calendar_fallback: bool = Field(
        description="Some deadline was counted Monday–Friday: its year's holidays are not loaded."
    )
    reopen_count: int
    return_count: int
    extension_requested_days: int | None
    extension_days: int
    reply: str | None
    satisfaction: Satisfaction | None
    closed_at: datetime | None
    version: int


class TicketPage(BaseModel):
    """One page of tickets and how many match in all."""

    count: int
    limit: int
    offset: int
    items: list[TicketPublic]


class WorkbenchCounts(BaseModel):
    """How many tickets each tab of the department workbench holds."""

    to_acknowledge: int = Field(description="待签收: led, dispatched or reopened.")
    in_progress: int = Field(description="办理中: led, acknowledged or contacted.")
    warned: int = Field(description="临期: assigned, light yellow.")
    overdue: int = Field(description="已超期: assigned, light red.")
    done: int = Field(description="已办结: led, replied, verified or closed.")


class EventPublic(BaseModel):
    """One entry of a ticket's audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    before: dict[str, object]
    after: dict[str, object]
    note: str | None

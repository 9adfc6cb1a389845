"""SQLModel tables and their enums; importing this registers every table on the metadata."""

from models.base import AwareDateTime, utcnow
from models.deadline import (
    OPEN_STATUSES,
    TICKET_STAGES,
    WHISTLE_STAGES,
    Deadline,
    DeadlineStatus,
    DeliveryState,
    Notification,
    Stage,
)
from models.enterprise import Enterprise
from models.evaluation import Evaluation, EvaluationPeriod, PeriodStatus
from models.routing import RepeatLink, RoutingDecision, TicketEmbedding
from models.ticket import (
    AppealType,
    Assignment,
    AssignmentRole,
    AssignmentState,
    Channel,
    Satisfaction,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)
from models.unit import Unit, UnitKind
from models.user import Role, User
from models.whistle import CallState, Whistle, WhistleCall, WhistleEvent, WhistleStatus

__all__ = [
    "OPEN_STATUSES",
    "TICKET_STAGES",
    "WHISTLE_STAGES",
    "AppealType",
    "Assignment",
    "AssignmentRole",
    "AssignmentState",
    "AwareDateTime",
    "CallState",
    "Channel",
    "Deadline",
    "DeadlineStatus",
    "DeliveryState",
    "Enterprise",
    "Evaluation",
    "EvaluationPeriod",
    "Notification",
    "PeriodStatus",
    "RepeatLink",
    "Role",
    "RoutingDecision",
    "Satisfaction",
    "Stage",
    "Ticket",
    "TicketEmbedding",
    "TicketEvent",
    "TicketStatus",
    "Unit",
    "UnitKind",
    "Urgency",
    "User",
    "Whistle",
    "WhistleCall",
    "WhistleEvent",
    "WhistleStatus",
    "utcnow",
]

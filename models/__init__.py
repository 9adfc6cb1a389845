"""SQLModel tables and their enums; importing this registers every table on the metadata."""

from models.audit import AuditRecord
from models.base import AwareDateTime, replaying_at, utcnow
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
from models.heartbeat import SchedulerHeartbeat
from models.integration import (
    ChannelDelivery,
    DeadLetter,
    DeadLetterState,
    EnterpriseReceipt,
    InboundSignature,
    Open311Client,
    Open311Request,
    OutboundEvent,
    OutboundState,
    PlatformCursor,
    PlatformOrder,
    RateCounter,
)
from models.rollup import RollupCount, RollupDay, RollupState
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
from models.user import ApiToken, LoginFailure, Role, User, UserSession
from models.whistle import CallState, Whistle, WhistleCall, WhistleEvent, WhistleStatus

__all__ = [
    "OPEN_STATUSES",
    "TICKET_STAGES",
    "WHISTLE_STAGES",
    "ApiToken",
    "AppealType",
    "Assignment",
    "AssignmentRole",
    "AssignmentState",
    "AuditRecord",
    "AwareDateTime",
    "CallState",
    "Channel",
    "ChannelDelivery",
    "DeadLetter",
    "DeadLetterState",
    "Deadline",
    "DeadlineStatus",
    "DeliveryState",
    "Enterprise",
    "EnterpriseReceipt",
    "Evaluation",
    "EvaluationPeriod",
    "InboundSignature",
    "LoginFailure",
    "Notification",
    "Open311Client",
    "Open311Request",
    "OutboundEvent",
    "OutboundState",
    "PeriodStatus",
    "PlatformCursor",
    "PlatformOrder",
    "RateCounter",
    "RepeatLink",
    "Role",
    "RollupCount",
    "RollupDay",
    "RollupState",
    "RoutingDecision",
    "Satisfaction",
    "SchedulerHeartbeat",
    "Stage",
    "Ticket",
    "TicketEmbedding",
    "TicketEvent",
    "TicketStatus",
    "Unit",
    "UnitKind",
    "Urgency",
    "User",
    "UserSession",
    "Whistle",
    "WhistleCall",
    "WhistleEvent",
    "WhistleStatus",
    "replaying_at",
    "utcnow",
]

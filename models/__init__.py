"""SQLModel tables and their enums; importing this registers every table on the metadata."""

from models.base import AwareDateTime, utcnow
from models.enterprise import Enterprise
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

__all__ = [
    "AppealType",
    "Assignment",
    "AssignmentRole",
    "AssignmentState",
    "AwareDateTime",
    "Channel",
    "Enterprise",
    "Role",
    "Satisfaction",
    "Ticket",
    "TicketEvent",
    "TicketStatus",
    "Unit",
    "UnitKind",
    "Urgency",
    "User",
    "utcnow",
]

"""The enterprise channel's API (no login): submit, follow with the receipt, rate the reply."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from accounts.dependencies import address_of
from core.db import SessionDep
from deadlines.policy import PolicyDep
from integrations.settings import IntegrationsDep, IntegrationSettings
from models import utcnow
from routing.model import ServingModelDep
from routing.settings import RoutingDep
from tickets import enterprise_channel, rate_limits
from tickets.connectors import ConnectorsDep
from tickets.integration_schemas import (
    AppealView,
    EnterpriseAppealIn,
    RatingIn,
    ReceiptIn,
    ReceiptOut,
)

router = APIRouter(prefix="/api/v1/enterprise", tags=["enterprise channel"])

TOO_MANY = "提交过于频繁，请稍后再试"


def _limit_follow(request: Request, settings: IntegrationSettings, receipt_code: str) -> None:
    """Guessing receipts or phone digits is slowed per address and per receipt."""
    engine, now = request.app.state.engine, utcnow()
    rate_limits.check(
        engine, key=f"follow:ip:{address_of(request)}", now=now, window=timedelta(minutes=10),
        limit=settings.enterprise_follows_per_address_10min,
        message="查询过于频繁，请 10 分钟后再试",
    )  # fmt: skip
    rate_limits.check(
        engine, key=f"follow:receipt:{receipt_code.strip().upper()}", now=now,
        window=timedelta(hours=1), limit=settings.enterprise_follows_per_receipt_hour,
        message="该回执码查询次数过多，请 1 小时后再试",
    )  # fmt: skip


@router.post(
    "/appeals",
    response_model=ReceiptOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same submission again: the same receipt."},
               429: {"description": "Too many submissions from this address or enterprise."}},
)  # fmt: skip
def submit_appeal(
    body: EnterpriseAppealIn,
    request: Request,
    session: SessionDep,
    connectors: ConnectorsDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    settings: IntegrationsDep,
    response: Response,
) -> ReceiptOut:
    """提交诉求: an appeal through the same intake and routing as any; a receipt code back."""
    engine, now = request.app.state.engine, utcnow()
    # Counted before the request's own transaction, which a refusal rolls back.
    rate_limits.check(
        engine, key=f"submit:ip:{address_of(request)}", now=now, window=timedelta(hours=1),
        limit=settings.enterprise_submits_per_address_hour, message=TOO_MANY,
    )  # fmt: skip
    rate_limits.check(
        engine, key=f"submit:credit:{body.credit_code}", now=now, window=timedelta(days=1),
        limit=settings.enterprise_submits_per_credit_code_day,
        message="该企业今日提交的诉求已达上限，请明日再试或拨打 12345",
    )  # fmt: skip
    receipt, ticket, created = enterprise_channel.submit(
        session,
        serving=serving,
        connectors=connectors,
        data=body.model_dump(),
        submission_id=body.submission_id,
        policy=policy,
        routing=routing,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReceiptOut(
        receipt_code=receipt.code,
        received_at=ticket.received_at,
        status=ticket.status,
        status_name=enterprise_channel.STATUS_NAMES[ticket.status],
        created=created,
    )


@router.post("/follow", response_model=AppealView, responses={404: {"description": "Wrong pair."}})
def follow(
    body: ReceiptIn, request: Request, session: SessionDep, settings: IntegrationsDep
) -> AppealView:
    """查询进度: the appeal's status, deadlines and reply, for its receipt and phone digits."""
    _limit_follow(request, settings, body.receipt_code)
    ticket = enterprise_channel.find(session, code=body.receipt_code, phone_last4=body.phone_last4)
    return AppealView.model_validate(
        enterprise_channel.view(session, ticket=ticket, code=body.receipt_code.strip().upper())
    )


@router.post("/rate", response_model=AppealView)
def rate(
    body: RatingIn,
    request: Request,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    settings: IntegrationsDep,
) -> AppealView:
    """评价答复: satisfied, basically satisfied or unsatisfied (which reopens the appeal)."""
    _limit_follow(request, settings, body.receipt_code)
    ticket = enterprise_channel.find(session, code=body.receipt_code, phone_last4=body.phone_last4)
    ticket = enterprise_channel.rate(
        session,
        connectors=connectors,
        ticket=ticket,
        satisfaction=body.satisfaction,
        note=body.note,
        policy=policy,
    )
    return AppealView.model_validate(
        enterprise_channel.view(session, ticket=ticket, code=body.receipt_code.strip().upper())
    )

"""The `qisu` command line."""

import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import Engine

from classifier.cli import classifier_cli, model_cli
from core.config import get_settings
from core.db import make_engine, session_scope
from core.errors import DomainError
from models import Role, id_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlmodel import Session

    from accounts.audit import Actor
    from deadlines.policy import SlaPolicy
    from integrations.settings import IntegrationSettings
    from tickets.connectors import Connectors

cli = typer.Typer(
    help="qisu 企诉: route enterprise appeals and drive them around the closed loop.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
units_cli = typer.Typer(help="The district's unit registry.", no_args_is_help=True)
users_cli = typer.Typer(help="Users, their tokens and console logins.", no_args_is_help=True)
demo_cli = typer.Typer(help="Demo data for trying qisu out.", no_args_is_help=True)
audit_cli = typer.Typer(help="The security audit log.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
data_cli = typer.Typer(help="Personal data: retention.", no_args_is_help=True)
cli.add_typer(data_cli, name="data")
cli.add_typer(db_cli, name="db")
cli.add_typer(units_cli, name="units")
cli.add_typer(users_cli, name="users")
sla_cli = typer.Typer(help="Deadlines: the policy, sweeps and recounts.", no_args_is_help=True)
cli.add_typer(demo_cli, name="demo")
cli.add_typer(sla_cli, name="sla")
cli.add_typer(classifier_cli, name="classifier")
cli.add_typer(model_cli, name="model")
routing_cli = typer.Typer(
    help="Routing: operators' corrections as training data.", no_args_is_help=True
)
cli.add_typer(routing_cli, name="routing")
platform_cli = typer.Typer(help="City platform connectors.", no_args_is_help=True)
cli.add_typer(platform_cli, name="platform")
open311_cli = typer.Typer(help="Open311 GeoReport v2 clients.", no_args_is_help=True)
cli.add_typer(open311_cli, name="open311")
dashboard_cli = typer.Typer(help="The supervisors' dashboard.", no_args_is_help=True)
cli.add_typer(dashboard_cli, name="dashboard")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


def _require_current(engine: Engine) -> None:
    """Refuse to work on a database the code's migrations have not reached: only `qisu serve`
    and `qisu db upgrade` migrate, so no other command changes the schema as a side effect."""
    from app.setup import schema_behind

    behind = schema_behind(engine)
    if behind is not None:
        raise _fail(
            f"数据库结构不是最新（库中 {behind[0]}，需要 {behind[1]}）：请先运行 qisu db upgrade"
        )


def _policy() -> "SlaPolicy":
    """The SLA policy the settings name, read once by the command that needs it."""
    from deadlines.policy import PolicyError, load_policy

    try:
        return load_policy(get_settings().sla_policy)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _connectors(settings: "IntegrationSettings") -> "Connectors":
    """The platform connectors the settings name, loaded once by the command that needs them."""
    from integrations.mapping import ConnectorError
    from tickets import connectors

    try:
        return connectors.load(settings)
    except ConnectorError as exc:
        raise _fail(str(exc)) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="API worker processes (a dead one is replaced).")
    ] = 1,
) -> None:
    """Apply pending migrations, load the default registry if empty, and serve the API."""
    import uvicorn

    from app.logs import configure_logging
    from app.main import create_app
    from app.scheduler import recompute_fallbacks
    from app.serving import uvicorn_options
    from app.setup import prepare_database
    from integrations.settings import get_integration_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_file)
    policy = _policy()
    _connectors(get_integration_settings())  # a wrong connector file stops the start here
    engine = _engine()
    loaded = prepare_database(engine)
    recounted = recompute_fallbacks(engine, policy)
    engine.dispose()
    if loaded:
        typer.echo(f"loaded the default registry: {loaded} units")
    if recounted:
        typer.echo(f"recounted {recounted} deadlines on the now-known holiday schedule")
    host, port = host or settings.host, port or settings.port
    typer.echo(f"qisu serving on http://{host}:{port} (API docs at http://{host}:{port}/docs)")
    options = {"host": host, "port": port, "log_level": "info", **uvicorn_options(settings)}
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:  # each worker process builds its own app (and its logging) from the environment
        uvicorn.run("app.main:worker_app", factory=True, workers=workers, **options)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (and load the default registry into an empty database)."""
    from app.setup import prepare_database

    loaded = prepare_database(_engine())
    typer.echo("database is up to date" + (f"; loaded {loaded} units" if loaded else ""))


@db_cli.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
) -> None:
    """Write a consistent backup while qisu runs (SQLite: the backup API; PostgreSQL: pg_dump)."""
    from app.backup import BackupError, backup

    try:
        backup(_engine(), file)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"backed up to {file} ({file.stat().st_size:,} bytes)")


@db_cli.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `qisu db backup`.")],
    force: Annotated[
        bool, typer.Option(help="Overwrite a database that already holds data.")
    ] = False,
) -> None:
    """Replace the database with a backup (stop qisu first), then apply newer migrations."""
    from app.backup import BackupError, restore

    try:
        restored = restore(_engine(), file, force=force)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    then = "; migrated to the current schema" if restored.upgraded else ""
    typer.echo(f"restored {file} (migration {restored.revision}){then}")


@units_cli.command("load")
def units_load(
    file: Annotated[
        Path, typer.Argument(help="A registry YAML file (see units/data/jiading.yaml).")
    ],
) -> None:
    """Replace the unit registry with FILE; units it leaves out are retired, not deleted."""
    from app.migrate import upgrade
    from units import service

    engine = _engine()
    upgrade(engine)
    try:
        with session_scope(engine, write=True) as session:
            count = service.load_registry(session, path=file)
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"registry loaded: {count} units from {file}")


@users_cli.command("create")
def users_create(
    name: Annotated[str, typer.Option(help="A unique name for the user.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    unit: Annotated[
        str | None, typer.Option(help="Unit code, for unit_handler and subdistrict users.")
    ] = None,
    login: Annotated[
        str | None,
        typer.Option(help="A login for the web console (needs --password-stdin)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the console password from the first line of standard input "
            "(at least 8 characters, not only digits).",
        ),
    ] = False,
) -> None:
    """Create a user; its bearer token is printed alone on the last line, once."""
    import sys

    from accounts import admin
    from accounts.audit import Actor

    if password_stdin and login is None:
        raise _fail("--password-stdin needs --login")
    if login is not None and not password_stdin:
        raise _fail("--login needs --password-stdin (the password is never an argument)")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    engine = _engine()
    _require_current(engine)
    try:
        with session_scope(engine, write=True) as session:
            user, token = admin.create(
                session,
                actor=Actor.command_line(),
                name=name,
                role=role,
                unit_code=unit,
                login=login,
                password=password,
            )
            signs_in = f", signs in as {user.login}" if user.login else ""
            typer.echo(
                f"created user {user.name} ({user.role}{', ' + unit if unit else ''}{signs_in})",
                err=True,
            )
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(token)


def _users_session() -> "AbstractContextManager[Session]":
    """A write transaction on the migrated database."""

    engine = _engine()
    _require_current(engine)
    return session_scope(engine, write=True)


@users_cli.command("list")
def users_list(
    role: Annotated[Role | None, typer.Option(help="Only this role.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only users of this unit code.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active or inactive users.")
    ] = None,
    q: Annotated[str | None, typer.Option(help="Part of the name or login.")] = None,
) -> None:
    """List users: id, login, role, unit, whether active, last console sign-in."""
    from accounts import admin

    filters = admin.UserFilters(role=role, unit=unit, active=active, q=q)
    with _users_session() as session:
        total, users = admin.search(session, filters=filters, limit=10_000, offset=0)
        for user in users:
            seen = (
                user.last_sign_in_at.isoformat(timespec="seconds") if user.last_sign_in_at else "-"
            )
            typer.echo(
                f"{user.id:>5}  {user.login or '-':16} {user.role:13} {user.unit_code or '-':20} "
                f"{'active' if user.active else 'INACTIVE':9} {seen}  {user.name}"
            )
    typer.echo(f"{total} users", err=True)


def _admin_change(change: "Callable[[Session, Actor, int], str]", who: str) -> None:
    """Run one change on the user named by id, login or name; print what it did."""
    from accounts import admin
    from accounts.audit import Actor

    try:
        with _users_session() as session:
            user = admin.find(session, who=who)
            typer.echo(change(session, Actor.command_line(), id_of(user)))
    except DomainError as exc:
        raise _fail(exc.message) from None


UserArg = Annotated[str, typer.Argument(help="The user's id, login or name.")]


@users_cli.command("deactivate")
def users_deactivate(user: UserArg) -> None:
    """Deactivate at once: console sessions end, every token is revoked, in every worker."""
    from accounts import admin

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        done = admin.deactivate(session, actor=actor, user_id=user_id)
        return f"deactivated {done.name}: its sessions ended and its tokens are revoked"

    _admin_change(change, user)


@users_cli.command("reactivate")
def users_reactivate(user: UserArg) -> None:
    """Let a deactivated user sign in again (give it a token with rotate-token)."""
    from accounts import admin

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        return f"reactivated {admin.reactivate(session, actor=actor, user_id=user_id).name}"

    _admin_change(change, user)


@users_cli.command("rotate-token")
def users_rotate_token(
    user: UserArg,
    name: Annotated[str, typer.Option(help="What the new token is for.")] = "轮换令牌",
    days: Annotated[int, typer.Option(min=1, max=365, help="Days the token is valid.")] = 90,
) -> None:
    """Revoke the user's tokens and print a new one alone on the last line, once."""
    from accounts import admin

    issued: list[str] = []

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        row, token, revoked = admin.rotate_token(
            session, actor=actor, user_id=user_id, name=name, days=days
        )
        issued.append(token)
        return f"revoked {revoked} tokens; the new one expires {row.expires_at.isoformat()}"

    _admin_change(change, user)
    typer.echo(issued[0])


@users_cli.command("set-role")
def users_set_role(
    user: UserArg,
    role: Annotated[Role, typer.Option(help="The new role.")],
    unit: Annotated[
        str | None, typer.Option(help="Unit code, for unit_handler and subdistrict users.")
    ] = None,
) -> None:
    """Give a user a new role (and unit); it holds from their next request."""
    from accounts import admin

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        done = admin.set_role(session, actor=actor, user_id=user_id, role=role, unit_code=unit)
        return f"{done.name} is now {done.role}{' of ' + done.unit_code if done.unit_code else ''}"

    _admin_change(change, user)


@users_cli.command("set-password")
def users_set_password(user: UserArg) -> None:
    """Set a console password read from the first line of standard input; sessions end."""
    import sys

    from accounts import admin

    password = sys.stdin.readline().rstrip("\r\n")

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        done = admin.set_password(session, actor=actor, user_id=user_id, password=password)
        return f"new password set for {done.login}; its console sessions ended"

    _admin_change(change, user)


@users_cli.command("reset-totp")
def users_reset_totp(user: UserArg) -> None:
    """Remove a user's second factor (a lost phone)."""
    from accounts import admin

    def change(session: "Session", actor: "Actor", user_id: int) -> str:
        done = admin.reset_totp(session, actor=actor, user_id=user_id)
        return f"second factor removed for {done.name}"

    _admin_change(change, user)


@audit_cli.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 naming every edited or deleted record."""
    from accounts import audit

    engine = _engine()
    _require_current(engine)
    with session_scope(engine) as session:
        found = audit.verify(session)
    for problem in found.problems:
        typer.secho(problem, fg=typer.colors.RED, err=True)
    typer.echo(f"{found.count} records; head {found.head}")
    if found.problems:
        raise typer.Exit(code=1)
    typer.echo("the chain is whole")


@data_cli.command("purge")
def data_purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be anonymised; change nothing.")
    ] = False,
    now: Annotated[
        str | None, typer.Option(help="Purge as of this ISO 8601 instant (default: now).")
    ] = None,
) -> None:
    """Anonymise contacts of tickets closed longer ago than QISU_PERSONAL_DATA_RETENTION_DAYS."""
    from accounts.audit import Actor
    from models import utcnow
    from tickets import retention

    settings = get_settings()
    engine = _engine()
    _require_current(engine)
    with session_scope(engine, write=not dry_run) as session:
        done = retention.purge(
            session,
            now=_instant(now) if now else utcnow(),
            retention_days=settings.personal_data_retention_days,
            actor=Actor.command_line(),
            dry_run=dry_run,
        )
    verb = "would anonymise" if dry_run else "anonymised"
    typer.echo(
        f"{verb} the contacts of {done.tickets} tickets closed before "
        f"{done.cutoff.isoformat(timespec='seconds')} and the payloads of {done.dead_letters} "
        "dead letters received before it"
    )


@demo_cli.command("load")
def demo_load(
    seed: Annotated[int, typer.Option(help="The same seed gives the same district.")] = 2026,
    force: Annotated[
        bool, typer.Option(help="Load beside tickets that are not demo data.")
    ] = False,
) -> None:
    """Replay two months of a district (about 2,000 appeals) through the real intake and loop."""
    from app.demo import AlreadyLoaded, DemoRefused, load_demo
    from routing.model import ServingModel
    from routing.settings import RoutingSettings

    settings, routed = get_settings(), RoutingSettings()
    engine = _engine()
    _require_current(engine)
    # The encoder the server runs (QISU_ROUTING_QUANTIZED, _RUNTIME): the demo's decisions and
    # embeddings are the ones the console would have made.
    serving = ServingModel.served(settings.data_dir, routed)
    if serving.warm() is None:
        typer.echo(
            "no model is active: the demo's appeals wait in triage (`qisu model build-default`)"
        )
    try:
        loaded = load_demo(
            engine,
            policy=_policy(),
            routing=routed,
            serving=serving,
            seed=seed,
            force=force,
            grace_days=settings.evaluation_grace_days,
            progress=typer.echo,
        )
    except AlreadyLoaded as exc:  # `make run` loads it every time; once is enough
        typer.echo(str(exc))
        return
    except DemoRefused as exc:
        raise _fail(str(exc)) from None
    tokens_file = settings.data_dir / "demo-tokens.txt"
    if loaded.tokens:
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        with tokens_file.open("a", encoding="utf-8") as out:
            out.writelines(f"{name:28} {token}\n" for name, token in loaded.tokens.items())
        tokens_file.chmod(0o600)
    logins_file = settings.data_dir / "demo-logins.txt"
    if loaded.logins:
        with logins_file.open("a", encoding="utf-8") as out:
            out.writelines(f"{line}\n" for line in loaded.logins)
        logins_file.chmod(0o600)
    typer.echo(
        f"demo loaded in {loaded.seconds:.0f} s: {loaded.appeals} appeals, {loaded.steps} steps, "
        f"{loaded.sweeps} sweeps; bearer tokens in {tokens_file}, console logins in {logins_file}"
    )


@demo_cli.command("logins")
def demo_logins() -> None:
    """Print the demo's console logins and passwords, and where the console is."""
    settings = get_settings()
    logins_file = settings.data_dir / "demo-logins.txt"
    if not logins_file.is_file():  # not an error: `make run` asks every time
        typer.echo(f"no demo logins in {logins_file}: `qisu demo load` writes them")
        return
    typer.echo(f"console: http://{settings.host}:{settings.port}/  (login, password, role, unit)")
    typer.echo(logins_file.read_text(encoding="utf-8"), nl=False)


@demo_cli.command("clear")
def demo_clear() -> None:
    """Remove the demo's tickets, whistles, evaluations and users; nothing else."""
    from app.demo import clear_demo

    removed = clear_demo(_engine())
    typer.echo("removed " + ", ".join(f"{n} {name}" for name, n in removed.items() if n))


@cli.command()
def scheduler() -> None:
    """Run the deadline sweeps and notification delivery (production: one such process)."""
    from app.logs import configure_logging
    from app.scheduler import build_scheduler, recompute_fallbacks
    from integrations.settings import get_integration_settings
    from routing.model import ServingModel
    from routing.settings import RoutingSettings

    settings, routed = get_settings(), RoutingSettings()
    configure_logging(settings.log_level, settings.log_file)
    policy = _policy()
    platforms = get_integration_settings()
    found = _connectors(platforms)
    engine = _engine()
    _require_current(engine)
    recompute_fallbacks(engine, policy)
    typer.echo(
        f"qisu scheduler: sweeping every {settings.sweep_seconds:g} s, "
        f"delivering every {settings.delivery_seconds:g} s (Ctrl-C stops)"
    )
    try:
        build_scheduler(
            engine,
            settings,
            policy,
            routed,
            platforms,
            found,
            # The orders it polls are routed as `qisu serve` would route them (lazily loaded).
            ServingModel.served(settings.data_dir, routed),
            blocking=True,
        ).start()
    except (KeyboardInterrupt, SystemExit):
        typer.echo("qisu scheduler stopped")


def _instant(value: str, option: str = "--now") -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(
            f"{option} {value!r} is not an ISO 8601 instant like 2026-12-01T09:00:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        raise _fail(f"{option} {value!r} needs an offset, e.g. +08:00")
    return parsed


@sla_cli.command("sweep")
def sla_sweep(
    now: Annotated[
        str | None, typer.Option(help="Sweep as of this ISO 8601 instant (default: now).")
    ] = None,
    deliver: Annotated[bool, typer.Option(help="Also deliver the queued notifications.")] = False,
    batch: Annotated[
        int, typer.Option(min=1, help="Deadlines claimed and committed per transaction.")
    ] = 5000,
) -> None:
    """Run one sweep: warn, breach and escalate whatever is due (for replay and tests)."""
    from app.scheduler import notifiers_for, sweep
    from models import utcnow
    from tickets import jobs

    policy = _policy()
    engine = _engine()
    _require_current(engine)
    instant = _instant(now) if now else utcnow()
    result = sweep(engine, policy=policy, now=instant, batch=batch, progress=typer.echo)
    typer.echo(
        f"swept as of {instant.isoformat()}: {result.breached} breached, {result.warned} warned, "
        f"{result.windows_closed} return windows closed"
    )
    if deliver:
        sent, failed = jobs.deliver(
            engine, notifiers=notifiers_for(policy), now=instant, batch=10_000
        )
        typer.echo(f"notifications: {sent} delivered, {failed} failed (retried later)")


@dashboard_cli.command("rollup")
def dashboard_rollup(
    since: Annotated[
        str | None,
        typer.Option(help="From this Shanghai date, YYYY-MM-DD (default: the first ticket's)."),
    ] = None,
) -> None:
    """Roll up every complete day again (idempotent); the scheduler keeps it fresh after."""
    from datetime import date

    from tickets import rollup

    try:
        first = date.fromisoformat(since) if since else None
    except ValueError:
        raise _fail(f"--since {since!r} is not a date like 2026-11-01") from None
    engine = _engine()
    _require_current(engine)
    started = time.monotonic()

    def progress(day: date, rows: int) -> None:
        if day.day == 1 or day == first:
            typer.echo(f"  {day.isoformat()}: {rows} counts ({time.monotonic() - started:.0f} s)")

    days = rollup.rebuild(engine, since=first, progress=progress)
    typer.echo(f"rolled up {days} days in {time.monotonic() - started:.1f} s")


@sla_cli.command("check")
def sla_check(
    file: Annotated[
        Path, typer.Argument(help="A policy YAML file (see deadlines/data/sla-policy.yaml).")
    ],
) -> None:
    """Check a deadline policy file without starting anything."""
    from deadlines.policy import PolicyError, load_policy

    try:
        policy = load_policy(file)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"{file}: valid; {len(policy.limits)} limit groups, {policy.top_level} escalation levels"
    )


@sla_cli.command("recompute")
def sla_recompute() -> None:
    """Recount deadlines counted Monday–Friday after adding a year's schedule to the policy."""
    from app.scheduler import recompute_fallbacks

    count = recompute_fallbacks(_engine(), _policy())
    typer.echo(f"recounted {count} deadlines")


@routing_cli.command("export-feedback")
def routing_export_feedback(
    file: Annotated[Path, typer.Argument(help="Output: .csv (UTF-8 with BOM) or .jsonl.")],
    since: Annotated[
        str | None, typer.Option("--from", help="Judged at or after this ISO 8601 instant.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Judged before this instant (default: now).")
    ] = None,
    repeats: Annotated[
        Path | None,
        typer.Option(
            help="Also write the repeats operators linked or unlinked here (.jsonl), for "
            "`qisu model build-default --repeats`."
        ),
    ] = None,
) -> None:
    """Write the tickets whose routing operators corrected, as a classifier training file."""
    import csv
    import json

    from models import utcnow
    from routing import insights

    if file.suffix.lower() not in {".csv", ".jsonl"}:
        raise _fail(f"{file}: name a .csv or .jsonl file")
    if repeats is not None and repeats.suffix.lower() != ".jsonl":
        raise _fail(f"{repeats}: name a .jsonl file for the repeat pairs")
    end = _instant(until, "--to") if until else utcnow()
    start = _instant(since, "--from") if since else datetime(2000, 1, 1, tzinfo=end.tzinfo)
    engine = _engine()
    _require_current(engine)
    with session_scope(engine) as session:
        rows = insights.feedback(session, since=start, until=end)
        pairs = insights.repeat_feedback(session, since=start, until=end) if repeats else []
    partial = file.with_name(file.name + ".partial")
    with partial.open("w", encoding="utf-8-sig" if file.suffix == ".csv" else "utf-8") as out:
        if file.suffix.lower() == ".csv":
            writer = csv.DictWriter(out, fieldnames=insights.FEEDBACK_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        else:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    partial.replace(file)
    typer.echo(
        f"wrote {len(rows)} corrected tickets to {file}; train on it with "
        f"`qisu classifier train --data {file} --title-col title --text-col text --label-col label`"
    )
    if repeats is not None:
        done = repeats.with_name(repeats.name + ".partial")
        with done.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(pair, ensure_ascii=False) + "\n" for pair in pairs)
        done.replace(repeats)
        typer.echo(
            f"wrote {len(pairs)} repeat pairs operators settled to {repeats}; the pair scorer "
            f"learns from them with `qisu model build-default --repeats {repeats}`"
        )


@platform_cli.command("check")
def platform_check(
    file: Annotated[
        Path, typer.Argument(help="A connector YAML (see integrations/data/shanghai-12345.yaml).")
    ],
) -> None:
    """Check a city platform connector file; a wrong entry exits 2 naming its line."""
    from integrations.mapping import ConnectorError, load_connector
    from tickets.connectors import VOCABULARY

    try:
        connector = load_connector(file, vocabulary=VOCABULARY)
    except ConnectorError as exc:
        raise _fail(str(exc)) from None
    steps = len(connector.outbound.steps) if connector.outbound else 0
    typer.echo(
        f"{file}: valid; source {connector.source}, {len(connector.units)} units mapped, "
        f"pull {'on' if connector.pull else 'off'}, {steps} steps reported"
    )


@open311_cli.command("add-client")
def open311_add_client(
    name: Annotated[str, typer.Argument(help="A unique name for the civic tool.")],
) -> None:
    """Register an Open311 client; its API key is printed alone on the last line, once."""
    from tickets import open311

    engine = _engine()
    _require_current(engine)
    try:
        with session_scope(engine, write=True) as session:
            _, key = open311.create_client(session, name=name)
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"created Open311 client {name}", err=True)
    typer.echo(key)


def main() -> None:
    """Entry point of the `qisu` script."""
    cli()


if __name__ == "__main__":
    main()

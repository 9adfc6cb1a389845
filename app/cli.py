"""The `qisu` command line."""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import Engine

from classifier.cli import classifier_cli, model_cli
from core.config import get_settings
from core.db import make_engine, session_scope
from core.errors import DomainError
from models import Role

if TYPE_CHECKING:
    from tickets.policy import SlaPolicy

cli = typer.Typer(
    help="qisu 企诉: route enterprise appeals and drive them around the closed loop.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="The database schema.", no_args_is_help=True)
units_cli = typer.Typer(help="The district's unit registry.", no_args_is_help=True)
users_cli = typer.Typer(help="Users and their tokens.", no_args_is_help=True)
demo_cli = typer.Typer(help="Demo data for trying qisu out.", no_args_is_help=True)
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


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


def _policy() -> "SlaPolicy":
    from tickets.policy import PolicyError, current_policy

    try:
        return current_policy()
    except PolicyError as exc:
        raise _fail(str(exc)) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Apply pending migrations, load the default registry if empty, and serve the API."""
    import uvicorn

    from app.main import create_app
    from app.scheduler import recompute_fallbacks
    from app.setup import prepare_database

    settings = get_settings()
    policy = _policy()
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
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (and load the default registry into an empty database)."""
    from app.setup import prepare_database

    loaded = prepare_database(_engine())
    typer.echo("database is up to date" + (f"; loaded {loaded} units" if loaded else ""))


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
) -> None:
    """Create a user; its bearer token is printed alone on the last line, once."""
    from accounts import service
    from app.setup import prepare_database

    engine = _engine()
    prepare_database(engine)
    try:
        with session_scope(engine, write=True) as session:
            user, token = service.create_user(session, name=name, role=role, unit_code=unit)
            typer.echo(
                f"created user {user.name} ({user.role}{', ' + unit if unit else ''})", err=True
            )
    except DomainError as exc:
        raise _fail(exc.message) from None
    typer.echo(token)


@demo_cli.command("load")
def demo_load() -> None:
    """Create demo users (one per role) and tickets at every stage of the loop, once."""
    from app.demo import load_demo
    from app.setup import prepare_database

    settings = get_settings()
    engine = _engine()
    prepare_database(engine)
    tokens_file = settings.data_dir / "demo-tokens.txt"
    with session_scope(engine, write=True) as session:
        load_demo(session, tokens_file=tokens_file)
    typer.echo(f"demo data loaded. Log in with a bearer token from {tokens_file}:")
    typer.echo(tokens_file.read_text(encoding="utf-8"), nl=False)


@cli.command()
def scheduler() -> None:
    """Run the deadline sweeps and notification delivery (production: one such process)."""
    from app.scheduler import build_scheduler, recompute_fallbacks
    from app.setup import prepare_database

    settings = get_settings()
    policy = _policy()
    engine = _engine()
    prepare_database(engine)
    recompute_fallbacks(engine, policy)
    typer.echo(
        f"qisu scheduler: sweeping every {settings.sweep_seconds:g} s, "
        f"delivering every {settings.delivery_seconds:g} s (Ctrl-C stops)"
    )
    try:
        build_scheduler(engine, settings, policy, blocking=True).start()
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
    from app.scheduler import notifiers_for
    from app.setup import prepare_database
    from models import utcnow
    from tickets import jobs

    policy = _policy()
    engine = _engine()
    prepare_database(engine)
    instant = _instant(now) if now else utcnow()
    result = jobs.sweep(engine, policy=policy, now=instant, batch=batch, progress=typer.echo)
    typer.echo(
        f"swept as of {instant.isoformat()}: {result.breached} breached, {result.warned} warned, "
        f"{result.windows_closed} return windows closed"
    )
    if deliver:
        sent, failed = jobs.deliver(
            engine, notifiers=notifiers_for(policy), now=instant, batch=10_000
        )
        typer.echo(f"notifications: {sent} delivered, {failed} failed (retried later)")


@sla_cli.command("check")
def sla_check(
    file: Annotated[
        Path, typer.Argument(help="A policy YAML file (see tickets/data/sla-policy.yaml).")
    ],
) -> None:
    """Check a deadline policy file without starting anything."""
    from tickets.policy import PolicyError, load_policy

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

    from app.setup import prepare_database
    from models import utcnow
    from routing import insights

    if file.suffix.lower() not in {".csv", ".jsonl"}:
        raise _fail(f"{file}: name a .csv or .jsonl file")
    if repeats is not None and repeats.suffix.lower() != ".jsonl":
        raise _fail(f"{repeats}: name a .jsonl file for the repeat pairs")
    engine = _engine()
    prepare_database(engine)
    end = _instant(until, "--to") if until else utcnow()
    start = _instant(since, "--from") if since else datetime(2000, 1, 1, tzinfo=end.tzinfo)
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


def main() -> None:
    """Entry point of the `qisu` script."""
    cli()


if __name__ == "__main__":
    main()

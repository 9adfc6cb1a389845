"""The `qisu` command line."""

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from core.config import get_settings
from core.db import make_engine, session_scope
from core.errors import DomainError
from models import Role

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
cli.add_typer(demo_cli, name="demo")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def _engine() -> Engine:
    return make_engine(get_settings().effective_database_url)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Apply pending migrations, load the default registry if empty, and serve the API."""
    import uvicorn

    from app.main import create_app
    from app.setup import prepare_database

    settings = get_settings()
    engine = _engine()
    loaded = prepare_database(engine)
    engine.dispose()
    if loaded:
        typer.echo(f"loaded the default registry: {loaded} units")
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


def main() -> None:
    """Entry point of the `qisu` script."""
    cli()


if __name__ == "__main__":
    main()

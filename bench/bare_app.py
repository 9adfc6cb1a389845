"""The floor of this stack: a FastAPI endpoint that inserts one row into SQLite, nothing more."""

import os
from typing import Any

from fastapi import FastAPI
from sqlmodel import Field, Session, SQLModel

from core.db import make_engine, write_engine


class Row(SQLModel, table=True):
    """One stored body."""

    id: int | None = Field(default=None, primary_key=True)
    text: str


engine = make_engine(os.environ["BARE_DATABASE_URL"])
SQLModel.metadata.create_all(engine)
app = FastAPI()


@app.post("/rows", status_code=201)
def insert(body: dict[str, Any]) -> dict[str, int | None]:
    """Insert the body's text as one row."""
    with Session(write_engine(engine)) as session:
        row = Row(text=str(body.get("text", "")))
        session.add(row)
        session.commit()
        return {"id": row.id}

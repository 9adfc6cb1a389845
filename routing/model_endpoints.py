"""HTTP routes of the model registry for administrators: the versions, and activation."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from pydantic import BaseModel

from accounts.dependencies import require_roles
from classifier import registry
from classifier.errors import ClassifierError
from core.errors import Conflict, NotFound
from models import Role, User
from routing.model import ServingModel, ServingModelDep

router = APIRouter(prefix="/api/v1/admin/models", tags=["models"])

Admin = Annotated[User, Depends(require_roles(Role.ADMIN))]
VersionName = Annotated[str, PathParam(min_length=1, max_length=128, pattern=r"^[\w.-]+$")]


class ModelVersionOut(BaseModel):
    """A trained model in the registry, with its held-out figures."""

    name: str
    created_at: str
    labels: int
    validation_accuracy: float | None
    active: bool


class ActivateIn(BaseModel):
    """Activate even when the version scores worse on the active one's held-out rows."""

    force: bool = False


class ActivateOut(BaseModel):
    """What activation compared, and the registry afterwards."""

    message: str
    versions: list[ModelVersionOut]


def _registry(serving: ServingModel) -> Path | None:
    folder = serving.registry_dir
    return folder if folder is not None and folder.is_dir() else None


def _versions(folder: Path) -> list[ModelVersionOut]:
    return [
        ModelVersionOut(
            name=v.name,
            created_at=v.created_at,
            labels=v.labels,
            validation_accuracy=v.validation_accuracy,
            active=v.active,
        )
        for v in registry.versions(folder)
    ]


@router.get("", response_model=list[ModelVersionOut])
def list_versions(user: Admin, serving: ServingModelDep) -> list[ModelVersionOut]:
    """Every trained version, oldest first, and which one is active."""
    folder = _registry(serving)
    return _versions(folder) if folder is not None else []


@router.post("/{name}/activate", response_model=ActivateOut)
def activate(
    name: VersionName, user: Admin, serving: ServingModelDep, body: ActivateIn | None = None
) -> ActivateOut:
    """Make a version active; refused (409) when it is worse on the active one's held-out rows."""
    folder = _registry(serving)
    if folder is None or name not in {v.name for v in registry.versions(folder)}:
        raise NotFound("模型库中没有该版本")
    try:
        message = registry.activate(folder, name, force=bool(body and body.force))
    except ClassifierError as exc:
        raise Conflict(
            f"未启用 {name}：它在当前模型的留出集上准确率更低（{exc}）。确认要启用请勾选“强制启用”",
            code="model_worse",
        ) from exc
    # The served model rereads ACTIVE, so this app routes with the new version next.
    return ActivateOut(message=message, versions=_versions(folder))

"""Routing's thresholds and windows (prefix QISU_ROUTING_), chosen on routing-eval-v2/dev.yaml."""

from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    """How sure routing must be before it dispatches, and what counts as a repeat."""

    model_config = SettingsConfigDict(env_prefix="QISU_ROUTING_", env_file=".env", extra="ignore")

    enabled: bool = True
    # Serve the encoder with int8 weights: intake's pass takes about half the time (p50 46 → 27 ms
    # quiet); dispatches as accurate on the labelled dev sets, a point or two more left to the
    # desk, about a point less accurate on the model's validation texts (README, issue 14).
    quantized: bool = True
    # Who runs the encoder: "auto" is ONNX Runtime where the model folder has its export (every
    # build since issue 14) and torch for older folders; "torch" or "onnx" insist on one.
    runtime: Literal["auto", "onnx", "torch"] = "auto"
    # A line unit leads on its own above this probability...
    lead_threshold: float = Field(default=0.60, ge=0, le=1)
    # ...and a screened ticket (repeat, returned, legacy, 街镇 cannot solve) at this lower one.
    screened_threshold: float = Field(default=0.40, ge=0, le=1)
    # A territorial (属地) matter goes to the address's 街镇 above this probability.
    territorial_threshold: float = Field(default=0.60, ge=0, le=1)
    # A unit a returning 街镇's reason names leads the re-route from this probability (among the
    # line units); 0 takes the 街镇's word whatever the classifier thinks.
    named_threshold: float = Field(default=0.0, ge=0, le=1)
    # Below this, no line unit is plausible and a returned ticket goes to a supervisor.
    plausible_threshold: float = Field(default=0.10, ge=0, le=1)
    # Line units whose matters are on site, so the address's 街镇 assists when they lead.
    on_site_units: list[str] = [
        "urban_management", "greening_cityscape", "ecology_environment", "construction",
        "transport", "water", "housing", "emergency", "fire", "public_security",
        "planning_resources", "water_supply", "power_supply", "gas_supply",
    ]  # fmt: skip
    # Repeats: earlier tickets of the same enterprise, phone or address within the window...
    repeat_window_days: int = Field(default=180, ge=1)
    # ...that the pair scorer (the model folder's repeats.json) rates at least this likely
    # (bench/repeat_cv.py, the three labelled sets pooled: from 0.55 to 0.65 the sets' precision
    # holds and 0.60 keeps the most recall on v3 without raising v2's near misses)...
    repeat_threshold: float = Field(default=0.6, ge=0, le=1)
    # ...or, without a pair scorer, whose similarity reaches this: the embeddings' cosine with
    # this weight, the share of character pairs the texts have in common with the rest.
    repeat_similarity: float = Field(default=0.42, ge=0, le=1)
    repeat_embedding_weight: float = Field(default=0.4, ge=0, le=1)
    # From this repeat count on, a repeat is escalated (督办) and flagged to supervisors.
    repeat_escalate_from: int = Field(default=2, ge=1)
    # The same text from the same enterprise or phone within these minutes is one submission.
    merge_minutes: int = Field(default=10, ge=0)
    # 一类事: different enterprises' texts at least this close (the repeats' blend), in a window.
    cluster_similarity: float = Field(default=0.5, ge=0, le=1)
    cluster_window_days: int = Field(default=30, ge=1)
    # How many earlier tickets a repeat lookup compares at most (newest first).
    candidate_limit: int = Field(default=200, ge=1)


def app_routing(request: Request) -> RoutingSettings:
    """The routing settings the app was built with."""
    settings: RoutingSettings = request.app.state.routing
    return settings


RoutingDep = Annotated[RoutingSettings, Depends(app_routing)]

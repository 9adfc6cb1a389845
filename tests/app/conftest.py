"""Fixtures of the app's tests: the trained tiny model the demo is routed by."""

from tests.routing.conftest import models_dir

__all__ = ["models_dir"]

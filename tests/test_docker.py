"""The compose file and image, checked statically (no Docker engine runs here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_wires_the_api_to_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    api, db = compose["services"]["api"], compose["services"]["db"]
    assert (ROOT / api["build"]["context"].replace("..", ".") / api["build"]["dockerfile"]).exists()
    assert api["environment"]["QISU_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in api["environment"]["QISU_DATABASE_URL"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db
    assert set(compose["volumes"]) == {"pgdata", "qisudata"}


def test_compose_runs_one_scheduler_beside_the_api() -> None:
    services = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    api, scheduler = services["api"], services["scheduler"]
    assert api["environment"]["QISU_EMBEDDED_SCHEDULER"] == "false"
    assert scheduler["command"] == ["qisu", "scheduler"]
    assert scheduler["environment"]["QISU_DATABASE_URL"] == api["environment"]["QISU_DATABASE_URL"]
    assert scheduler["build"] == api["build"]
    # It routes the orders it polls with the api's model: the same registry, once it is built.
    assert "qisudata:/var/lib/qisu:ro" in scheduler["volumes"]
    assert scheduler["depends_on"]["model"] == api["depends_on"]["model"]


def test_one_service_migrates_before_the_api_and_the_scheduler_start() -> None:
    services = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["qisu", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["environment"] == services["scheduler"]["environment"]
    for name in ("api", "scheduler"):
        wait = services[name]["depends_on"]["migrate"]["condition"]
        assert wait == "service_completed_successfully", name


def test_image_copies_every_package_and_pins_torch() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    packages = [
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists() and p.name not in ("tests", "bench")
    ]
    for package in packages:
        assert f"COPY {package} {package}" in dockerfile, package
    assert "torch==2.13.0" in dockerfile
    assert 'CMD ["qisu", "serve"' in dockerfile


def test_the_api_starts_once_the_default_model_is_in_its_volume() -> None:
    services = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]
    api, model = services["api"], services["model"]
    assert model["command"] == ["qisu", "model", "build-default", "--if-missing"]
    assert model["volumes"] == api["volumes"] == ["qisudata:/var/lib/qisu"]
    assert api["depends_on"]["model"]["condition"] == "service_completed_successfully"
    assert model["build"] == api["build"]


def test_image_holds_the_sets_the_repeat_scorer_is_weighted_on() -> None:
    from classifier.cli import REPEAT_PAIRS

    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for path in REPEAT_PAIRS:
        assert f"COPY {path} {path}" in dockerfile, path

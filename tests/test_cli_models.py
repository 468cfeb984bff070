"""``nbtrack models``: list, show, alias and card through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

import nbtrack
from nbtrack import MlflowClient
from nbtrack.cli import main


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def ok(*args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: str) -> str:
    """A command that must fail with one readable line and no traceback."""
    result = cli(*args)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("Error: ") and "\n" not in message, message
    return message


@pytest.fixture
def registered() -> str:
    """Model 'iris' with versions 1 and 2 (of one run), a tag and a description."""
    client = MlflowClient()
    with nbtrack.start_run(run_name="train") as run:
        nbtrack.log_metric("accuracy", 0.9)
        nbtrack.log_text("flavors: {}\n", "model/MLmodel")
    uri = f"runs:/{run.info.run_id}/model"
    nbtrack.register_model(uri, "iris")
    nbtrack.register_model(uri, "iris")
    client.update_registered_model("iris", "Classifies flowers.")
    client.set_registered_model_tag("iris", "team", "ml")
    client.transition_model_version_stage("iris", 2, "Production")
    return run.info.run_id


@pytest.mark.parametrize(
    "command",
    [
        ("models",),  # the group
        ("models", "list"),
        ("models", "show"),
        ("models", "alias"),
        ("models", "card"),
    ],
)
def test_every_models_command_has_help(command):
    out = ok(*command, "--help")
    assert out.startswith("Usage: main " + " ".join(command))  # CliRunner names it main
    assert len(out.splitlines()) > 3


def test_list(registered):
    MlflowClient().create_registered_model("empty")
    lines = ok("models", "list").splitlines()
    assert lines[0].split() == ["Name", "Latest", "Stages", "Aliases", "Updated", "Description"]
    assert lines[2].startswith("empty")
    assert lines[3].split()[:4] == ["iris", "2", "Production:", "2"]
    assert "Classifies flowers." in lines[3]
    assert lines[-1] == "2 registered models"


def test_list_filters_and_json(registered):
    MlflowClient().create_registered_model("other")
    assert ok("models", "list", "--filter", "tags.team = 'ml'").splitlines()[-1] == (
        "1 registered model"
    )
    [model] = json.loads(ok("models", "list", "--json", "-f", "name = 'iris'"))
    assert model["name"] == "iris" and model["tags"] == {"team": "ml"}
    assert [v["version"] for v in model["latest_versions"]] == ["1", "2"]


def test_show_model_lists_its_versions(registered):
    out = ok("models", "show", "iris")
    assert out.startswith("Registered model iris\n")
    assert "Classifies flowers." in out and "Tag team" in out
    table = out.split("\n\n", 1)[1].splitlines()
    rows = [line.split() for line in table[2:-1]]
    assert [(r[0], r[1]) for r in rows] == [("2", "Production"), ("1", "None")]
    assert out.rstrip().endswith("2 versions")
    data = json.loads(ok("models", "show", "iris", "--json"))
    assert [v["version"] for v in data["versions"]] == ["2", "1"]
    assert all(v["run_id"] == registered for v in data["versions"])


@pytest.mark.parametrize(
    "ref",
    [
        "1",  # a number
        "first",  # an alias
        "@first",  # an alias as in models:/name@alias
    ],
)
def test_show_one_version(registered, ref):
    MlflowClient().set_registered_model_alias("iris", "first", 1)
    out = ok("models", "show", "iris", "--version", ref)
    assert out.startswith("Model iris version 1\n")
    assert f"runs:/{registered}/model" in out and "first" in out
    data = json.loads(ok("models", "show", "iris", "-v", ref, "--json"))
    assert data["version"] == "1" and data["storage_location"].endswith("/models/iris/1")


def test_show_latest_version(registered):
    assert ok("models", "show", "iris", "-v", "latest").startswith("Model iris version 2\n")


def test_alias_sets_and_moves(registered):
    assert ok("models", "alias", "iris", "champion", "1").strip() == (
        "Alias 'champion' of model 'iris' now points at version 1."
    )
    assert ok("models", "alias", "iris", "champion", "2").strip() == (
        "Alias 'champion' of model 'iris' now points at version 2 (it was on version 1)."
    )
    assert MlflowClient().get_model_version_by_alias("iris", "champion").version == "2"


def test_card_prints_or_writes(registered, tmp_path):
    printed = ok("models", "card", "iris", "2")
    assert printed.startswith("---\n") and "### iris - version 2" in printed
    target = tmp_path / "README.md"
    out = ok("models", "card", "iris", "latest", "-o", str(target))
    assert out.strip() == f"Wrote the model card of iris version 2 to {target}"
    assert target.read_text(encoding="utf-8") == printed


def _state() -> list:
    db = MlflowClient().store.db
    return [db.query(f"SELECT * FROM {t}") for t in ("registered_model_aliases", "model_versions")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("models", "show", "nope"), "no registered model named 'nope'"),
        (("models", "show", "iris", "-v", "9"), "has no version 9"),
        (("models", "show", "iris", "-v", "nope"), "has no alias 'nope'"),
        (("models", "alias", "iris", "latest", "1"), "is reserved"),
        (("models", "alias", "iris", "good", "x"), "version must be a whole number"),
        (("models", "alias", "iris", "good", "9"), "has no version 9"),
        (("models", "alias", "nope", "good", "1"), "no registered model named 'nope'"),
        (("models", "card", "iris", "9"), "has no version 9"),
        (("models", "list", "--filter", "name = "), "Invalid filter"),
    ],
)
def test_errors_are_one_line_and_change_nothing(registered, args, message):
    before = _state()
    assert message in fails(*args)
    assert _state() == before


def test_missing_argument_is_a_usage_error(registered):
    result = cli("models", "alias", "iris", "champion")
    assert result.exit_code == 2 and "Missing argument 'VERSION'" in result.output

"""The model registry: MLflow's registry API over the SQLite store, with snapshot versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack import MlflowClient
from nbtrack.artifacts import uri_to_path
from nbtrack.errors import (
    ArtifactNotFound,
    InvalidFilter,
    InvalidParameter,
    ModelNotFound,
    NbtrackError,
    ResourceAlreadyExists,
    RunNotFound,
)
from nbtrack.store.cards import CardStore

REGISTRY_TABLES = (
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "model_card_sections",
)


@pytest.fixture
def client() -> MlflowClient:
    return MlflowClient()


def log_model_folder(
    client: MlflowClient, run_id: str, path: str = "model", weights: str = "w1"
) -> str:
    """A minimal model folder (MLmodel + a weights file) in a run's artifacts; its URI."""
    client.log_text(run_id, "flavors: {}\n", f"{path}/MLmodel")
    client.log_text(run_id, weights, f"{path}/weights.txt")
    return f"runs:/{run_id}/{path}"


def new_run(client: MlflowClient) -> str:
    run = client.create_run("0")
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.fixture
def model_uri(client: MlflowClient) -> str:
    return log_model_folder(client, new_run(client))


def registry_state(client: MlflowClient) -> tuple[dict[str, list], list[str]]:
    """Every registry row and every file of the registry's storage."""
    db = client.store.db
    rows = {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for t in REGISTRY_TABLES}
    root = Path(client.store.artifact_root) / "models"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return rows, files


def version_files(client: MlflowClient, name: str, version: str | int) -> Path:
    return uri_to_path(client.get_model_version_download_uri(name, version))


# -- registered models ------------------------------------------------------------------


def test_create_and_get_registered_model(client):
    created = client.create_registered_model("iris", tags={"team": "ml", "n": 1}, description="d")
    got = client.get_registered_model("iris")
    assert created == got
    assert got.tags == {"team": "ml", "n": "1"}
    assert got.description == "d"
    assert got.latest_versions == [] and got.aliases == {}
    assert got.creation_timestamp == got.last_updated_timestamp


@pytest.mark.parametrize(
    "name",
    [
        "",  # empty
        "   ",  # blank
        "a/b",  # '/' separates a models:/ URI
        "a:b",  # ':' is a URI scheme separator
        ".",  # names the folder itself
        "..",  # names the parent folder
        "../escape",  # escapes the storage folder
        "a//b",  # not a normalised path (and has '/')
        "line\nbreak",  # control character
        "x" * 257,  # longer than MLflow's column
        None,  # not a string
        7,  # not a string
    ],
)
def test_invalid_model_names_are_refused(client, name):
    before = registry_state(client)
    with pytest.raises(InvalidParameter):
        client.create_registered_model(name)
    assert registry_state(client) == before


def test_model_names_keep_spaces_and_unicode(client, model_uri):
    mv = nbtrack.register_model(model_uri, "Iris classifier é")
    assert client.get_model_version("Iris classifier é", 1) == mv
    assert (version_files(client, mv.name, 1) / "MLmodel").is_file()


def test_update_registered_model_description(client):
    client.create_registered_model("m", description="old")
    updated = client.update_registered_model("m", description="new")
    assert updated.description == "new"
    assert client.get_registered_model("m").description == "new"
    assert client.update_registered_model("m").description is None


# -- versions, lineage, snapshots -------------------------------------------------------


def test_versions_number_from_one_with_lineage(client, model_uri):
    run_id = model_uri.split("/")[1]
    client.create_registered_model("m")
    v1 = client.create_model_version("m", model_uri, description="first", tags={"k": "v"})
    v2 = client.create_model_version("m", model_uri, run_link="http://x")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.source == model_uri and v1.run_id == run_id
    assert v1.description == "first" and v1.tags == {"k": "v"}
    assert v2.run_link == "http://x"
    assert v1.current_stage == "None" and v1.status == "READY"
    assert v1.user_id
    assert client.get_run(v1.run_id).info.experiment_id == "0"  # lineage reaches the experiment
    other = client.create_registered_model("other")
    assert client.create_model_version(other.name, model_uri).version == "1"


def test_version_is_a_snapshot_of_the_source(client, model_uri):
    run_id = model_uri.split("/")[1]
    mv = nbtrack.register_model(model_uri, "m")
    files = version_files(client, "m", mv.version)
    root = Path(client.store.artifact_root) / "models"
    assert files == root / "m" / "1"
    client.log_text(run_id, "w2 retrained", "model/weights.txt")  # the run's artifact changes
    client.log_text(run_id, "new", "model/extra.txt")
    assert (files / "weights.txt").read_text() == "w1"
    assert sorted(p.name for p in files.iterdir()) == ["MLmodel", "weights.txt"]


@pytest.mark.parametrize("form", ["path", "file_uri"])
def test_register_from_a_local_folder(client, tmp_path, form):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    source = str(folder) if form == "path" else folder.as_uri()
    mv = nbtrack.register_model(source, "m")
    assert mv.run_id is None
    assert mv.source == source
    (folder / "MLmodel").write_text("changed")
    assert (version_files(client, "m", 1) / "MLmodel").read_text() == "flavors: {}\n"


def test_relative_path_source_is_recorded_absolute(client, tmp_path):
    Path("rel").mkdir()
    Path("rel/MLmodel").write_text("flavors: {}\n")
    mv = nbtrack.register_model("rel", "m")
    assert mv.source == str(tmp_path / "rel")


@pytest.mark.parametrize("ref", ["models:/src/1", "models:/src@champion", "models:/src/latest"])
def test_register_from_another_version_keeps_its_run(client, model_uri, ref):
    src = nbtrack.register_model(model_uri, "src")
    client.set_registered_model_alias("src", "champion", 1)
    copy = nbtrack.register_model(ref, "dst")
    assert copy.run_id == src.run_id and copy.source == ref
    assert (version_files(client, "dst", 1) / "weights.txt").read_text() == "w1"
    client.delete_registered_model("src")
    assert (version_files(client, "dst", 1) / "weights.txt").is_file()  # its own copy


def test_register_from_a_stage_uri(client, model_uri):
    nbtrack.register_model(model_uri, "src")
    client.transition_model_version_stage("src", 1, "Staging")
    assert nbtrack.register_model("models:/src/staging", "dst").version == "1"


def test_register_model_creates_the_model_once_and_reports_like_mlflow(client, model_uri, capsys):
    first = nbtrack.register_model(model_uri, "m", tags={"t": "1"})
    second = nbtrack.register_model(model_uri, "m")
    assert (first.version, second.version) == ("1", "2")
    assert first.tags == {"t": "1"}
    err = capsys.readouterr().err
    assert "Successfully registered model 'm'." in err
    assert "Registered model 'm' already exists. Creating a new version of this model..." in err
    assert "Created version '2' of model 'm'." in err


def test_deleted_version_numbers_are_never_reused(client, model_uri):
    for _ in range(3):
        nbtrack.register_model(model_uri, "m")
    client.set_registered_model_alias("m", "champion", 3)
    files = version_files(client, "m", 3)
    client.delete_model_version("m", 3)
    assert not files.exists()
    with pytest.raises(ModelNotFound):
        client.get_model_version("m", 3)
    assert client.get_registered_model("m").aliases == {}
    assert [v.version for v in client.search_model_versions("name = 'm'")] == ["2", "1"]
    assert nbtrack.register_model(model_uri, "m").version == "4"  # as in MLflow


def test_delete_registered_model_removes_everything(client, model_uri):
    nbtrack.register_model(model_uri, "m", tags={"a": "1"})
    client.set_registered_model_tag("m", "k", "v")
    client.set_registered_model_alias("m", "champion", 1)
    CardStore(client.store.db).set_card_section("m", 1, "limitations", "none")
    files = version_files(client, "m", 1)
    nbtrack.register_model(model_uri, "kept")
    client.delete_registered_model("m")
    rows, _ = registry_state(client)
    assert all(row[0] == "kept" for table in rows.values() for row in table)
    assert not files.exists()
    with pytest.raises(ModelNotFound):
        client.get_registered_model("m")
    assert nbtrack.register_model(model_uri, "m").version == "1"  # a new model starts over


def test_failed_insert_removes_the_copied_files(client, model_uri):
    nbtrack.register_model(model_uri, "m")
    before = registry_state(client)
    # a real failure inside the transaction, after the files were placed
    client.store.db.conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON model_versions "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(Exception, match="disk full"):
        client.create_model_version("m", model_uri)
    client.store.db.conn.execute("DROP TRIGGER refuse")
    assert registry_state(client) == before
    assert client.create_model_version("m", model_uri).version == "2"


# -- stages, aliases, tags --------------------------------------------------------------


def test_stage_transitions_and_archive_existing_versions(client, model_uri):
    for _ in range(3):
        nbtrack.register_model(model_uri, "m")
    assert client.transition_model_version_stage("m", 1, "production").current_stage == "Production"
    client.transition_model_version_stage("m", 2, "STAGING")
    moved = client.transition_model_version_stage(
        "m", 3, "Production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'm'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    latest = client.get_latest_versions("m")
    assert [(v.version, v.current_stage) for v in latest] == [
        ("1", "Archived"),
        ("2", "Staging"),
        ("3", "Production"),
    ]
    assert [v.version for v in client.get_latest_versions("m", ["production"])] == ["3"]
    assert client.get_latest_versions("m", ["None"]) == []
    rm = client.get_registered_model("m")
    assert {v.current_stage for v in rm.latest_versions} == {"Archived", "Staging", "Production"}


def test_stage_error_lists_the_valid_stages(client, model_uri):
    nbtrack.register_model(model_uri, "m")
    with pytest.raises(InvalidParameter) as err:
        client.transition_model_version_stage("m", 1, "prod")
    assert "None, Staging, Production, Archived" in str(err.value) and "'prod'" in str(err.value)


def test_alias_moves_between_versions(client, model_uri):
    nbtrack.register_model(model_uri, "m")
    nbtrack.register_model(model_uri, "m")
    client.set_registered_model_alias("m", "champion", 1)
    assert client.get_model_version_by_alias("m", "champion").version == "1"
    client.set_registered_model_alias("m", "champion", "2")
    assert client.get_model_version_by_alias("m", "champion").aliases == ["champion"]
    assert client.get_model_version("m", 1).aliases == []
    assert client.get_registered_model("m").aliases == {"champion": "2"}
    client.delete_registered_model_alias("m", "champion")
    with pytest.raises(ModelNotFound, match="no alias 'champion'"):
        client.get_model_version_by_alias("m", "champion")
    client.delete_registered_model_alias("m", "champion")  # absent: no error, as MLflow


def test_latest_alias_is_the_highest_live_version(client, model_uri):
    for _ in range(3):
        nbtrack.register_model(model_uri, "m")
    client.transition_model_version_stage("m", 2, "Production")
    assert client.get_model_version_by_alias("m", "latest").version == "3"
    client.delete_model_version("m", 3)
    assert client.get_model_version_by_alias("m", "LATEST").version == "2"


def test_tags_on_models_and_versions(client, model_uri):
    nbtrack.register_model(model_uri, "m")
    client.set_registered_model_tag("m", "team", "ml")
    client.set_model_version_tag("m", 1, "validated", True)
    assert client.get_registered_model("m").tags == {"team": "ml"}
    assert client.get_model_version("m", 1).tags == {"validated": "True"}
    client.transition_model_version_stage("m", 1, "Staging")
    client.set_model_version_tag("m", key="by_stage", value="x", stage="staging")
    assert client.get_model_version("m", 1).tags["by_stage"] == "x"
    client.delete_model_version_tag("m", 1, "validated")
    client.delete_registered_model_tag("m", "team")
    client.delete_registered_model_tag("m", "absent")  # as MLflow: no error
    assert client.get_registered_model("m").tags == {}
    assert client.get_model_version("m", 1).tags == {"by_stage": "x"}


def test_rename_keeps_versions_aliases_tags_and_files(client, model_uri):
    nbtrack.register_model(model_uri, "old", tags={"v": "1"})
    nbtrack.register_model(model_uri, "old")
    client.set_registered_model_tag("old", "team", "ml")
    client.set_registered_model_alias("old", "champion", 2)
    CardStore(client.store.db).set_card_section("old", 2, "limitations", "small data")
    renamed = client.rename_registered_model("old", "new")
    assert renamed.name == "new" and renamed.tags == {"team": "ml"}
    assert renamed.aliases == {"champion": "2"}
    assert [v.version for v in client.search_model_versions("name = 'new'")] == ["2", "1"]
    assert client.get_model_version("new", 1).tags == {"v": "1"}
    assert CardStore(client.store.db).card_sections("new", 2) == {"limitations": "small data"}
    assert (version_files(client, "new", 1) / "weights.txt").read_text() == "w1"
    with pytest.raises(ModelNotFound):
        client.get_registered_model("old")
    # a new model may take the old name: its files never land on the renamed model's
    nbtrack.register_model(log_model_folder(client, new_run(client), weights="w9"), "old")
    assert (version_files(client, "old", 1) / "weights.txt").read_text() == "w9"
    assert (version_files(client, "new", 1) / "weights.txt").read_text() == "w1"


# -- search -----------------------------------------------------------------------------


def test_search_registered_models_filters_orders_and_pages(client):
    for name in ("alpha", "beta", "gamma"):
        client.create_registered_model(name, tags={"team": "a" if name != "beta" else "b"})
    assert [m.name for m in client.search_registered_models()] == ["alpha", "beta", "gamma"]
    assert [m.name for m in client.search_registered_models("name LIKE '%a'")] == [
        "alpha",
        "beta",
        "gamma",
    ]
    assert [m.name for m in client.search_registered_models("tags.team = 'a'")] == [
        "alpha",
        "gamma",
    ]
    desc = client.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in desc] == ["gamma", "beta", "alpha"]
    page1 = client.search_registered_models(max_results=2)
    page2 = client.search_registered_models(max_results=2, page_token=page1.token)
    assert [m.name for m in page1 + page2] == ["alpha", "beta", "gamma"]
    assert page2.token is None


def test_search_model_versions_by_name_run_and_tag(client):
    run_a, run_b = new_run(client), new_run(client)
    uri_a, uri_b = log_model_folder(client, run_a), log_model_folder(client, run_b)
    nbtrack.register_model(uri_a, "m", tags={"kind": "lr"})
    nbtrack.register_model(uri_b, "m")
    nbtrack.register_model(uri_b, "n")
    by_run = client.search_model_versions(f"run_id = '{run_b}'")
    assert {(v.name, v.version) for v in by_run} == {("m", "2"), ("n", "1")}
    assert [v.version for v in client.search_model_versions("tags.kind = 'lr'")] == ["1"]
    assert [
        (v.name, v.version)
        for v in client.search_model_versions("name = 'm'", order_by=["version_number ASC"])
    ] == [("m", "1"), ("m", "2")]
    page = client.search_model_versions(max_results=2)
    rest = client.search_model_versions(max_results=2, page_token=page.token)
    assert len(page) == 2 and len(rest) == 1 and rest.token is None


# -- every wrong call changes nothing ---------------------------------------------------


@pytest.fixture
def populated(client, model_uri):
    """A registry with two models, versions in stages, aliases, tags and a card section."""
    nbtrack.register_model(model_uri, "m", tags={"k": "v"})
    nbtrack.register_model(model_uri, "m")
    nbtrack.register_model(model_uri, "other")
    client.transition_model_version_stage("m", 1, "Production")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_tag("m", "team", "ml")
    CardStore(client.store.db).set_card_section("m", 1, "limitations", "small data")
    return model_uri


def _no_mlmodel(client: MlflowClient) -> str:
    run_id = new_run(client)
    client.log_text(run_id, "x", "not_a_model/file.txt")
    return f"runs:/{run_id}/not_a_model"


WRONG_CALLS = [
    # (what, call, expected error)
    ("duplicate model name", lambda c, u: c.create_registered_model("m"), ResourceAlreadyExists),
    (
        "bad tag key",
        lambda c, u: c.create_registered_model("x", tags={"bad!": 1}),
        InvalidParameter,
    ),
    ("version of a missing model", lambda c, u: c.create_model_version("nope", u), ModelNotFound),
    (
        "source in an unknown run",
        lambda c, u: c.create_model_version("m", "runs:/0123abc/model"),
        RunNotFound,
    ),
    (
        "source path absent in the run",
        lambda c, u: c.create_model_version("m", u.rsplit("/", 1)[0] + "/absent"),
        ArtifactNotFound,
    ),
    (
        "source folder without MLmodel",
        lambda c, u: c.create_model_version("m", _no_mlmodel(c)),
        ArtifactNotFound,
    ),
    (
        "remote source",
        lambda c, u: c.create_model_version("m", "s3://bucket/model"),
        InvalidParameter,
    ),
    (
        "run_id that contradicts the source",
        lambda c, u: c.create_model_version("m", u, run_id=new_run(c)),
        InvalidParameter,
    ),
    (
        "unknown run_id for lineage",
        lambda c, u: c.create_model_version(
            "m", c.get_model_version_download_uri("m", 1), run_id="feed"
        ),
        RunNotFound,
    ),
    (
        "bad version tag",
        lambda c, u: c.create_model_version("m", u, tags={"": "x"}),
        InvalidParameter,
    ),
    (
        "register_model with a bad URI",
        lambda c, u: nbtrack.register_model("runs:/", "fresh"),
        InvalidParameter,
    ),
    (
        "register_model of a missing folder",
        lambda c, u: nbtrack.register_model("/no/such", "fresh"),
        ArtifactNotFound,
    ),
    (
        "malformed models:/ URI",
        lambda c, u: nbtrack.register_model("models:/m", "fresh"),
        InvalidParameter,
    ),
    (
        "models:/ URI of a missing version",
        lambda c, u: nbtrack.register_model("models:/m/9", "x"),
        ModelNotFound,
    ),
    ("version 'one'", lambda c, u: c.get_model_version("m", "one"), InvalidParameter),
    ("version 0", lambda c, u: c.update_model_version("m", 0, "d"), InvalidParameter),
    ("version True", lambda c, u: c.delete_model_version("m", True), InvalidParameter),
    ("version 1.5", lambda c, u: c.get_model_version("m", 1.5), InvalidParameter),
    ("missing version", lambda c, u: c.update_model_version("m", 9, "d"), ModelNotFound),
    ("delete a missing version", lambda c, u: c.delete_model_version("m", 9), ModelNotFound),
    (
        "unknown stage",
        lambda c, u: c.transition_model_version_stage("m", 2, "prod"),
        InvalidParameter,
    ),
    (
        "archive_existing to None",
        lambda c, u: c.transition_model_version_stage(
            "m", 2, "None", archive_existing_versions=True
        ),
        InvalidParameter,
    ),
    (
        "stage of a missing version",
        lambda c, u: c.transition_model_version_stage(
            "m", 9, "Staging", archive_existing_versions=True
        ),
        ModelNotFound,
    ),
    (
        "reserved alias latest",
        lambda c, u: c.set_registered_model_alias("m", "Latest", 2),
        InvalidParameter,
    ),
    (
        "reserved alias v2",
        lambda c, u: c.set_registered_model_alias("m", "v2", 2),
        InvalidParameter,
    ),
    (
        "alias with a space",
        lambda c, u: c.set_registered_model_alias("m", "my alias", 2),
        InvalidParameter,
    ),
    ("empty alias", lambda c, u: c.set_registered_model_alias("m", "", 2), InvalidParameter),
    (
        "alias to a missing version",
        lambda c, u: c.set_registered_model_alias("m", "a", 9),
        ModelNotFound,
    ),
    ("unknown alias", lambda c, u: c.get_model_version_by_alias("m", "nope"), ModelNotFound),
    (
        "rename onto a taken name",
        lambda c, u: c.rename_registered_model("m", "other"),
        ResourceAlreadyExists,
    ),
    ("rename to a bad name", lambda c, u: c.rename_registered_model("m", "a/b"), InvalidParameter),
    ("rename a missing model", lambda c, u: c.rename_registered_model("nope", "x"), ModelNotFound),
    ("delete a missing model", lambda c, u: c.delete_registered_model("nope"), ModelNotFound),
    (
        "tag a missing model",
        lambda c, u: c.set_registered_model_tag("nope", "k", "v"),
        ModelNotFound,
    ),
    (
        "tag value too long",
        lambda c, u: c.set_model_version_tag("m", 1, "k", "x" * 100_001),
        InvalidParameter,
    ),
    (
        "both version and stage",
        lambda c, u: c.set_model_version_tag("m", 1, "k", "v", "Staging"),
        InvalidParameter,
    ),
    (
        "no version in the stage",
        lambda c, u: c.set_model_version_tag("m", key="k", value="v", stage="Archived"),
        ModelNotFound,
    ),
    ("description not a string", lambda c, u: c.update_registered_model("m", 5), InvalidParameter),
    ("malformed filter", lambda c, u: c.search_model_versions("name = "), InvalidFilter),
    ("max_results 0", lambda c, u: c.search_registered_models(max_results=0), InvalidParameter),
    (
        "max_results over the limit",
        lambda c, u: c.search_registered_models(max_results=1001),
        InvalidParameter,
    ),
    (
        "bad page token",
        lambda c, u: c.search_model_versions(page_token="garbage"),
        InvalidParameter,
    ),
    ("stages as a string", lambda c, u: c.get_latest_versions("m", "Production"), InvalidParameter),
]


@pytest.mark.parametrize(("what", "call", "error"), WRONG_CALLS, ids=[w[0] for w in WRONG_CALLS])
def test_wrong_calls_raise_and_change_nothing(client, populated, what, call, error):
    before = registry_state(client)
    with pytest.raises(error) as raised:
        call(client, populated)
    assert isinstance(raised.value, NbtrackError)
    assert registry_state(client) == before


def test_errors_keep_the_offending_name_and_version(client, model_uri):
    nbtrack.register_model(model_uri, "m")
    with pytest.raises(ModelNotFound) as err:
        client.get_model_version("m", 5)
    assert (err.value.name, err.value.version) == ("m", "5")
    assert "its versions: 1" in str(err.value)


# -- concurrency ------------------------------------------------------------------------

PER_PROCESS = 15
_REGISTER_SCRIPT = f"""
import json, sys, time, nbtrack
nbtrack.MlflowClient().store  # open the store before the start line
time.sleep(max(float(sys.argv[2]) - time.time(), 0))  # both start registering together
versions = [nbtrack.register_model(sys.argv[1], "shared").version for _ in range({PER_PROCESS})]
print(json.dumps(versions))
"""


@pytest.mark.slow  # worker processes (or matplotlib) take seconds to start
def test_two_processes_registering_get_distinct_versions(client, model_uri, fresh_store):
    env = {**os.environ, "NBTRACK_TRACKING_URI": f"sqlite:///{fresh_store}"}
    start = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REGISTER_SCRIPT, model_uri, start],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    got = [v for out, _ in outputs for v in json.loads(out)]
    assert sorted(got, key=int) == [str(i) for i in range(1, 2 * PER_PROCESS + 1)]
    stored = client.search_model_versions("name = 'shared'")
    assert len({version_files(client, "shared", v.version) for v in stored}) == 2 * PER_PROCESS
    assert all((version_files(client, "shared", v.version) / "MLmodel").is_file() for v in stored)

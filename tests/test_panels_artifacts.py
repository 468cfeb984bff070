"""The artifact tree of run detail (nbtrack.panels.artifacts): listing, previews, downloads."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import nbtrack
from nbtrack.panels import artifacts, previews
from nbtrack.panels.artifacts import ArtifactTree


@pytest.fixture
def run():
    with nbtrack.start_run(run_name="files") as run:
        nbtrack.log_text("print('hello')\n", "cell.py")
        nbtrack.log_dict({"a": [1, 2]}, "config/settings.json")
        nbtrack.log_dict({"a": 1}, "config/params.yaml")
        nbtrack.log_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(80)), "data/t.csv")
        nbtrack.log_text("a\tb\n1\t2\n", "data/t.tsv")
        nbtrack.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "plots/blank.png")
        nbtrack.log_text('<svg xmlns="http://www.w3.org/2000/svg"/>', "plots/shape.svg")
        nbtrack.log_text("x" * (previews.MAX_TEXT_BYTES + 10), "logs/long.log")
        nbtrack.log_text("{not json", "bad.json")
    return run


def tree_of(run) -> ArtifactTree:
    return ArtifactTree(run.info.artifact_uri, run.info.run_id)


def test_each_file_listed_once_with_folders_and_sizes(run):
    tree = tree_of(run)
    paths = [e["path"] for e in tree.entries]
    assert len(paths) == len(set(paths))
    assert [e["path"] for e in tree.entries if e["dir"]] == ["config", "data", "logs", "plots"]
    assert sorted(tree.files) == sorted(
        [
            "bad.json",
            "cell.py",
            "config/params.yaml",
            "config/settings.json",
            "data/t.csv",
            "data/t.tsv",
            "logs/long.log",
            "plots/blank.png",
            "plots/shape.svg",
        ]
    )
    assert {e["path"]: e["size"] for e in tree.entries}["config/params.yaml"] == 5
    assert tree.expanded == ["config", "data", "logs", "plots"]  # small: every folder open
    sizes = {e["path"]: e["size"] for e in tree.entries}
    config = sizes["config/params.yaml"] + sizes["config/settings.json"]
    assert artifacts.folder_sizes(tree.entries)["config"] == (2, config)


# (file chosen, the preview's kind, a check on what it holds)
PREVIEWS = [
    ("cell.py", "text", lambda p: p["text"] == "print('hello')\n"),
    ("config/settings.json", "text", lambda p: json.loads(p["text"]) == {"a": [1, 2]}),
    ("config/params.yaml", "text", lambda p: p["text"] == "a: 1\n"),
    (  # a CSV: its first rows as a table, saying how many there are
        "data/t.csv",
        "table",
        lambda p: (
            p["header"] == ["x", "y"]
            and len(p["rows"]) == previews.PREVIEW_ROWS
            and p["rows"][3] == ["3", "9"]
            and "of 80 rows" in p["note"]
        ),
    ),
    ("data/t.tsv", "table", lambda p: p["rows"] == [["1", "2"]] and "note" not in p),
    ("plots/blank.png", "image", lambda p: p["src"].startswith("data:image/png;base64,")),
    ("plots/shape.svg", "image", lambda p: p["src"].startswith("data:image/svg+xml;base64,")),
    (  # past the text cap: the first bytes, and a note saying so
        "logs/long.log",
        "text",
        lambda p: len(p["text"]) == previews.MAX_TEXT_BYTES and "first 62.5 KiB" in p["note"],
    ),
    ("bad.json", "text", lambda p: p["text"] == "{not json" and "Not valid JSON" in p["note"]),
]


@pytest.mark.parametrize(("path", "kind", "check"), PREVIEWS, ids=[p[0] for p in PREVIEWS])
def test_choosing_a_file_previews_it(run, path, kind, check):
    tree = tree_of(run)
    tree.selected = path
    assert tree.preview["path"] == path and tree.preview["kind"] == kind
    assert check(tree.preview)


def test_binary_and_oversized_images_get_a_note(run, tmp_path, monkeypatch):
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01" * 600)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"0" * 100)
    client = nbtrack.MlflowClient()
    client.log_artifact(run.info.run_id, str(tmp_path / "weights.bin"))
    client.log_artifact(run.info.run_id, str(big))
    monkeypatch.setattr(previews, "MAX_IMAGE_BYTES", 50)
    tree = tree_of(run)
    tree.selected = "weights.bin"
    assert tree.preview["kind"] == "none" and "binary" in tree.preview["note"]
    tree.selected = "big.png"
    assert tree.preview["kind"] == "none" and "over the 50 B shown inline" in tree.preview["note"]


def test_an_mlmodel_shows_flavors_signature_and_how_to_load():
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import nbtrack.sklearn

    frame = pd.DataFrame({"x1": [1.0, 2.0, 3.0]})
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(
            LinearRegression().fit(frame, [1.0, 2.0, 3.0]), name="model", input_example=frame
        )
    tree = tree_of(run)
    (mlmodel,) = [p for p in tree.files if p.endswith("MLmodel")]
    tree.selected = mlmodel
    html = tree.preview["html"]
    assert tree.preview["kind"] == "html"
    assert "sklearn" in html and "Signature inputs" in html and "x1" in html
    assert "nbtrack.pyfunc.load_model(" in html and "flavors:" in html  # and the YAML itself


def test_preview_follows_a_rewritten_file_and_new_files_appear(run):
    tree = tree_of(run)
    tree.selected = "cell.py"
    nbtrack.MlflowClient().log_text(run.info.run_id, "print('changed, longer')\n", "cell.py")
    nbtrack.MlflowClient().log_text(run.info.run_id, "new", "later.txt")
    tree.refresh(run.info.artifact_uri)
    assert tree.preview["text"] == "print('changed, longer')\n"
    assert "later.txt" in tree.files


def test_a_removed_file_says_so(run):
    import shutil
    from pathlib import Path

    tree = tree_of(run)
    shutil.rmtree(Path(tree.store.path("plots")))
    tree.selected = "plots/blank.png"
    assert tree.preview["kind"] == "none" and "cannot be read now" in tree.preview["note"]


# -- downloads ----------------------------------------------------------------------------


def sent_replies(tree: ArtifactTree, monkeypatch) -> list[tuple[dict, list]]:
    replies: list[tuple[dict, list]] = []
    monkeypatch.setattr(
        tree, "send", lambda content, buffers=None: replies.append((content, buffers))
    )
    return replies


def test_download_sends_the_file_bytes_over_the_comm(run, monkeypatch):
    tree = tree_of(run)
    replies = sent_replies(tree, monkeypatch)
    tree._handle_custom_msg({"event": "download", "path": "plots/blank.png"}, [])
    ((reply, buffers),) = replies
    on_disk = tree.store.path("plots/blank.png").read_bytes()
    assert reply == {
        "event": "download",
        "path": "plots/blank.png",
        "name": "blank.png",
        "size": len(on_disk),
    }
    assert buffers == [on_disk]


def test_a_folder_downloads_as_a_zip(run, monkeypatch):
    tree = tree_of(run)
    replies = sent_replies(tree, monkeypatch)
    tree._handle_custom_msg({"event": "download", "path": "config"}, [])
    ((reply, (data,)),) = replies
    assert reply["name"] == "config.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["params.yaml", "settings.json"]
        assert archive.read("params.yaml") == b"a: 1\n"


def test_over_the_download_limit_a_clear_message(run, monkeypatch):
    monkeypatch.setattr(artifacts, "DOWNLOAD_LIMIT", 100)
    tree = tree_of(run)
    replies = sent_replies(tree, monkeypatch)
    tree._handle_custom_msg({"event": "download", "path": "data/t.csv"}, [])
    ((reply, buffers),) = replies
    assert buffers is None
    assert "over the 100 B a panel sends to the browser" in reply["error"]
    assert (
        f"download_artifacts(run_id={run.info.run_id!r}, artifact_path='data/t.csv'"
        in (reply["error"])
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("missing.txt", "cannot be read now"),  # gone (or never there)
        ("../outside.txt", "cannot be read now"),  # climbing out is refused
    ],
)
def test_a_bad_download_request_answers_with_why(run, monkeypatch, path, expected):
    tree = tree_of(run)
    replies = sent_replies(tree, monkeypatch)
    tree._handle_custom_msg({"event": "download", "path": path}, [])
    ((reply, buffers),) = replies
    assert buffers is None and expected in reply["error"]


def test_a_symlink_out_of_the_run_is_not_zipped(run, tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("not an artifact")
    tree = tree_of(run)
    (tree.store.path("config") / "link.txt").symlink_to(secret)
    replies = sent_replies(tree, monkeypatch)
    tree._handle_custom_msg({"event": "download", "path": "config"}, [])
    ((_, (data,)),) = replies
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "link.txt" not in archive.namelist()


def test_a_large_tree_opens_closed_and_says_when_cut(run, monkeypatch):
    monkeypatch.setattr(artifacts, "OPEN_ALL_BELOW", 3)
    monkeypatch.setattr(artifacts, "MAX_ENTRIES", 5)
    tree = tree_of(run)
    assert tree.expanded == [] and len(tree.entries) == 5 and tree.truncated
    assert "Only the first 5 entries" in artifacts.tree_html(tree.entries, tree.truncated)
    monkeypatch.setattr(artifacts, "STATIC_ENTRIES", 2)  # a saved notebook stays small
    html = artifacts.tree_html(tree.entries)
    assert html.count("<li>") == 2 and "Only the first 2 entries" in html

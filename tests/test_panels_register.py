"""Registering a run's model from the panels (nbtrack.panels.register.RegisterModel)."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import RegistryError
from nbtrack.panels import RunDetail, RunTable, show_sweep
from nbtrack.panels.register import RegisterModel, logged_model_paths


def _fit(c: float):
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    return LogisticRegression(C=c).fit(x, np.array([0, 0, 1, 1]))


@pytest.fixture
def sweep():
    """A parent run with three children, each logging a model and an accuracy."""
    with nbtrack.start_run(run_name="search") as parent:
        ids = []
        for i, c in enumerate((0.1, 1.0, 10.0)):
            with nbtrack.start_run(run_name=f"c={c}", nested=True) as child:
                nbtrack.log_param("C", c)
                nbtrack.log_metric("accuracy", 0.8 + 0.05 * i)
                nbtrack.sklearn.log_model(_fit(c), name="model")
                ids.append(child.info.run_id)
    with nbtrack.start_run(run_name="no-model") as bare:
        nbtrack.log_metric("accuracy", 0.5)
    return parent.info.run_id, ids, bare.info.run_id


def test_logged_model_paths(sweep):
    _, ids, bare = sweep
    client = nbtrack.MlflowClient()
    assert logged_model_paths(client, ids[0]) == ["model"]
    assert logged_model_paths(client, bare) == []


def test_register_new_then_existing_name(sweep):
    _, ids, _ = sweep
    form = RegisterModel(ids[2], live=False)
    assert form.model_path.options == ("model",)
    assert form.name.options == ()
    form.name.value = "clf"
    assert "new registered model" in form.status.value
    version = form.register()
    assert (version.name, version.version, version.run_id) == ("clf", "1", ids[2])
    assert form.browser is not None and form.browser.model == "clf"
    assert form.browser.version.version == "1"
    assert "Registered <b>clf</b> version 1" in form.status.value
    second = RegisterModel(ids[1], live=False)
    assert second.name.options == ("clf",)  # the combobox offers the existing names
    assert second.register("clf").version == "2"
    client = nbtrack.MlflowClient()
    assert sorted(v.version for v in client.search_model_versions("name = 'clf'")) == ["1", "2"]


def test_alias_from_the_opened_browser(sweep):
    _, ids, _ = sweep
    form = RegisterModel(ids[2], live=False)
    form.register("clf")
    browser = form.browser
    browser.alias_name.value = "champion"
    browser.ask_alias()
    browser.confirm()
    assert nbtrack.MlflowClient().get_registered_model("clf").aliases == {"champion": "1"}
    assert "@champion" in browser.versions_table.value


@pytest.mark.parametrize(
    ("name", "path", "message"),
    [
        ("", None, "type a model name"),
        ("clf", "nowhere", "has no model at 'nowhere'"),
    ],
)
def test_bad_register_input_is_refused(sweep, name, path, message):
    _, ids, _ = sweep
    form = RegisterModel(ids[0], live=False)
    with pytest.raises(RegistryError, match=message):
        form.register(name, path)
    assert list(nbtrack.MlflowClient().search_registered_models()) == []


def test_a_run_without_a_model(sweep):
    *_, bare = sweep
    form = RegisterModel(bare, live=False)
    assert form.register_button.disabled
    assert "logged no model" in form.heading.value
    form.name.value = "clf"
    form.register_button.click()
    assert "Not registered" in form.status.value and "logged no model" in form.status.value


def test_table_rows_offer_register_and_open_the_form(sweep):
    _, ids, bare = sweep
    table = RunTable(tree=False, live=False)
    flags = {row["id"]: row["models"] for row in table.grid.rows}
    assert flags[ids[0]] and not flags[bare]
    table._on_msg(table.grid, {"action": "register", "run_id": ids[1]}, None)
    form = table.detail.children[1]
    assert isinstance(form, RegisterModel) and form.run_id == ids[1]


def test_run_detail_register_button(sweep):
    _, ids, bare = sweep
    detail = RunDetail(ids[0], live=False)
    assert detail.register_button.layout.display is None
    detail.register_button.click()
    assert detail.register_form is not None
    assert detail.register_form.register("from-detail").version == "1"
    assert RunDetail(bare, live=False).register_button.layout.display == "none"


def test_sweep_table_registers_the_best_run(sweep):
    parent, ids, _ = sweep
    panel = show_sweep(parent, live=False)
    panel.brush("accuracy", 0.88, 1.0)
    assert panel.selected_run_ids == [ids[2]]
    assert panel.table.grid.actions  # the linked table is the full run table
    assert not panel.table.grid.tree_toggle  # listed flat: no "Nest child runs" box
    assert [row["id"] for row in panel.table.grid.rows] == [ids[2]]
    form = panel.table.open_register(ids[2])
    assert form.register("best").run_id == ids[2]

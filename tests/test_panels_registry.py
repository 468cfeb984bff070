"""The registry browser (nbtrack.panels.RegistryBrowser): lists, cards, confirmed actions."""

from __future__ import annotations

import numpy as np
import pytest

import nbtrack
import nbtrack.sklearn
from nbtrack.errors import InvalidState
from nbtrack.panels import RunDetail, openers, show_registry


@pytest.fixture
def registry():
    """Model 'clf' with versions 1 and 2, model 'other' with version 1."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    for name, c in (("clf", 1.0), ("clf", 2.0), ("other", 1.0)):
        with nbtrack.start_run(run_name=f"{name}-{c}"):
            model = LogisticRegression(C=c).fit(x, y)
            nbtrack.sklearn.log_model(model, name="model", registered_model_name=name)
    return nbtrack.MlflowClient()


def test_lists_models_and_versions(registry):
    browser = show_registry(live=False)
    assert browser.model_list.options == ("clf", "other")
    assert browser.version_list.options == (("Version 2", "2"), ("Version 1", "1"))
    assert browser.version.version == "2"
    table = browser.versions_table.value
    assert "clf-2.0" in table and "clf-1.0" in table  # source runs by name
    assert "clf - version 2" in browser.card.value  # the model card, rendered inline


def test_choosing_a_model_and_version(registry):
    browser = show_registry(model="other", live=False)
    assert browser.model == "other" and browser.version_list.options == (("Version 1", "1"),)
    browser.model_list.value = "clf"
    browser.version_list.value = "1"
    assert "clf - version 1" in browser.card.value


def test_set_then_move_an_alias_after_confirmation(registry):
    browser = show_registry(live=False)
    browser.alias_name.value = "champion"
    browser.ask_alias()
    assert "Set alias" in browser.confirm_message.value
    assert registry.get_registered_model("clf").aliases == {}  # nothing written yet
    browser.confirm()
    assert registry.get_registered_model("clf").aliases == {"champion": "2"}
    assert browser.version_list.options[0] == ("Version 2 · @champion", "2")
    browser.version_list.value = "1"
    browser.ask_alias()
    assert "Move alias" in browser.confirm_message.value and "from version 2" in (
        browser.confirm_message.value
    )
    browser.confirm()
    assert registry.get_registered_model("clf").aliases == {"champion": "1"}


def test_transition_a_stage(registry):
    browser = show_registry(live=False)
    browser.stage_choice.value = "Production"
    browser.ask_stage()
    browser.confirm()
    assert registry.get_model_version("clf", "2").current_stage == "Production"
    browser.version_list.value = "1"
    browser.archive_others.value = True
    browser.ask_stage()
    assert "archive the other versions" in browser.confirm_message.value
    browser.confirm()
    assert registry.get_model_version("clf", "2").current_stage == "Archived"
    assert registry.get_model_version("clf", "1").current_stage == "Production"


def test_edit_description_and_card_section(registry):
    browser = show_registry(live=False)
    browser.description.value = "The second try."
    browser.ask_description()
    browser.confirm()
    assert registry.get_model_version("clf", "2").description == "The second try."
    browser.section_choice.value = "limitations"
    browser.section_text.value = "Trained on four points."
    browser.ask_section()
    browser.confirm()
    assert nbtrack.model_card("clf", 2).sections == {"limitations": "Trained on four points."}
    assert "Trained on four points." in browser.card.value


def test_cancel_writes_nothing(registry):
    browser = show_registry(live=False)
    browser.description.value = "not saved"
    browser.ask_description()
    browser.cancel()
    assert registry.get_model_version("clf", "2").description is None
    assert "Cancelled" in browser.status.value
    assert browser.confirm_bar.layout.display == "none"


def test_a_refused_action_says_why_and_changes_nothing(registry):
    browser = show_registry(live=False)
    browser.alias_name.value = "not an alias!"
    browser.ask_alias()
    browser.confirm()
    assert "Not changed" in browser.status.value and "alias" in browser.status.value
    assert registry.get_registered_model("clf").aliases == {}


def test_refresh_keeps_what_the_user_is_typing(registry):
    browser = show_registry(live=False)
    browser.description.value = "half-typed"
    registry.set_registered_model_alias("clf", "prod", 2)  # a write from elsewhere
    browser.refresh()
    assert browser.description.value == "half-typed"
    assert browser.version_list.options[0] == ("Version 2 · @prod", "2")


def test_empty_registry():
    browser = show_registry(live=False)
    assert browser.model_list.options == () and "No registered model" in browser.card.value
    assert browser.actions.layout.display == "none"


def test_static_renderings(registry):
    browser = show_registry(live=False)
    bundle = browser._repr_mimebundle_()
    assert "clf" in bundle["text/html"] and "other" in bundle["text/html"]
    assert bundle["text/plain"].startswith("Model registry")


@pytest.mark.parametrize(
    "name",
    [
        "it's",  # a single quote: the filter quotes with "
        'say "hi"',  # double quotes: the filter quotes with '
        'it\'s "both"',  # both: no filter string can hold it
    ],
)
def test_names_with_quotes(name):
    client = nbtrack.MlflowClient()
    client.create_registered_model(name)
    with nbtrack.start_run() as run:
        nbtrack.log_text("x", "model/MLmodel")
    client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    browser = show_registry(model=name, live=False)
    assert browser.model == name and browser.version_list.options == (("Version 1", "1"),)


def test_versions_table_shows_source_run_metrics_aliases_first():
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    for c, accuracy in ((1.0, 0.91), (2.0, 0.95)):
        with nbtrack.start_run(run_name=f"c{c}"):
            nbtrack.log_metrics({"accuracy": accuracy, "fit_time": c, "only_here": c})
            model = LogisticRegression(C=c).fit(x, y)
            nbtrack.sklearn.log_model(model, name="model", registered_model_name="m")
    nbtrack.MlflowClient().set_registered_model_alias("m", "champion", "2")
    html = show_registry(live=False).versions_table.value
    header = html[: html.index("</tr>")]
    order = [
        "Version",
        "Aliases",
        "accuracy",
        "only_here",
        "fit_time",
        "Source run",
        "Stage (deprecated)",
    ]
    assert [header.index(f">{h}<") for h in order] == sorted(header.index(f">{h}<") for h in order)
    assert "0.95" in html and "0.91" in html


def test_source_run_is_a_link_that_opens_the_run_detail(registry):
    browser = show_registry(live=False)
    run_id = browser.version.run_id
    assert f'data-run="{run_id}"' in browser.versions_table.value
    assert "data-run" not in browser.static_html()  # the static form has nothing to click
    # a click on the link in the browser sends this message
    browser.versions_table._on_msg(
        browser.versions_table, {"action": "open_run", "run_id": run_id}, []
    )
    close, detail = browser.opened.children
    assert isinstance(detail, RunDetail) and detail.run_id == run_id
    assert browser.opened.layout.display is None
    close.click()
    assert browser.opened.children == () and browser.opened.layout.display == "none"


def test_an_opener_of_an_unknown_kind_names_the_known_ones():
    with pytest.raises(InvalidState, match=r"no panel opens 'dataset' views.*run"):
        openers.open_panel("dataset", "x")

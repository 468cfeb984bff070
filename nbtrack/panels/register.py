"""Register a run's model from the UI: pick the model, a new or existing name, register.

The form lists the models the run logged (``mlflow.log-model.history``, else the run's
``MLmodel`` folders) and offers the registered model names as completions of the name
box. Registering creates the model when the name is new, then its next version through
the client, and opens the registry browser on that version below the form, where an
alias can be set.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import ipywidgets

from nbtrack import tag_keys
from nbtrack.artifacts import LocalArtifacts
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion
from nbtrack.errors import NbtrackError, RegistryError
from nbtrack.panels import static
from nbtrack.panels.base import Panel
from nbtrack.panels.registry import MAX_MODELS, RegistryBrowser

MAX_FOLDERS = 200  # artifact folders looked into for MLmodel files when the tag is absent


def logged_model_paths(client: MlflowClient, run_id: str) -> list[str]:
    """The artifact paths of the models a run logged, in logging order.

    Read from the run's ``mlflow.log-model.history`` tag; a run without it (a model
    saved into the artifacts by hand) is searched for ``MLmodel`` files instead.
    """
    run = client.get_run(run_id)
    history = run.data.tags.get(tag_keys.LOGGED_MODELS)
    paths: list[str] = []
    if history:
        try:
            entries = json.loads(history)
        except ValueError:
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            path = entry.get("artifact_path") if isinstance(entry, dict) else None
            if isinstance(path, str) and path not in paths:
                paths.append(path)
    return paths or _mlmodel_folders(run.info.artifact_uri)


def _mlmodel_folders(artifact_uri: str) -> list[str]:
    store = LocalArtifacts(artifact_uri)
    found: list[str] = []
    pending: list[str | None] = [None]
    seen = 0
    while pending and seen < MAX_FOLDERS:
        folder = pending.pop(0)
        seen += 1
        try:
            entries = store.list_artifacts(folder)
        except Exception:  # an unreadable or vanished folder holds no model to offer
            continue
        for entry in entries:
            if entry.is_dir:
                pending.append(entry.path)
            elif PurePosixPath(entry.path).name == "MLmodel" and folder:
                found.append(folder)
    return found


class RegisterModel(Panel):
    """The "Register model" form of one run, with the registry browser it opens.

    Parameters
    ----------
    run_id
        The run whose model is registered.
    client
        The client to read and write through (default: current tracking URI).
    live
        Refresh the names offered when the registry changes (default True).

    Examples
    --------
    >>> form = RegisterModel(run_id)            # doctest: +SKIP
    >>> version = form.register("iris-classifier")
    >>> form.browser.model                      # the browser opened on the new version
    'iris-classifier'
    """

    def __init__(self, run_id: str, client: MlflowClient | None = None, live: bool = True):
        client = client or MlflowClient()
        self.run = client.get_run(run_id)  # unknown ids fail here, before any widget
        self.run_id = run_id
        self.registered: ModelVersion | None = None
        self.browser: RegistryBrowser | None = None
        self._live = live
        self.heading = ipywidgets.HTML()
        self.model_path = ipywidgets.Dropdown(description="Model", layout={"width": "22em"})
        self.name = ipywidgets.Combobox(
            placeholder="new or existing model name",
            ensure_option=False,
            description="Name",
            layout={"width": "26em"},
        )
        self.register_button = ipywidgets.Button(
            description="Register", icon="plus", button_style="primary"
        )
        self.status = ipywidgets.HTML()
        self.browser_box = ipywidgets.VBox()
        self.name.add_class("nbtrack-register-name")
        self.register_button.add_class("nbtrack-register-button")
        super().__init__(client=client, live=live)
        self._frame(
            self.heading,
            ipywidgets.HBox(
                [self.model_path, self.name, self.register_button],
                layout={"flex_flow": "row wrap", "align_items": "center"},
            ),
            self.status,
            self.browser_box,
        )
        self.add_class("nbtrack-register")
        self.register_button.on_click(self.callback(lambda _: self._on_register()))
        self.name.observe(self.callback(lambda _: self._describe_name()), names=["value"])

    # -- reading ----------------------------------------------------------------------

    def _update(self) -> None:
        self.run = self.client.get_run(self.run_id)
        paths = logged_model_paths(self.client, self.run_id)
        if list(self.model_path.options) != paths:
            current = self.model_path.value
            self.model_path.options = paths
            self.model_path.value = current if current in paths else (paths[0] if paths else None)
        names = self.existing_names()
        if list(self.name.options) != names:
            self.name.options = names
        self.model_path.disabled = self.register_button.disabled = not paths
        title = f"Register a model of run {self.run.info.run_name}"
        heading = static.heading(title, f"{len(paths)} logged model{'s' * (len(paths) != 1)}")
        if not paths:
            heading += (
                '<p style="color:#6b7280">This run logged no model: log one with '
                "<code>nbtrack.sklearn.log_model(model, name)</code> to register it."
                "</p>"
            )
        if self.heading.value != heading:
            self.heading.value = heading

    def existing_names(self) -> list[str]:
        """The names of the registered models, sorted."""
        found = self.client.search_registered_models(max_results=MAX_MODELS)
        return sorted(m.name for m in found)

    def _describe_name(self) -> None:
        name = self.name.value.strip()
        if not name or self.registered is not None:
            return
        if name in self.name.options:
            self.status.value = (
                f'<span style="color:#6b7280">A new version of <b>{static.esc(name)}</b>.</span>'
            )
        else:
            self.status.value = (
                f'<span style="color:#6b7280">A new registered model '
                f"<b>{static.esc(name)}</b>, version 1.</span>"
            )

    # -- registering ------------------------------------------------------------------

    def register(self, name: str | None = None, model_path: str | None = None) -> ModelVersion:
        """Register the chosen model as the next version of ``name`` (created if new).

        Parameters
        ----------
        name
            A registered model's name, new or existing (default: the name box).
        model_path
            The model's artifact path in the run (default: the model chosen).

        Returns
        -------
        ModelVersion
            The new version; the registry browser below the form shows it.

        Raises
        ------
        RegistryError
            If the run logged no model, the path is not one of its models, or no name is
            given.
        """
        name = (self.name.value if name is None else name).strip()
        path = self.model_path.value if model_path is None else model_path
        if not path:
            raise RegistryError(
                f"run {self.run_id} logged no model to register; log one with "
                "nbtrack.sklearn.log_model(model, name) first"
            )
        if path not in self.model_path.options:
            raise RegistryError(
                f"run {self.run_id} has no model at {path!r}; its models are "
                f"{', '.join(map(repr, self.model_path.options))}"
            )
        if not name:
            raise RegistryError("type a model name (a new one or an existing one) to register")
        if name not in self.existing_names():
            self.client.create_registered_model(name)
        version = self.client.create_model_version(
            name, f"runs:/{self.run_id}/{path}", run_id=self.run_id
        )
        self.registered = version
        self.name.value = name
        self.status.value = (
            f'<span style="color:#15803d">Registered <b>{static.esc(name)}</b> version '
            f"{static.esc(version.version)} from <code>runs:/{static.esc(self.run_id)}/"
            f"{static.esc(path)}</code>. Set an alias in the registry below.</span>"
        )
        self._show_browser(version)
        self.refresh()
        return version

    def _on_register(self) -> None:
        try:
            self.register()
        except NbtrackError as exc:
            self.status.value = (
                f'<span style="color:#b91c1c">Not registered: {static.esc(exc)}</span>'
            )

    def _show_browser(self, version: ModelVersion) -> None:
        if self.browser is not None:
            self.browser.close()
        self.browser = RegistryBrowser(model=version.name, client=self.client, live=self._live)
        self.browser.version_list.value = version.version
        self.browser_box.children = (self.browser,)

    # -- static rendering -------------------------------------------------------------

    def static_html(self) -> str:
        """What was registered, as HTML."""
        return '<div class="nbtrack-static">' + self.heading.value + self.status.value + "</div>"

    def static_text(self) -> str:
        """What was registered, as text."""
        done = self.registered
        if done is None:
            return f"Register a model of run {self.run.info.run_name} ({self.run_id})"
        return f"Registered {done.name} version {done.version} from run {self.run_id}"

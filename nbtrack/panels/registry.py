"""The registry browser: models, versions, model cards, and confirmed actions.

The selected version's model card is rendered inline. Actions (set or move an alias,
transition a stage, edit the description or a card section) each ask for confirmation,
then write through the same client API a user would call. A version can be served on a
local port (``serve_action``), and its source run opens in a run detail below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets

from nbtrack.cards import SECTIONS, model_card
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import NbtrackError, RegistryError
from nbtrack.panels import openers, static
from nbtrack.panels.base import Panel
from nbtrack.panels.serve_action import ServeAction
from nbtrack.panels.versions_table import VersionsTable, versions_html
from nbtrack.registry import ACTIVE_STAGES, STAGES

MAX_MODELS = 1000


class RegistryBrowser(Panel):
    """Registered models and their versions, with model cards and confirmed actions.

    Parameters
    ----------
    model
        The registered model selected first (default: the first by name).
    client
        The client to read and write through (default: current tracking URI).
    live
        Refresh when the store changes (default True).
    """

    def __init__(
        self, model: str | None = None, client: MlflowClient | None = None, live: bool = True
    ):
        self.models: list[RegisteredModel] = []
        self.versions: list[ModelVersion] = []
        self.model_list = ipywidgets.Select(rows=10, layout={"width": "18em"})
        self.version_list = ipywidgets.Select(rows=10, layout={"width": "26em"})
        self.versions_table = VersionsTable()
        self.opened = ipywidgets.VBox(layout={"display": "none", "margin": "8px 0 0 0"})
        self.opened.add_class("nbtrack-subpanel")
        self.card = ipywidgets.HTML(
            layout={
                "max_height": "40em",
                "overflow": "auto",
                "border": "1px solid #e5e7eb",
                "padding": "0 12px",
            }
        )
        self.status = ipywidgets.HTML()
        self._pending: Callable[[], str] | None = None
        self._syncing = False  # set while _update moves the lists: their observers wait
        self._filled_for: tuple[str, str] | None = None  # the version the text boxes hold
        self._wanted_model = model
        client = client or MlflowClient()
        self._build_actions(client.tracking_uri)
        super().__init__(client=client, live=live)
        lists = ipywidgets.HBox(
            [
                _titled("Registered models", self.model_list),
                _titled("Versions", self.version_list),
            ]
        )
        left = ipywidgets.VBox(
            [
                lists,
                self.versions_table,
                ipywidgets.HTML(static.heading("Actions on the selected version")),
                self.actions,
                self.confirm_bar,
                self.status,
            ]
        )
        right = ipywidgets.VBox(
            [ipywidgets.HTML(static.heading("Model card")), self.card],
            layout={"flex": "1 1 28em", "min_width": "24em"},
        )
        self._frame(
            ipywidgets.HTML(static.heading("Model registry")),
            ipywidgets.HBox(
                [left, right],
                layout={"flex_flow": "row wrap", "grid_gap": "0 32px", "align_items": "flex-start"},
            ),
            self.opened,
        )
        self.versions_table.on_run_click(self.callback(self.open_run))
        self.model_list.observe(self.callback(self._on_model), names=["value"])
        self.version_list.observe(self.callback(self._on_version), names=["value"])

    # -- widgets ----------------------------------------------------------------------

    def _build_actions(self, tracking_uri: str) -> None:
        self.alias_name = ipywidgets.Text(
            placeholder="alias, e.g. champion", layout={"width": "14em"}
        )
        self.alias_button = ipywidgets.Button(description="Set alias", icon="tag")
        self.stage_choice = ipywidgets.Dropdown(
            options=STAGES, value="Staging", layout={"width": "10em"}
        )
        self.archive_others = ipywidgets.Checkbox(
            value=False,
            indent=False,
            description="archive the other versions in that stage",
            layout={"width": "auto", "margin": "0 12px"},
        )
        self.stage_button = ipywidgets.Button(description="Transition", icon="exchange")
        self.description = ipywidgets.Textarea(
            placeholder="Version description", layout={"width": "26em", "height": "4em"}
        )
        self.description_button = ipywidgets.Button(description="Save description", icon="save")
        self.section_choice = ipywidgets.Dropdown(
            options=[(title, key) for key, title in SECTIONS.items()], layout={"width": "16em"}
        )
        self.section_text = ipywidgets.Textarea(
            placeholder="Markdown for this card section", layout={"width": "26em", "height": "6em"}
        )
        self.section_button = ipywidgets.Button(description="Save section", icon="save")
        self.actions = ipywidgets.VBox(
            [
                ipywidgets.HBox(
                    [
                        ipywidgets.Label("Alias", layout={"width": "7em"}),
                        self.alias_name,
                        self.alias_button,
                    ]
                ),
                ipywidgets.HBox(
                    [
                        ipywidgets.Label("Stage", layout={"width": "7em"}),
                        self.stage_choice,
                        self.archive_others,
                        self.stage_button,
                    ]
                ),
                ipywidgets.HBox(
                    [
                        ipywidgets.Label("Description", layout={"width": "7em"}),
                        self.description,
                        self.description_button,
                    ]
                ),
                ipywidgets.HBox(
                    [
                        ipywidgets.Label("Card section", layout={"width": "7em"}),
                        ipywidgets.VBox([self.section_choice, self.section_text]),
                        self.section_button,
                    ]
                ),
            ]
        )
        self.confirm_message = ipywidgets.HTML()
        self.confirm_button = ipywidgets.Button(description="Confirm", button_style="primary")
        self.cancel_button = ipywidgets.Button(description="Cancel")
        self.confirm_bar = ipywidgets.HBox(
            [self.confirm_message, self.confirm_button, self.cancel_button],
            layout={"display": "none", "align_items": "center"},
        )
        self.alias_button.on_click(self.callback(lambda _: self.ask_alias()))
        self.stage_button.on_click(self.callback(lambda _: self.ask_stage()))
        self.description_button.on_click(self.callback(lambda _: self.ask_description()))
        self.section_button.on_click(self.callback(lambda _: self.ask_section()))
        self.confirm_button.on_click(self.callback(lambda _: self.confirm()))
        self.cancel_button.on_click(self.callback(lambda _: self.cancel()))
        self.section_choice.observe(self.callback(lambda _: self._fill_section()), names=["value"])
        self._build_serve_action(tracking_uri)

    def _build_serve_action(self, tracking_uri: str) -> None:
        """The Serve button: the selected version behind a local scoring server."""
        self.serving = ServeAction(tracking_uri)
        self.serve_button, self.serve_status = self.serving.button, self.serving.status
        self.actions.children += (
            ipywidgets.HBox(
                [ipywidgets.Label("Serving", layout={"width": "7em"}), self.serve_button]
            ),
            self.serving,
        )
        self.serve_button.on_click(self.callback(lambda _: self.toggle_serving()))

    @property
    def server(self) -> Any:
        """The ``nbtrack.serving.ModelServer`` the Serve action started, if it runs."""
        return self.serving.server

    # -- reading ----------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The selected registered model's name."""
        return self.model_list.value

    @property
    def version(self) -> ModelVersion | None:
        """The selected model version."""
        wanted = self.version_list.value
        return next((v for v in self.versions if v.version == wanted), None)

    def _update(self) -> None:
        self._syncing = True
        try:
            self._read()
        finally:
            self._syncing = False
        self._on_version()

    def _read(self) -> None:
        self.models = list(self.client.search_registered_models(max_results=MAX_MODELS))
        names = [m.name for m in self.models]
        self.model_list.rows = min(max(len(names), 3), 10)
        if list(self.model_list.options) != names:
            current = self.model_list.value or self._wanted_model
            self.model_list.options = names
            self.model_list.value = current if current in names else (names[0] if names else None)
        name = self.model_list.value
        self.versions = _versions(self.client, name) if name else []
        options = [(_version_label(v), v.version) for v in self.versions]
        self.version_list.rows = min(max(len(options), 3), 10)
        if list(self.version_list.options) != options:
            current = self.version_list.value
            keys = [v.version for v in self.versions]
            self.version_list.options = options
            self.version_list.value = current if current in keys else (keys[0] if keys else None)
        self.versions_table.show(self.client, self.versions)

    def _on_model(self, _change: Any = None) -> None:
        if not self._syncing:
            self.refresh()

    def _on_version(self, _change: Any = None) -> None:
        if self._syncing:
            return
        version = self.version
        key = (version.name, version.version) if version else None
        if key != self._filled_for:  # a refresh never overwrites what the user is typing
            self._filled_for = key
            self.description.value = (version.description or "") if version else ""
            self._fill_section()
        self._draw_card()

    def _card(self) -> Any:
        version = self.version
        return model_card(version.name, version.version, client=self.client) if version else None

    def _draw_card(self) -> None:
        card = self._card()
        empty = "No registered model yet: register one with nbtrack.register_model()."
        _set(self.card, card.to_html() if card else f'<p style="color:#6b7280">{empty}</p>')
        self.actions.layout.display = None if card else "none"

    def _fill_section(self) -> None:
        card = self._card()
        self.section_text.value = card.sections.get(self.section_choice.value, "") if card else ""

    # -- actions: ask, then confirm ---------------------------------------------------

    def _ask(self, message: str, action: Callable[[], str]) -> None:
        self._pending = action
        self.confirm_message.value = f'<span style="margin-right:12px">{message}</span>'
        self.confirm_bar.layout.display = "flex"
        self.status.value = ""

    def ask_alias(self) -> None:
        """Ask to point the alias typed in the alias box at the selected version."""
        version, alias = self._selected(), self.alias_name.value.strip()
        model = self.client.get_registered_model(version.name)
        current = model.aliases.get(alias)
        where = f"from version {static.esc(current)} " if current else ""
        verb = "Move" if current else "Set"
        self._ask(
            f"{verb} alias <b>@{static.esc(alias)}</b> of {static.esc(version.name)} "
            f"{where}to version {static.esc(version.version)}?",
            lambda: self._run(
                lambda: self.client.set_registered_model_alias(
                    version.name, alias, version.version
                ),
                f"@{alias} → version {version.version}",
            ),
        )

    def ask_stage(self) -> None:
        """Ask to move the selected version to the stage chosen."""
        version, stage = self._selected(), self.stage_choice.value
        archive = self.archive_others.value and stage in ACTIVE_STAGES
        others = " and archive the other versions there" if archive else ""
        self._ask(
            f"Transition {static.esc(version.name)} version {static.esc(version.version)} "
            f"from {static.esc(version.current_stage)} to <b>{static.esc(stage)}</b>{others}?",
            lambda: self._run(
                lambda: self.client.transition_model_version_stage(
                    version.name, version.version, stage, archive_existing_versions=archive
                ),
                f"version {version.version} is now in {stage}",
            ),
        )

    def ask_description(self) -> None:
        """Ask to save the description box as the selected version's description."""
        version, text = self._selected(), self.description.value
        self._ask(
            f"Replace the description of {static.esc(version.name)} version "
            f"{static.esc(version.version)}?",
            lambda: self._run(
                lambda: self.client.update_model_version(
                    version.name, version.version, description=text
                ),
                "description saved",
            ),
        )

    def ask_section(self) -> None:
        """Ask to save the section box into the selected version's model card."""
        version, key, text = self._selected(), self.section_choice.value, self.section_text.value
        label = dict((k, t) for t, k in self.section_choice.options)[key]
        self._ask(
            f"Save the card section <b>{static.esc(label)}</b> of {static.esc(version.name)} "
            f"version {static.esc(version.version)}?",
            lambda: self._run(
                lambda: self._card().set_section(key, text), f"section {label} saved"
            ),
        )

    def confirm(self) -> None:
        """Carry out the action waiting for confirmation."""
        action, self._pending = self._pending, None
        self.confirm_bar.layout.display = "none"
        if action is not None:
            self.status.value = action()

    def cancel(self) -> None:
        """Drop the action waiting for confirmation."""
        self._pending = None
        self.confirm_bar.layout.display = "none"
        self.status.value = '<span style="color:#6b7280">Cancelled: nothing was changed.</span>'

    def toggle_serving(self) -> None:
        """Serve the selected version on a free local port, or stop the server started here."""
        if self.serving.server is not None:
            self.serving.stop()
            return
        version = self._selected()
        self.serving.toggle(version.name, version.version)

    def open_run(self, run_id: str) -> Panel:
        """Open a run's detail below the browser (a version's source run, say)."""
        for widget in self.opened.children:
            widget.close()
        panel = openers.open_panel("run", run_id, client=self.client, live=self.live)
        close = ipywidgets.Button(
            description="Close", icon="times", layout={"width": "auto", "align_self": "flex-end"}
        )
        close.on_click(self.callback(lambda _: self.close_run()))
        self.opened.children = (close, panel)
        self.opened.layout.display = None
        return panel

    def close_run(self) -> None:
        """Close the run detail opened below the browser."""
        for widget in self.opened.children:
            widget.close()
        self.opened.children = ()
        self.opened.layout.display = "none"

    def close(self) -> None:
        """Stop the server started here, then close the panel."""
        self.serving.stop()
        super().close()

    def _run(self, write: Callable[[], Any], done: str) -> str:
        try:
            write()
        except NbtrackError as exc:
            return f'<span style="color:#b91c1c">Not changed: {static.esc(exc)}</span>'
        self.refresh()
        return f'<span style="color:#15803d">Done: {static.esc(done)}.</span>'

    def _selected(self) -> ModelVersion:
        version = self.version
        if version is None:
            raise RegistryError("select a model version first")
        return version

    # -- static rendering -------------------------------------------------------------

    def static_html(self) -> str:
        """Models and the selected model's versions as HTML."""
        rows = [
            (m.name, str(len(self._versions_of(m.name))), m.description or "") for m in self.models
        ]
        return (
            '<div class="nbtrack-static">'
            + static.heading("Model registry")
            + static.html_table(("Model", "Versions", "Description"), rows)
            + (static.heading(f"Versions of {self.model}") if self.model else "")
            + versions_html(self.client, self.versions)
            + "</div>"
        )

    def static_text(self) -> str:
        """Models and the selected model's versions as text."""
        models = static.text_table(
            ("model", "versions"),
            [(m.name, str(len(self._versions_of(m.name)))) for m in self.models],
        )
        versions = static.text_table(
            ("version", "stage", "aliases", "run"),
            [
                (v.version, v.current_stage, " ".join(f"@{a}" for a in v.aliases), v.run_id or "")
                for v in self.versions
            ],
        )
        return f"Model registry\n{models}\n\n{self.model or ''}\n{versions}"

    def _versions_of(self, name: str) -> list[ModelVersion]:
        if name == self.model:
            return self.versions
        return _versions(self.client, name)


def _versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """A model's versions, newest first (the filter grammar has no escapes: pick quotes)."""
    if "'" not in name or '"' not in name:
        quote = '"' if "'" in name else "'"
        found = list(client.search_model_versions(f"name = {quote}{name}{quote}"))
    else:  # both quotes in the name: no filter string can hold it
        found = [v for v in client.search_model_versions() if v.name == name]
    return sorted(found, key=lambda v: -int(v.version))


def _set(widget: ipywidgets.HTML, value: str) -> None:
    if widget.value != value:
        widget.value = value


def _titled(title: str, widget: ipywidgets.Widget) -> ipywidgets.VBox:
    return ipywidgets.VBox([ipywidgets.HTML(f"<b>{static.esc(title)}</b>"), widget])


def _version_label(version: ModelVersion) -> str:
    parts = [f"Version {version.version}"]
    parts += [f"@{a}" for a in version.aliases]
    if version.current_stage and version.current_stage != "None":
        parts.append(version.current_stage)
    return " · ".join(parts)

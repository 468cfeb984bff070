"""The sweep's axis chooser: which params and metrics get an axis, remembered per experiment.

By default every param that varies and every metric but the timings (``mean_fit_time``,
any ``*_time``) is an axis. A person's choices are the differences from that default,
stored as JSON in the experiment's ``nbtrack.panel.sweep_axes`` tag (as the run table keeps
its column choices in ``nbtrack.panel.columns``), keyed like the run table's columns
(``params.alpha``, ``metrics.mean_fit_time``), so every sweep of the experiment opens with
them. Choices about keys a sweep does not have are kept for the sweeps that do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets

from nbtrack.client import MlflowClient

AXES_TAG = "nbtrack.panel.sweep_axes"  # experiment tag: the sweep's axis choices


@dataclass(frozen=True)
class Candidate:
    """A param or metric that can be an axis, and whether it is one by default."""

    key: str  # "params.alpha", "metrics.mean_test_score"
    label: str  # the axis title: the bare key
    default: bool  # shown unless the person hid it (timings: hidden unless asked)

    @property
    def group(self) -> str:
        """``params`` or ``metrics``."""
        return self.key.partition(".")[0]


@dataclass(frozen=True)
class AxisPrefs:
    """A person's differences from the default axes: keys shown and keys hidden."""

    shown: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def wants(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` is an axis under these choices."""
        if candidate.key in self.hidden:
            return False
        return candidate.default or candidate.key in self.shown

    def choose(self, candidates: Sequence[Candidate], chosen: set[str]) -> AxisPrefs:
        """These prefs with the ``candidates`` set as in ``chosen`` (other keys kept)."""
        mine = {c.key for c in candidates}
        shown = [k for k in self.shown if k not in mine]
        hidden = [k for k in self.hidden if k not in mine]
        for c in candidates:
            if c.key in chosen and not c.default:
                shown.append(c.key)
            elif c.key not in chosen and c.default:
                hidden.append(c.key)
        return AxisPrefs(tuple(shown), tuple(hidden))


def load_prefs(client: MlflowClient, experiment_id: str) -> AxisPrefs:
    """The axis choices stored with an experiment; a damaged tag counts as none."""
    text = client.get_experiment(experiment_id).tags.get(AXES_TAG)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return AxisPrefs()
    if not isinstance(found, dict):
        return AxisPrefs()

    def keys(name: str) -> tuple[str, ...]:
        value = found.get(name)
        return tuple(k for k in value if isinstance(k, str)) if isinstance(value, list) else ()

    return AxisPrefs(keys("shown"), keys("hidden"))


def save_prefs(client: MlflowClient, experiment_id: str, prefs: AxisPrefs) -> None:
    """Store the axis choices with the experiment."""
    text = json.dumps({"shown": list(prefs.shown), "hidden": list(prefs.hidden)})
    client.set_experiment_tag(experiment_id, AXES_TAG, text)


class AxisChooser(ipywidgets.VBox):
    """An "Axes" button opening one checkbox per param and metric, timings apart.

    Parameters
    ----------
    on_choice
        Called with the set of keys checked after the person ticks or unticks a box.
    """

    def __init__(self, on_choice: Callable[[set[str]], None]) -> None:
        self._on_choice = on_choice
        self._candidates: list[Candidate] = []
        self._boxes: dict[str, ipywidgets.Checkbox] = {}
        self._quiet = False
        self.button = ipywidgets.ToggleButton(
            description="Axes", icon="columns", tooltip="Choose the axes", value=False
        )
        self.button.add_class("nbtrack-sweep-axes-button")
        self.groups = ipywidgets.VBox(layout={"display": "none", "padding": "4px 0"})
        self.groups.add_class("nbtrack-sweep-axes")
        super().__init__([self.groups])
        self.button.observe(lambda change: self._open(change["new"]), names=["value"])

    def _open(self, shown: bool) -> None:
        self.groups.layout.display = None if shown else "none"

    @property
    def chosen(self) -> set[str]:
        """The keys checked now."""
        return {key for key, box in self._boxes.items() if box.value}

    def offer(self, candidates: Sequence[Candidate], chosen: set[str]) -> None:
        """Show a box per candidate, checked as in ``chosen`` (no callback is made)."""
        self._quiet = True
        try:
            if list(candidates) != self._candidates:
                self._build(list(candidates))
            for key, box in self._boxes.items():
                box.value = key in chosen
        finally:
            self._quiet = False
        self._label()

    def _build(self, candidates: list[Candidate]) -> None:
        for box in self._boxes.values():
            box.close()
        boxes = {
            c.key: ipywidgets.Checkbox(
                description=c.label,
                indent=False,
                layout={"width": "auto", "margin": "0 14px 0 0"},
                tooltip=c.key,
            )
            for c in candidates
        }
        for box in boxes.values():
            box.observe(self._ticked, names=["value"])
        self._candidates, self._boxes = candidates, boxes
        rows = []
        for title, members in (
            ("Params", [c for c in candidates if c.group == "params"]),
            ("Metrics", [c for c in candidates if c.group == "metrics" and c.default]),
            ("Timings", [c for c in candidates if c.group == "metrics" and not c.default]),
        ):
            if members:
                rows.append(
                    ipywidgets.HBox(
                        [
                            ipywidgets.HTML(f"<b>{title}</b>", layout={"width": "6em"}),
                            ipywidgets.HBox(
                                [boxes[c.key] for c in members], layout={"flex_flow": "row wrap"}
                            ),
                        ]
                    )
                )
        self.groups.children = tuple(rows)

    def _ticked(self, _change: object) -> None:
        if not self._quiet:
            self._label()
            self._on_choice(self.chosen)

    def _label(self) -> None:
        total = len(self._boxes)
        self.button.description = f"Axes ({len(self.chosen)} of {total})"

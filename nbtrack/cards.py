"""Model cards: a registered version described from what was tracked, ready for the Hub.

``model_card(name, version_or_alias)`` gathers the facts (``nbtrack.card_facts``) from the
registry, the version's snapshot, its run, the run's dataset inputs, its evaluation runs
and its child-run sweep, and returns a :class:`ModelCard`. The card renders as Markdown
with a YAML front matter that follows the Hugging Face Hub model card metadata
(``library_name``, ``pipeline_tag``, ``tags``, ``datasets``, ``metrics``, ``model-index``),
so ``card.save("README.md")`` is a model repository's README as is. The hand-written parts
(intended use, limitations, ethical considerations) are stored with the version by
``card.set_section``; until written they show as clearly marked placeholders.

Where each fact comes from is documented in ``nbtrack.card_facts``.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack import display, session, tag_keys
from nbtrack.card_facts import CardFacts, DatasetFacts, gather, metric_groups, public_location
from nbtrack.client import MlflowClient
from nbtrack.errors import InvalidParameter
from nbtrack.store.cards import CardStore

if TYPE_CHECKING:
    from nbtrack.entities import Run

SECTIONS = {
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "ethical_considerations": "Ethical considerations",
}
MAX_CELL = 120  # longer parameter values are cut in tables (the run keeps them whole)
_TASK_NAMES = {
    "tabular-classification": "Tabular Classification",
    "tabular-regression": "Tabular Regression",
}


def model_card(
    name: str, version_or_alias: str | int = "latest", *, client: MlflowClient | None = None
) -> ModelCard:
    """The model card of a registered model version.

    Parameters
    ----------
    name
        The registered model.
    version_or_alias
        A version number (``3`` or ``"3"``), an alias (``"champion"`` or ``"@champion"``)
        or ``"latest"`` (the default): the highest version.
    client
        The client of the store to read; the current tracking URI's by default.

    Returns
    -------
    ModelCard
        Render it with ``to_markdown()``, write it with ``save(path)``, or display it in a
        notebook.

    Raises
    ------
    ModelNotFound
        If the model, version or alias does not exist.
    """
    if client is None:
        client = session.client()
    return ModelCard(gather(client, name, version_or_alias), client)


class ModelCard:
    """A model card: Markdown with Hub metadata, rendered inline in notebooks."""

    def __init__(self, facts: CardFacts, client: MlflowClient):
        self._facts = facts
        self._client = client

    @property
    def name(self) -> str:
        """The registered model's name."""
        return self._facts.version.name

    @property
    def version(self) -> str:
        """The version this card describes."""
        return self._facts.version.version

    @property
    def sections(self) -> dict[str, str]:
        """The hand-written sections stored with the version, by key."""
        return dict(self._facts.sections)

    def set_section(self, section: str, text: str) -> None:
        """Write a hand-written section and store it with the version.

        Parameters
        ----------
        section
            ``intended_use``, ``limitations`` or ``ethical_considerations`` (the titles,
            such as ``"Intended use"``, are accepted too).
        text
            Markdown; an empty string removes the section, which shows its placeholder again.
        """
        key = section_key(section)
        if not isinstance(text, str):
            raise InvalidParameter(
                f"section text must be a string of Markdown (found {type(text).__name__})",
                argument="section",
                value=section,
            )
        CardStore(self._client.store.db).set_card_section(self.name, int(self.version), key, text)
        if text:
            self._facts.sections[key] = text
        else:
            self._facts.sections.pop(key, None)

    @property
    def metadata(self) -> dict[str, Any]:
        """The YAML front matter as a dict (Hugging Face Hub model card metadata)."""
        return hub_metadata(self._facts)

    def to_markdown(self) -> str:
        """The whole card: YAML front matter, then the Markdown body."""
        import yaml

        front = yaml.safe_dump(self.metadata, sort_keys=False, allow_unicode=True)
        return f"---\n{front}---\n\n{self.body()}"

    def body(self) -> str:
        """The Markdown body without the front matter."""
        return render_body(self._facts)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the card to a file (``README.md`` for a Hub repository); return its path."""
        target = Path(path)
        target.write_text(self.to_markdown(), encoding="utf-8")
        return target

    def to_html(self) -> str:
        """The body as HTML, with the metadata folded away below it."""
        import yaml
        from markdown_it import MarkdownIt

        renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
        front = yaml.safe_dump(self.metadata, sort_keys=False, allow_unicode=True)
        return (
            '<div class="nbtrack-model-card" style="overflow-wrap:anywhere;max-width:100%">'
            f"{renderer.render(self.body())}"
            "<details><summary>Hugging Face Hub metadata</summary>"
            f"<pre>{html.escape(front)}</pre></details></div>"
        )

    def _repr_markdown_(self) -> str:
        return self.body()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<ModelCard: {self.name} version {self.version}>"


def section_key(section: object) -> str:
    """The stored key of a hand-written section (``"Intended use"`` -> ``intended_use``)."""
    key = "_".join(str(section).lower().replace("-", " ").split())
    if not isinstance(section, str) or key not in SECTIONS:
        raise InvalidParameter(
            f"section must be one of {', '.join(SECTIONS)} (found {section!r})",
            argument="section",
            value=section,
        )
    return key


# -- Hub metadata -----------------------------------------------------------------------


def hub_metadata(facts: CardFacts) -> dict[str, Any]:
    """The front matter: only fields the Hub validates as given here, or none at all."""
    meta: dict[str, Any] = {}
    if facts.library_id:
        meta["library_name"] = facts.library_id
    if facts.license:
        meta["license"] = facts.license
    if facts.task:
        meta["pipeline_tag"] = facts.task
    meta["tags"] = [t for t in (facts.library_id, facts.task, "nbtrack") if t]
    datasets = sorted({d.name for d in facts.datasets})
    if datasets:
        meta["datasets"] = datasets
    results = _hub_results(facts)
    metrics = sorted({m["type"] for r in results for m in r["metrics"]})
    if metrics:
        meta["metrics"] = metrics
    if results:
        meta["model-index"] = [{"name": facts.version.name, "results": results}]
    return meta


def _hub_results(facts: CardFacts) -> list[dict[str, Any]]:
    """model-index results: one per run with metrics, a dataset and a known task.

    The Hub requires task type, dataset type and name, and metric type and value in each
    result; a run lacking one of them is left out (it stays in the Markdown).
    """
    if not facts.task:
        return []
    runs = ([facts.run] if facts.run else []) + facts.evaluation_runs
    results = []
    for run in runs:
        dataset = _main_dataset(facts.run_datasets.get(run.info.run_id, []))
        metrics = [
            {"type": hub_metric_type(key), "value": value, "name": key}
            for key, value in sorted(run.data.metrics.items())
            if math.isfinite(value)
        ]
        if dataset is None or not metrics:
            continue
        hub_dataset = {"type": dataset.name, "name": dataset.name}
        if dataset.context:
            hub_dataset["split"] = dataset.context
        results.append(
            {
                "task": {"type": facts.task, "name": _TASK_NAMES.get(facts.task, facts.task)},
                "dataset": hub_dataset,
                "metrics": metrics,
            }
        )
    return results


def _main_dataset(datasets: list[DatasetFacts]) -> DatasetFacts | None:
    for wanted in ("eval", "evaluation", "test", "validation", "train", "training"):
        for d in datasets:
            if d.context == wanted:
                return d
    return datasets[0] if datasets else None


_HUB_METRICS = (  # (words in an MLflow/sklearn metric name, Hub metric id), first match wins
    (("root", "mean", "squared", "error"), "rmse"),
    (("mean", "squared", "error"), "mse"),
    (("mean", "absolute", "error"), "mae"),
    (("r2",), "r_squared"),
    (("roc", "auc"), "roc_auc"),
    (("log", "loss"), "log_loss"),
    (("accuracy",), "accuracy"),
    (("f1",), "f1"),
    (("precision",), "precision"),
    (("recall",), "recall"),
)


def hub_metric_type(key: str) -> str:
    """The Hub metric id of a metric name (``training_f1_score`` -> ``f1``), else the name."""
    words = set(key.lower().replace("-", "_").split("_"))
    for needed, metric_id in _HUB_METRICS:
        if set(needed) <= words:
            return metric_id
    return key


# -- Markdown body ----------------------------------------------------------------------


def render_body(facts: CardFacts) -> str:
    """Every section of the card, in the issue's layout."""
    parts = [
        _header(facts),
        _general(facts),
        _training(facts),
        _evaluation(facts),
        *(_hand_written(facts, key, title) for key, title in SECTIONS.items()),
    ]
    return "\n\n".join(parts) + "\n"


def _header(facts: CardFacts) -> str:
    mv = facts.version
    aliases = ", ".join(f"`{a}`" for a in mv.aliases) or "none"
    description = mv.description or facts.model.description
    lines = [
        f"### {mv.name} - version {mv.version}",
        "",
        f"**Aliases:** {aliases} · **Stage:** {mv.current_stage}",
        "",
        description.strip()
        if description
        else "*No description yet: set one with "
        f"`MlflowClient().update_model_version({mv.name!r}, {mv.version}, description=...)`.*",
    ]
    return "\n".join(lines)


def _general(facts: CardFacts) -> str:
    mv = facts.version
    run = facts.run
    lineage = f"source `{public_location(mv.source)}`" if mv.source else "source not recorded"
    if run is not None:
        experiment = facts.experiment_name or run.info.experiment_id
        lineage = (
            f"run `{run.info.run_name}` (`{run.info.run_id}`) in experiment "
            f"`{experiment}` (id {run.info.experiment_id}); {lineage}"
        )
    items = [
        ("Developed by", facts.developer or "*not recorded*"),
        ("Model type", facts.model_type.describe() if facts.model_type else "*not recorded*"),
        ("Task", facts.task or "*not recorded*"),
        ("Learning library", facts.library or "*not recorded*"),
        ("Python version", facts.python_version or "*not recorded*"),
        ("Model format", facts.model_format or "*not recorded*"),
        ("Registered", f"{_time(mv.creation_timestamp)} by {mv.user_id or 'unknown'}"),
        ("Lineage", lineage),
    ]
    if facts.trainer and facts.model_type and facts.trainer != facts.model_type.class_path:
        items.insert(2, ("Selected by", f"`{facts.trainer}` (the run's estimator)"))
    if mv.tags:
        items.append(("Tags", ", ".join(f"`{k}={v}`" for k, v in sorted(mv.tags.items()))))
    return "#### General information\n\n" + "\n".join(f"- **{k}:** {v}" for k, v in items)


def _training(facts: CardFacts) -> str:
    run = facts.run
    if run is None:
        return (
            "#### Training details\n\n*No training run is recorded for this version (it was "
            "registered from a path, or its run was removed).*"
        )
    datasets = facts.datasets
    if datasets:
        table = _table(
            ("Name", "Context", "Source", "Digest", "Rows", "Schema"),
            [(d.name, d.context, d.source, d.digest, d.rows, d.schema) for d in datasets],
        )
    else:
        table = "*No dataset was logged with the run (`nbtrack.log_input`).*"
    params = run.data.params
    param_table = (
        _table(("Parameter", "Value"), sorted(params.items()))
        if params
        else "*No parameters were logged.*"
    )
    tags = run.data.tags
    when = [
        ("Started", _time(run.info.start_time)),
        ("Ended", _time(run.info.end_time) if run.info.end_time else "*still running*"),
        ("Duration", _duration(run.info.start_time, run.info.end_time)),
        ("Status", run.info.status),
        ("Source", public_location(tags.get(tag_keys.SOURCE_NAME, "")) or "*not recorded*"),
        ("Git commit", tags.get(tag_keys.GIT_COMMIT, "*not recorded*")),
    ]
    return "\n\n".join(
        [
            "#### Training details",
            "##### Datasets",
            table,
            "##### Parameters",
            param_table,
            "##### Training run",
            "\n".join(f"- **{k}:** {v}" for k, v in when),
        ]
    )


def _evaluation(facts: CardFacts) -> str:
    parts = ["#### Evaluation"]
    groups = metric_groups(facts)
    for group in groups:
        rows = [
            (
                key,
                display.number(value),
                f"{'training' if run is facts.run else 'evaluation'} run `{run.info.run_name}`",
            )
            for key, value, run in group.rows
        ]
        parts += [f"##### {group.title}", _table(("Metric", "Value", "Run"), rows)]
    if not groups:
        parts.append("*No metrics were logged.*")
    if facts.sweep:
        varying = _varying_params(facts.sweep_runs)
        parts += [
            "##### Hyperparameter sweep",
            f"Best value of each metric across the {len(facts.sweep_runs)} child runs of "
            "the training run (the goal is min for losses, errors, ranks, deviations and "
            "times, max otherwise):",
            _table(
                ("Metric", "Best", "Goal", "Child run", "Params"),
                [
                    (
                        b.key,
                        display.number(b.value),
                        b.goal,
                        f"`{_run_label(b.run)}` (`{b.run.info.run_id}`)",
                        ", ".join(f"{k}={b.run.data.params.get(k, '')}" for k in varying),
                    )
                    for b in facts.sweep
                ],
            ),
        ]
    return "\n\n".join(parts)


def _hand_written(facts: CardFacts, key: str, title: str) -> str:
    text = facts.sections.get(key)
    if text:
        return f"#### {title}\n\n{text.strip()}"
    return (
        f"#### {title}\n\n> **To be written.** This section is empty: fill it in with "
        f'`card.set_section("{key}", "...")`.'
    )


def _varying_params(runs: list[Run]) -> list[str]:
    """The params whose value differs between runs: what the sweep explored."""
    keys = sorted({k for r in runs for k in r.data.params})
    return [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]


def _run_label(run: Run) -> str:
    return run.info.run_name or run.info.run_id


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = " ".join(str("" if value is None else value).split())
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _time(ms: int | None) -> str:
    return display.timestamp(ms) if ms is not None else "*not recorded*"


def _duration(start_ms: int, end_ms: int | None) -> str:
    return display.run_duration(start_ms, end_ms) if end_ms is not None else "*still running*"

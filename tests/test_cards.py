"""Model cards: generated from the registry, the run, its datasets, evaluations and sweep."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

import nbtrack
import nbtrack.data
import nbtrack.sklearn
from nbtrack import MlflowClient
from nbtrack.card_facts import public_class_path, public_location
from nbtrack.cards import ModelCard
from nbtrack.errors import InvalidParameter, ModelNotFound


@pytest.fixture
def iris():
    from sklearn.datasets import load_iris

    return load_iris(as_frame=True).frame


def front_matter(markdown: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", markdown, flags=re.S)
    assert match, "the card starts with a YAML front matter"
    return yaml.safe_load(match.group(1))


def sections(markdown: str) -> dict[str, str]:
    """The card split at its #### headings; the part above them is 'header'."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown, flags=re.S)
    head, *rest = re.split(r"^#### ", body, flags=re.M)
    return {"header": head, **{p.split("\n", 1)[0]: p.split("\n", 1)[1] for p in rest}}


def bullets(text: str) -> dict[str, str]:
    return dict(re.findall(r"^- \*\*(.+?):\*\* (.*)$", text, flags=re.M))


def table_rows(text: str, heading: str | None = None) -> list[list[str]]:
    """The data rows of the first Markdown table (after ``heading`` if given)."""
    if heading is not None:
        text = text.split(heading, 1)[1]
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in table[2:]]


# -- a plain estimator, with evaluation runs ------------------------------------------


@pytest.fixture
def plain(iris):
    """LogisticRegression trained in one run, evaluated by a child run and a later run."""
    from sklearn.linear_model import LogisticRegression

    x, y = iris.drop(columns="target"), iris["target"]
    with nbtrack.start_run(run_name="lr-train") as run:
        nbtrack.set_tag("mlflow.source.git.commit", "0123abcd")
        model = LogisticRegression(C=0.5, max_iter=1000).fit(x, y)
        nbtrack.log_params({"C": 0.5, "max_iter": 1000})
        nbtrack.log_metric("training_accuracy_score", 0.96)
        nbtrack.log_input(
            nbtrack.data.from_pandas(iris, source="/data/iris.csv", name="iris", targets="target"),
            context="train",
        )
        info = nbtrack.sklearn.log_model(model, name="model")
        with nbtrack.start_run(run_name="holdout", nested=True):
            nbtrack.set_tag("mlflow.runType", "evaluation")
            nbtrack.log_metric("accuracy", 0.9)
            nbtrack.log_input(
                nbtrack.data.from_pandas(iris.head(30), name="iris-test", targets="target"),
                context="test",
            )
    nbtrack.register_model(info.model_uri, "iris-lr")
    with nbtrack.start_run(run_name="later-check"):
        nbtrack.set_tag("nbtrack.evaluation.model_uri", "models:/iris-lr/1")
        nbtrack.log_metric("f1_score", 0.88)
    return run.info.run_id


def test_plain_estimator_card_section_by_section(plain):
    client = MlflowClient()
    client.set_registered_model_alias("iris-lr", "champion", 1)
    client.transition_model_version_stage("iris-lr", 1, "Production")
    client.update_model_version("iris-lr", 1, description="Classifies iris flowers.")
    card = nbtrack.model_card("iris-lr", "champion")
    markdown = card.to_markdown()
    parts = sections(markdown)
    assert list(parts) == [
        "header",
        "General information",
        "Training details",
        "Evaluation",
        "Intended use",
        "Limitations",
        "Ethical considerations",
    ]

    header = parts["header"].lstrip()
    assert header.startswith("### iris-lr - version 1\n")
    assert "**Aliases:** `champion` · **Stage:** Production" in header
    assert "Classifies iris flowers." in header

    general = bullets(parts["General information"])
    assert general["Developed by"] == client.get_run(plain).data.tags["mlflow.user"]
    assert general["Model type"] == (
        "LogisticRegression (`sklearn.linear_model.LogisticRegression`)"
    )
    assert general["Task"] == "tabular-classification"
    import sklearn

    assert general["Learning library"] == f"scikit-learn {sklearn.__version__}"
    assert re.fullmatch(r"3\.\d+\.\d+", general["Python version"])
    assert general["Model format"] == "python_function, sklearn (skops)"
    assert f"run `lr-train` (`{plain}`) in experiment `Default` (id 0)" in general["Lineage"]
    assert f"source `runs:/{plain}/model`" in general["Lineage"]
    assert "Selected by" not in general

    training = parts["Training details"]
    [dataset] = table_rows(training, "##### Datasets")
    assert dataset[:5] == ["iris", "train", "iris.csv (local)", dataset[3], "150"]
    assert re.fullmatch(r"[0-9a-f]{8}", dataset[3])
    assert dataset[5].startswith("sepal length (cm): double, sepal width (cm): double")
    assert table_rows(training, "##### Parameters") == [["C", "0.5"], ["max_iter", "1000"]]
    when = bullets(training.split("##### Training run", 1)[1])
    assert when["Started"].endswith(" UTC") and when["Ended"].endswith(" UTC")
    assert re.fullmatch(r"\d+ ms|\d+\.\d s", when["Duration"])  # nbtrack.display's form
    assert when["Status"] == "FINISHED"
    assert when["Git commit"] == "0123abcd"
    source = client.get_run(plain).data.tags["mlflow.source.name"]
    assert when["Source"] == Path(source).name  # no absolute local path in a card
    assert "/data/" not in markdown and str(Path.cwd()) not in markdown

    evaluation = parts["Evaluation"]
    # grouped by the data each metric was computed on
    assert re.findall(r"^##### (.*)$", evaluation, re.M) == [
        "Training data (`iris`)",
        "Test data (`iris-test`)",
        "Evaluation data",
    ]
    assert table_rows(evaluation, "##### Training data (`iris`)") == [
        ["training_accuracy_score", "0.96", "training run `lr-train`"]
    ]
    assert table_rows(evaluation, "##### Test data (`iris-test`)") == [
        ["accuracy", "0.9", "evaluation run `holdout`"]
    ]
    assert table_rows(evaluation, "##### Evaluation data") == [
        ["f1_score", "0.88", "evaluation run `later-check`"]
    ]
    assert "Hyperparameter sweep" not in evaluation  # the evaluation child is no sweep

    for title, key in [
        ("Intended use", "intended_use"),
        ("Limitations", "limitations"),
        ("Ethical considerations", "ethical_considerations"),
    ]:
        assert "**To be written.**" in parts[title]
        assert f'card.set_section("{key}", "...")' in parts[title]


def test_front_matter_is_hub_model_card_metadata(plain, tmp_path):
    card = nbtrack.model_card("iris-lr", 1)
    meta = front_matter(card.to_markdown())
    assert meta == card.metadata
    assert meta["library_name"] == "sklearn"
    assert meta["pipeline_tag"] == "tabular-classification"
    assert meta["tags"] == ["sklearn", "tabular-classification", "nbtrack"]
    assert meta["datasets"] == ["iris"]  # what trained it; iris-test is in the model-index
    assert meta["metrics"] == ["accuracy"]
    task = {"type": "tabular-classification", "name": "Tabular Classification"}
    assert meta["model-index"] == [
        {
            "name": "iris-lr",
            "results": [
                {
                    "task": task,
                    "dataset": {"type": "iris", "name": "iris", "split": "train"},
                    "metrics": [
                        {"type": "accuracy", "value": 0.96, "name": "training_accuracy_score"}
                    ],
                },
                {
                    "task": task,
                    "dataset": {"type": "iris-test", "name": "iris-test", "split": "test"},
                    "metrics": [{"type": "accuracy", "value": 0.9, "name": "accuracy"}],
                },
            ],
        }
    ]
    # the Hub's own parser reads the saved README, model-index included
    from huggingface_hub import ModelCard as HubModelCard

    readme = card.save(tmp_path / "README.md")
    parsed = HubModelCard.load(readme, ignore_metadata_errors=False)
    assert parsed.data.library_name == "sklearn"
    assert [(r.dataset_name, r.metric_type, r.metric_value) for r in parsed.data.eval_results] == [
        ("iris", "accuracy", 0.96),
        ("iris-test", "accuracy", 0.9),
    ]
    assert parsed.text.lstrip().startswith("### iris-lr - version 1")


def test_license_and_author_tags_reach_the_card(plain):
    client = MlflowClient()
    client.set_registered_model_tag("iris-lr", "license", "mit")
    client.set_model_version_tag("iris-lr", 1, "author", "Ada Lovelace")
    card = nbtrack.model_card("iris-lr", 1)
    assert card.metadata["license"] == "mit"
    assert bullets(sections(card.to_markdown())["General information"])["Developed by"] == (
        "Ada Lovelace"
    )


# -- a pipeline -----------------------------------------------------------------------


def _log_pipeline(iris, serialization_format: str) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = iris.drop(columns="target"), iris["target"]
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(x, y)
    with nbtrack.start_run(run_name="pipe"):
        # the tags and params autolog records for a Pipeline, as MLflow's autolog does
        nbtrack.set_tags(
            {"estimator_name": "Pipeline", "estimator_class": "sklearn.pipeline.Pipeline"}
        )
        nbtrack.log_params({"steps": str(pipe.steps), "clf__C": 1.0})
        nbtrack.log_metric("training_score", pipe.score(x, y))
        info = nbtrack.sklearn.log_model(
            pipe, name="model", serialization_format=serialization_format
        )
    return nbtrack.register_model(info.model_uri, f"pipe-{serialization_format}").name


@pytest.mark.parametrize(
    "serialization_format",
    [
        "skops",  # the model type is read from the skops file's schema, without loading it
        "pickle",  # nothing readable without unpickling: autolog's tags and params instead
    ],
)
def test_pipeline_card_lists_the_steps(iris, serialization_format):
    name = _log_pipeline(iris, serialization_format)
    general = bullets(sections(nbtrack.model_card(name, 1).to_markdown())["General information"])
    assert general["Model type"] == "Pipeline: `scale` StandardScaler → `clf` LogisticRegression"
    assert general["Task"] == "tabular-classification"
    assert general["Model format"] == f"python_function, sklearn ({serialization_format})"


def test_pipeline_card_without_a_dataset_has_no_model_index(iris):
    name = _log_pipeline(iris, "skops")
    card = nbtrack.model_card(name, 1)
    meta = card.metadata
    assert "model-index" not in meta and "datasets" not in meta  # the Hub requires a dataset
    training = sections(card.to_markdown())["Training details"]
    assert "*No dataset was logged with the run (`nbtrack.log_input`).*" in training


# -- a grid-search parent with child runs ---------------------------------------------

SWEEP = [  # (C, mean_test_score, std_test_score, rank_test_score, mean_fit_time)
    (0.1, 0.90, 0.030, 3, 0.012),
    (1.0, 0.97, 0.020, 1, 0.015),
    (10.0, 0.95, 0.010, 2, 0.011),
]


@pytest.fixture
def grid_search(iris):
    """A GridSearchCV parent run, one child run per candidate, the best estimator logged."""
    from sklearn.linear_model import LogisticRegression

    x, y = iris.drop(columns="target"), iris["target"]
    children = {}
    with nbtrack.start_run(run_name="search") as parent:
        nbtrack.set_tags(
            {
                "estimator_name": "GridSearchCV",
                "estimator_class": "sklearn.model_selection._search.GridSearchCV",
            }
        )
        nbtrack.log_params({"estimator": "LogisticRegression(max_iter=1000)", "best_C": 1.0})
        nbtrack.log_metric("best_cv_score", 0.97)
        nbtrack.log_input(nbtrack.data.from_pandas(iris, name="iris", targets="target"))
        for c, mean, std, rank, fit_time in SWEEP:
            with nbtrack.start_run(run_name=f"C={c}", nested=True) as child:
                nbtrack.log_params({"C": c, "max_iter": 1000})  # max_iter is not swept
                nbtrack.log_metrics(
                    {
                        "mean_test_score": mean,
                        "std_test_score": std,
                        "rank_test_score": rank,
                        "mean_fit_time": fit_time,
                    }
                )
                children[c] = child.info.run_id
        best = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        info = nbtrack.sklearn.log_model(best, name="best_estimator")
    nbtrack.register_model(info.model_uri, "iris-search")
    return parent.info.run_id, children


def test_grid_search_card_gives_the_best_child_per_metric(grid_search):
    parent, children = grid_search
    parts = sections(nbtrack.model_card("iris-search", "1").to_markdown())
    general = bullets(parts["General information"])
    assert general["Model type"] == (
        "LogisticRegression (`sklearn.linear_model.LogisticRegression`)"
    )
    assert f"run `search` (`{parent}`)" in general["Lineage"]
    assert general["Selected by"] == (
        "`sklearn.model_selection.GridSearchCV` (the run's estimator)"
    )
    evaluation = parts["Evaluation"]
    assert table_rows(evaluation, "##### Data not stated") == [
        ["best_cv_score", "0.97", "training run `search`"]
    ]
    assert "Best value of each metric across the 3 child runs" in evaluation
    assert table_rows(evaluation, "##### Hyperparameter sweep") == [
        ["mean_fit_time", "0.011", "min", f"`C=10.0` (`{children[10.0]}`)", "C=10.0"],
        ["mean_test_score", "0.97", "max", f"`C=1.0` (`{children[1.0]}`)", "C=1.0"],
        ["rank_test_score", "1", "min", f"`C=1.0` (`{children[1.0]}`)", "C=1.0"],
        ["std_test_score", "0.01", "min", f"`C=10.0` (`{children[10.0]}`)", "C=10.0"],
    ]
    # the dataset had no context: the result names no split
    [result] = nbtrack.model_card("iris-search", 1).metadata["model-index"][0]["results"]
    assert result["dataset"] == {"type": "iris", "name": "iris"}
    assert result["metrics"] == [{"type": "best_cv_score", "value": 0.97, "name": "best_cv_score"}]


# -- editable sections, rendering, lookups --------------------------------------------


def test_set_section_persists_with_the_version(plain):
    card = nbtrack.model_card("iris-lr", 1)
    card.set_section("limitations", "Trained on **150** flowers only.")
    card.set_section("Intended use", "Teaching.")
    assert sections(card.to_markdown())["Limitations"].strip() == "Trained on **150** flowers only."
    again = nbtrack.model_card("iris-lr", 1)  # read back from the store
    parts = sections(again.to_markdown())
    assert parts["Limitations"].strip() == "Trained on **150** flowers only."
    assert parts["Intended use"].strip() == "Teaching."
    assert "**To be written.**" in parts["Ethical considerations"]
    assert again.sections == {
        "limitations": "Trained on **150** flowers only.",
        "intended_use": "Teaching.",
    }
    again.set_section("limitations", "")  # back to the placeholder
    assert (
        "**To be written.**"
        in sections(nbtrack.model_card("iris-lr", 1).to_markdown())["Limitations"]
    )


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ("caveats", "x"),  # not one of the three sections
        ("", "x"),  # empty
        (None, "x"),  # not a string
        ("limitations", 5),  # the text is not a string
    ],
)
def test_set_section_refuses_bad_input_and_stores_nothing(plain, section, text):
    card = nbtrack.model_card("iris-lr", 1)
    with pytest.raises(InvalidParameter):
        card.set_section(section, text)
    assert MlflowClient().store.db.query("SELECT * FROM model_card_sections") == []


def test_sections_go_with_a_deleted_version(plain):
    nbtrack.model_card("iris-lr", 1).set_section("limitations", "x")
    MlflowClient().delete_model_version("iris-lr", 1)
    assert MlflowClient().store.db.query("SELECT * FROM model_card_sections") == []


def test_notebook_rendering(plain):
    card = nbtrack.model_card("iris-lr", 1)
    card.set_section("limitations", "Beware of <script>alert(1)</script> | pipes")
    assert isinstance(card, ModelCard)
    markdown = card._repr_markdown_()
    assert markdown.startswith("### iris-lr - version 1") and "---\nlibrary_name" not in markdown
    page = card._repr_html_()
    assert "<h3>iris-lr - version 1</h3>" in page
    assert "<table>" in page and "<th>Metric</th>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # user text is escaped
    assert "<summary>Hugging Face Hub metadata</summary>" in page
    assert "library_name: sklearn" in page
    assert repr(card) == "<ModelCard: iris-lr version 1>"


@pytest.mark.parametrize(
    "ref",
    [
        1,  # a version number
        "2",  # a version number as text
        "champion",  # an alias
        "@champion",  # an alias written as in models:/name@alias
        "latest",  # the highest version
    ],
)
def test_version_or_alias_forms(plain, ref):
    uri = MlflowClient().get_model_version("iris-lr", 1).source
    nbtrack.register_model(uri, "iris-lr")
    MlflowClient().set_registered_model_alias("iris-lr", "champion", 2)
    card = nbtrack.model_card("iris-lr", ref)
    assert card.version == ("1" if ref == 1 else "2")


@pytest.mark.parametrize("ref", [9, "nope", "@nope"])
def test_unknown_version_or_alias(plain, ref):
    with pytest.raises(ModelNotFound):
        nbtrack.model_card("iris-lr", ref)


def test_card_of_a_version_registered_from_a_path(iris, tmp_path):
    from sklearn.linear_model import LogisticRegression

    x, y = iris.drop(columns="target"), iris["target"]
    nbtrack.sklearn.save_model(LogisticRegression(max_iter=1000).fit(x, y), tmp_path / "saved")
    nbtrack.register_model(str(tmp_path / "saved"), "from-path")
    parts = sections(nbtrack.model_card("from-path").to_markdown())
    assert "No training run is recorded" in parts["Training details"]
    assert "*No metrics were logged.*" in parts["Evaluation"]
    general = bullets(parts["General information"])
    assert general["Task"] == "tabular-classification"
    assert general["Developed by"] == MlflowClient().get_model_version("from-path", 1).user_id


def test_save_writes_the_whole_card(plain, tmp_path):
    card = nbtrack.model_card("iris-lr", 1)
    path = card.save(tmp_path / "README.md")
    assert path == tmp_path / "README.md"
    assert Path(path).read_text(encoding="utf-8") == card.to_markdown()


# -- what a published card may show ---------------------------------------------------


@pytest.mark.parametrize(
    ("private", "public"),
    [
        ("sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree.DecisionTreeClassifier"),
        ("sklearn.model_selection._search.GridSearchCV", "sklearn.model_selection.GridSearchCV"),
        ("sklearn.pipeline.Pipeline", "sklearn.pipeline.Pipeline"),
        ("LogisticRegression", "LogisticRegression"),
        ("notinstalled._impl.Model", "notinstalled.Model"),  # by the convention alone
        ("_private.Model", "_private.Model"),
    ],
)
def test_public_class_paths(private, public):
    assert public_class_path(private) == public


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("/home/ana/data/iris.csv", "iris.csv"),
        ("file:///tmp/x/model", "model"),
        ("file:///C:/work/iris.csv", "iris.csv"),
        ("C:\\Users\\ana\\iris.csv", "iris.csv"),
        ("~/iris.csv", "iris.csv"),
        ("runs:/abc/model", "runs:/abc/model"),
        ("https://example.org/iris.csv", "https://example.org/iris.csv"),
        ("data/iris.csv", "data/iris.csv"),
    ],
)
def test_public_locations(location, shown):
    assert public_location(location) == shown


def test_tree_card_from_a_path_and_an_evaluation_run(iris, tmp_path):
    """Registered from a local folder, evaluated with an "evaluation" dataset input."""
    from sklearn.tree import DecisionTreeClassifier

    x, y = iris.drop(columns="target"), iris["target"]
    folder = tmp_path / "secret-home" / "tree"
    nbtrack.sklearn.save_model(DecisionTreeClassifier(max_depth=2).fit(x, y), folder)
    nbtrack.register_model(str(folder), "tree")
    with nbtrack.start_run(run_name="eval-tree"):
        nbtrack.set_tag("nbtrack.evaluation.model_uri", "models:/tree/1")
        nbtrack.log_input(
            nbtrack.data.from_pandas(iris.tail(30), name="iris-eval", targets="target"),
            context="evaluation",
        )
        nbtrack.log_metric("accuracy_score", 0.93)
    markdown = nbtrack.model_card("tree", 1).to_markdown()
    assert str(tmp_path) not in markdown and "secret-home" not in markdown
    parts = sections(markdown)
    general = bullets(parts["General information"])
    assert "`sklearn.tree.DecisionTreeClassifier`" in general["Model type"]
    assert "_classes" not in markdown
    assert table_rows(parts["Evaluation"], "##### Evaluation data (`iris-eval`)") == [
        ["accuracy_score", "0.93", "evaluation run `eval-tree`"]
    ]

"""MLflow's ``MLproject`` format: a project's name, environment, entry points and parameters.

An ``MLproject`` file (any case, as MLflow looks for it) is YAML::

    name: wine-quality
    python_env: python_env.yaml
    entry_points:
      main:
        parameters:
          input_file: path
          alpha: {type: float, default: 0.5}
        command: "python train.py {input_file} {alpha}"

Parameter types are MLflow's ``string``, ``float``, ``path`` and ``uri``, plus ``int``.
A folder without an ``MLproject`` file is a project too: its ``.py`` and ``.sh`` files are
entry points. Every mistake is caught here, before anything runs, and names the line of
the file it is on. Stricter than MLflow in two ways, both to catch typos: an unknown key
is an error (MLflow ignores it), and so is a ``{placeholder}`` in a command that no
parameter declares (MLflow fails later, with a ``KeyError``).
"""

from __future__ import annotations

import difflib
import os
import shlex
import string
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from nbtrack.errors import ProjectSpecError

MLPROJECT_FILE_NAME = "mlproject"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
ENV_KEYS = ("python_env", "conda_env", "docker_env")
TOP_KEYS = ("name", "entry_points", *ENV_KEYS, "databricks_spark_job")
ENTRY_POINT_KEYS = ("parameters", "command")
PARAMETER_KEYS = ("type", "default")
TYPES = ("string", "float", "int", "path", "uri")
SCRIPT_COMMANDS = {".py": "python", ".sh": "bash"}


@dataclass(frozen=True)
class Parameter:
    """A typed parameter of an entry point; ``default`` None means it is required."""

    name: str
    type: str = "string"
    default: str | None = None

    def value(self, raw: Any, base_dir: str) -> str:
        """The value checked against the type (a ``path`` made absolute from ``base_dir``)."""
        text = str(raw)
        if self.type == "float":
            _convert(self.name, text, float, "a number such as 0.5")
        elif self.type == "int":
            _convert(self.name, text, int, "a whole number such as 3")
        elif self.type == "path":
            return _local_path(self.name, text, base_dir)
        elif self.type == "uri" and not urllib.parse.urlparse(text).scheme:
            raise ProjectSpecError(
                f"parameter {self.name!r} is a uri, such as s3://bucket/data or "
                f"file:///data (found {text!r})",
                name=self.name,
            )
        return text


def _convert(name: str, text: str, kind: type, example: str) -> None:
    try:
        kind(text)
    except ValueError:
        raise ProjectSpecError(
            f"parameter {name!r} is {kind.__name__}: give {example} (found {text!r})",
            name=name,
        ) from None


def _local_path(name: str, text: str, base_dir: str) -> str:
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme == "file":
        text = urllib.parse.unquote(parsed.path)
    elif len(parsed.scheme) > 1:
        raise ProjectSpecError(
            f"parameter {name!r} is a path; nbtrack runs projects on local files only "
            f"(found {text!r}): download it first and pass the local path",
            name=name,
        )
    path = os.path.abspath(os.path.join(base_dir, os.path.expanduser(text)))
    if not os.path.exists(path):
        raise ProjectSpecError(
            f"parameter {name!r} is a path, but {path} does not exist: pass an existing "
            "file or folder",
            name=name,
        )
    return path


@dataclass(frozen=True)
class EntryPoint:
    """A command template and the parameters it takes."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def compute_parameters(
        self, given: dict[str, Any], project_dir: str, launch_dir: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(declared params with defaults filled in, extra params), checked, as strings.

        Relative paths given by the user are read from ``launch_dir`` (where ``nbtrack
        run`` was typed, as in MLflow); relative defaults from the project folder.
        """
        missing = [
            name for name, p in self.parameters.items() if p.default is None and name not in given
        ]
        if missing:
            raise ProjectSpecError(
                f"entry point {self.name!r} needs a value for "
                f"{', '.join(map(repr, missing))}: pass -P {missing[0]}=VALUE",
                name=self.name,
            )
        declared = {}
        for name, param in self.parameters.items():
            if name in given:
                declared[name] = param.value(given[name], launch_dir)
            else:
                declared[name] = param.value(param.default, project_dir)
        extra = {str(k): str(v) for k, v in given.items() if k not in self.parameters}
        return declared, extra

    def render(self, declared: dict[str, str], extra: dict[str, str]) -> str:
        """The shell command: placeholders filled (shell-quoted), extras as ``--key value``."""
        command = self.command.format(**{k: shlex.quote(v) for k, v in declared.items()})
        tail = [f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in extra.items()]
        return " ".join([command, *tail])


@dataclass(frozen=True)
class Project:
    """A project folder: its name, entry points and declared environment."""

    directory: str
    name: str | None
    entry_points: dict[str, EntryPoint]
    env_type: str | None = None  # "python_env", "conda_env" or "docker_env"
    env_file: str | None = None  # python_env / conda_env file, absolute
    docker_image: str | None = None

    def entry_point(self, name: str) -> EntryPoint:
        """The named entry point, or a ``.py``/``.sh`` file of the folder run as a script."""
        if name in self.entry_points:
            return self.entry_points[name]
        ext = os.path.splitext(name)[1]
        if ext in SCRIPT_COMMANDS and os.path.isfile(os.path.join(self.directory, name)):
            return EntryPoint(name, f"{SCRIPT_COMMANDS[ext]} {shlex.quote(name)}")
        known = ", ".join(sorted(self.entry_points)) or "none"
        raise ProjectSpecError(
            f"project {self.directory} has no entry point {name!r} (entry points: {known}); "
            "pass -e NAME, or the name of a .py or .sh file of the project",
            name=name,
        )


def find_mlproject(directory: str) -> str | None:
    """The project's ``MLproject`` file (the name in any case), or None."""
    for filename in sorted(os.listdir(directory)):
        if filename.lower() == MLPROJECT_FILE_NAME:
            return os.path.join(directory, filename)
    return None


def load_project(directory: str) -> Project:
    """Read and check a project folder's ``MLproject`` file (the folder alone if none)."""
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise ProjectSpecError(
            f"{directory} is not a folder: pass a project folder, a git repository or a "
            ".ipynb notebook",
            name=directory,
        )
    path = find_mlproject(directory)
    doc: _Mapping = _Mapping() if path is None else _read_yaml(path)
    where = _Where(path or os.path.join(directory, "MLproject"))
    _check_keys(doc, TOP_KEYS, "top level of the MLproject file", where)
    env_keys = [k for k in ENV_KEYS if k in doc]
    if len(env_keys) > 1:
        raise ProjectSpecError(
            f"{where(doc, env_keys[1])}: a project has one environment, but "
            f"{' and '.join(env_keys)} are both set; keep one",
            name=directory,
        )
    declared = _mapping(doc.get("entry_points"), "entry_points", doc, where)
    entry_points = {
        str(name): _entry_point(str(name), body, declared.lines.get(name, 0), where)
        for name, body in declared.items()
    }
    env_type, env_file, image = _environment(doc, directory, where)
    name = doc.get("name")
    return Project(
        directory,
        str(name) if name is not None else None,
        entry_points,
        env_type,
        env_file,
        image,
    )


def _environment(
    doc: _Mapping, directory: str, where: _Where
) -> tuple[str | None, str | None, str | None]:
    if "docker_env" in doc:
        docker = _mapping(doc["docker_env"], "docker_env", doc, where)
        if not docker.get("image"):
            raise ProjectSpecError(
                f"{where(doc, 'docker_env')}: docker_env needs an image, such as "
                "`docker_env: {image: python:3.11}`",
                name="docker_env",
            )
        return "docker_env", None, str(docker["image"])
    for key in ("python_env", "conda_env"):
        if key in doc:
            env_file = os.path.join(directory, str(doc[key]))
            if not os.path.isfile(env_file):
                raise ProjectSpecError(
                    f"{where(doc, key)}: {key} names {doc[key]!r}, but {env_file} does not "
                    "exist; add the file or remove the line",
                    name=key,
                )
            return key, env_file, None
    for key, default_file in (("python_env", PYTHON_ENV_FILE), ("conda_env", CONDA_ENV_FILE)):
        if os.path.isfile(os.path.join(directory, default_file)):
            return key, os.path.join(directory, default_file), None
    return None, None, None


def _entry_point(name: str, body: Any, line: int, where: _Where) -> EntryPoint:
    if not isinstance(body, dict):
        raise ProjectSpecError(
            f"{where.path}:{line}: entry point {name!r} must be a mapping with `command:` "
            f"(and `parameters:`), found {type(body).__name__} {body!r}",
            name=name,
        )
    body = body if isinstance(body, _Mapping) else _Mapping(body)
    _check_keys(body, ENTRY_POINT_KEYS, f"entry point {name!r}", where)
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        at = where(body, "command") if "command" in body else f"{where.path}:{line}"
        raise ProjectSpecError(
            f"{at}: entry point {name!r} needs a command string, such as "
            '`command: "python train.py {alpha}"` (quote it when it starts with { or [)',
            name=name,
        )
    raw_params = _mapping(body.get("parameters"), "parameters", body, where)
    parameters = {
        str(p): _parameter(str(p), spec, raw_params, where) for p, spec in raw_params.items()
    }
    _check_placeholders(name, command, parameters, where(body, "command"))
    return EntryPoint(name, command, parameters)


def _parameter(name: str, spec: Any, params: _Mapping, where: _Where) -> Parameter:
    at = where(params, name)
    if isinstance(spec, str):
        kind, default = spec, None
    elif isinstance(spec, dict):
        body = spec if isinstance(spec, _Mapping) else _Mapping(spec)
        _check_keys(body, PARAMETER_KEYS, f"parameter {name!r}", where)
        kind, default = str(body.get("type", "string")), body.get("default")
    else:
        raise ProjectSpecError(
            f"{at}: parameter {name!r} must be a type (`{name}: float`) or a mapping "
            f"(`{name}: {{type: float, default: 0.5}}`), found {spec!r}",
            name=name,
        )
    if kind not in TYPES:
        raise ProjectSpecError(
            f"{at}: parameter {name!r} has type {kind!r}; the types are "
            f"{', '.join(TYPES)}{_did_you_mean(kind, TYPES)}",
            name=name,
        )
    if default is not None and kind in ("float", "int"):
        try:
            Parameter(name, kind).value(default, ".")
        except ProjectSpecError as exc:
            raise ProjectSpecError(f"{at}: default of {exc.message}", name=name) from None
    return Parameter(name, kind, None if default is None else str(default))


def _check_placeholders(name: str, command: str, parameters: dict[str, Parameter], at: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(command) if f is not None]
    except ValueError as exc:
        raise ProjectSpecError(
            f"{at}: the command of entry point {name!r} has unbalanced braces ({exc}); "
            "write a literal brace as {{ or }}",
            name=name,
        ) from None
    for placeholder in fields:
        if placeholder not in parameters:
            raise ProjectSpecError(
                f"{at}: the command of entry point {name!r} uses {{{placeholder}}}, but no "
                f"parameter {placeholder!r} is declared{_did_you_mean(placeholder, parameters)}",
                name=name,
            )


# -- YAML with line numbers ---------------------------------------------------------------


class _Mapping(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = {}


@dataclass(frozen=True)
class _Where:
    """Formats ``path:line`` for a key of a mapping read from the file."""

    path: str

    def __call__(self, mapping: _Mapping, key: Any) -> str:
        return f"{self.path}:{mapping.lines.get(key, 0)}"


def _read_yaml(path: str) -> _Mapping:
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            self.flatten_mapping(node)
            mapping = _Mapping()
            for key_node, value_node in node.value:
                key = self.construct_object(key_node, deep=True)
                mapping[key] = self.construct_object(value_node, deep=True)
                mapping.lines[key] = key_node.start_mark.line + 1
            return mapping

    Loader.add_constructor("tag:yaml.org,2002:map", Loader.construct_mapping)
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=Loader)  # a SafeLoader subclass: no code runs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectSpecError(
            f"{path}{line}: the MLproject file is not valid YAML ({problem}); check the "
            "indentation (spaces, not tabs) and quote commands that contain ': ' or start "
            "with { or [",
            name=path,
        ) from None
    if doc is None:
        return _Mapping()
    if not isinstance(doc, _Mapping):
        raise ProjectSpecError(
            f"{path}:1: an MLproject file is a mapping (name:, entry_points:…), "
            f"found {type(doc).__name__}",
            name=path,
        )
    return doc


def _mapping(value: Any, key: str, parent: _Mapping, where: _Where) -> _Mapping:
    if value is None:
        return _Mapping()
    if not isinstance(value, _Mapping):
        raise ProjectSpecError(
            f"{where(parent, key)}: {key} must be a mapping (indented `name: value` lines), "
            f"found {type(value).__name__} {value!r}",
            name=key,
        )
    return value


def _check_keys(mapping: _Mapping, allowed: tuple[str, ...], what: str, where: _Where) -> None:
    for key in mapping:
        if key not in allowed:
            raise ProjectSpecError(
                f"{where(mapping, key)}: unknown key {key!r} in the {what}; the keys are "
                f"{', '.join(allowed)}{_did_you_mean(str(key), allowed)}",
                name=str(key),
            )


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

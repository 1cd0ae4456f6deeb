"""MkDocs hooks (mkdocs.yml `hooks:`): the parts of the docs site that come from the code.

Generated at build time, so they cannot drift from what they describe:

- `<!-- settings-reference -->` in a page becomes a table of every `Settings` field: its
  environment variable, type, default and the docstring under it.
- `<!-- cli-reference -->` becomes the `--help` of every `tasks-api` command.
- `<!-- latest-benchmark PROFILE -->` becomes the newest `benchmarks/results/*-PROFILE.md`
  (headings moved one level down) followed by its chart.

The contract, the vendored ReDoc and every file under benchmarks/results/ are added to the
site from where they live, so nothing is copied into docs/ by hand.
"""

import argparse
import re
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from app.cli import build_parser
from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "specs" / "2-backend-api" / "contracts" / "openapi.json"
REDOC_JS = ROOT / "backend" / "app" / "static" / "docs" / "redoc" / "redoc.standalone.js"
RESULTS = ROOT / "benchmarks" / "results"
RESULTS_URI = "performance/results"
HELP_WIDTH = 96

SETTINGS_MARKER = "<!-- settings-reference -->"
CLI_MARKER = "<!-- cli-reference -->"
BENCHMARK_MARKER = re.compile(r"<!-- latest-benchmark (\w+) -->")
# A run's files: <date>-<profile>.md; later rounds of a day add a suffix (-round2).
RESULT_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-(?P<profile>\w+)\.md$")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    extra = {
        "reference/openapi.json": CONTRACT,
        "assets/redoc/redoc.standalone.js": REDOC_JS,
    }
    extra |= {f"{RESULTS_URI}/{path.name}": path for path in sorted(RESULTS.glob("*.*"))}
    for uri, path in extra.items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_table())
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())

    def latest(match: re.Match[str]) -> str:
        return latest_benchmark(match.group(1), page_uri=page.file.src_uri)

    return BENCHMARK_MARKER.sub(latest, markdown)


# --- configuration -----------------------------------------------------------------------


def settings_table() -> str:
    rows = ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(
                f"Settings.{name} has no docstring; the configuration reference needs one"
            )
        meaning = " ".join(field.description.split()).replace("|", "\\|")
        bounds = _bounds(field)
        if bounds:
            meaning = f"{meaning} ({bounds})"
        rows.append(
            f"| `{name.upper()}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |"
        )
    return "\n".join(rows)


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(arg) for arg in args if arg is not type(None))
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return ", ".join(f"`{arg}`" for arg in args)
    if origin is list:
        return "comma-separated list"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return ", ".join(f"`{member.value}`" for member in annotation)
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    names |= {SecretStr: "secret", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value: Any = field.get_default(call_default_factory=True, validated_data={})
    if value is None or value == []:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if hasattr(value, "value"):  # an enum member
        value = value.value
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attr, label in [
            ("ge", ">="),
            ("gt", ">"),
            ("le", "<="),
            ("lt", "<"),
            ("min_length", "length >="),
            ("max_length", "length <="),
        ]:
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{label} {value}")
    return ", ".join(parts)


# --- command line ------------------------------------------------------------------------


def cli_reference() -> str:
    sections = []
    for path, parser in _parsers(build_parser(), ["tasks-api"]):
        parser.formatter_class = _formatter
        heading = "#" * min(len(path) + 1, 4)
        sections.append(f"{heading} `{' '.join(path)}`\n\n```text\n{parser.format_help()}```")
    return "\n\n".join(sections)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=HELP_WIDTH)


def _parsers(
    parser: argparse.ArgumentParser, path: list[str]
) -> list[tuple[list[str], argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _parsers(sub, [*path, name])
    return found


# --- benchmarks --------------------------------------------------------------------------


def latest_benchmark(profile: str, *, page_uri: str) -> str:
    runs = sorted(
        path
        for path in RESULTS.glob("*.md")
        if (match := RESULT_NAME.match(path.name)) and match.group("profile") == profile
    )
    if not runs:
        raise ValueError(f"no benchmarks/results/<date>-{profile}.md to show")
    newest = runs[-1]
    depth = page_uri.count("/")
    prefix = "../" * depth + RESULTS_URI
    body = newest.read_text()
    # The file's own title becomes a second-level heading under the page's.
    body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.MULTILINE)
    chart = newest.with_suffix(".png")
    parts = [
        f"Source: [`benchmarks/results/{newest.name}`]({prefix}/{newest.name}).",
        body.strip(),
    ]
    if chart.exists():
        parts.append(f"![Benchmark chart of {newest.stem}]({prefix}/{chart.name})")
    return "\n\n".join(parts)

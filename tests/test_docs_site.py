"""The documentation site builds strictly, its generated parts match the code, it loads
nothing from outside, every page is two clicks away, and the README stays a front page."""

import re
from html import unescape
from pathlib import Path

import yaml

from app.cli import build_parser
from app.core.config import Settings
from tests.live import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
RESULTS = PROJECT_ROOT / "benchmarks" / "results"
README_MAX_LINES = 150
# src="...", and href="..." of <link> elements (stylesheets, icons): what a page loads.
LOADED = re.compile(
    r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["']([^"']+)|<link\b[^>]*\bhref=["']([^"']+)"""
)


def page_text(site: Path, page: str) -> str:
    html = (site / page / "index.html").read_text()
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_every_setting_has_a_docstring() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []


def test_configuration_reference_lists_every_setting(docs_site: Path) -> None:
    text = " ".join(page_text(docs_site, "reference/configuration").split())
    for name, field in Settings.model_fields.items():
        assert name.upper() in text
        assert field.description is not None
        first_words = " ".join(field.description.split()[:4])
        assert unescape(first_words.replace("`", "")) in text, name


def test_cli_reference_shows_every_command(docs_site: Path) -> None:
    text = page_text(docs_site, "reference/cli")
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        assert f"usage: tasks-api {name}" in text
        for action in sub._actions:
            for option in action.option_strings:
                assert option in text, f"tasks-api {name} {option}"
    assert "tasks-api users create" in text


def test_performance_page_shows_the_newest_full_run(docs_site: Path) -> None:
    newest = sorted(RESULTS.glob("[0-9]*-full.md"))[-1]
    html = (docs_site / "performance" / "index.html").read_text()
    assert newest.name in html
    assert f"results/{newest.stem}.png" in html
    first_row = next(line for line in newest.read_text().splitlines() if line.startswith("| "))
    assert first_row.split("|")[1].strip() in unescape(html)
    assert (docs_site / "performance" / "results" / f"{newest.stem}.png").is_file()


def test_api_reference_is_the_contract_with_the_vendored_redoc(docs_site: Path) -> None:
    contract = PROJECT_ROOT / "specs" / "2-backend-api" / "contracts" / "openapi.json"
    assert (docs_site / "reference" / "openapi.json").read_bytes() == contract.read_bytes()
    vendored = PROJECT_ROOT / "backend" / "app" / "static" / "docs" / "redoc"
    site_redoc = docs_site / "assets" / "redoc" / "redoc.standalone.js"
    assert site_redoc.read_bytes() == (vendored / "redoc.standalone.js").read_bytes()
    assert 'spec-url="openapi.json"' in (docs_site / "reference" / "redoc.html").read_text()


def test_site_loads_nothing_from_outside(docs_site: Path) -> None:
    outside = []
    pages = list(docs_site.rglob("*.html"))
    assert len(pages) > 15
    for page in pages:
        for match in LOADED.finditer(page.read_text()):
            url = match.group(1) or match.group(2)
            if re.match(r"(https?:)?//", url):
                outside.append(f"{page.relative_to(docs_site)}: {url}")
    assert outside == []


def nav_pages(items: list[object], depth: int = 1) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found += nav_pages(value, depth + 1)
        else:
            found.append((str(value), depth))
    return found


def test_every_page_is_in_the_nav_two_clicks_away() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text())
    pages = nav_pages(config["nav"])
    # Tabs are the first level and sections are shown expanded (navigation.tabs and
    # navigation.sections): a page three levels down is a tab, then a click in the sidebar.
    assert {"navigation.tabs", "navigation.sections"} <= set(config["theme"]["features"])
    assert [(page, depth) for page, depth in pages if depth > 3] == []
    in_nav = {page for page, _ in pages}
    on_disk = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert on_disk - in_nav == set(), "add these pages to the nav in mkdocs.yml"


def test_readme_is_a_short_front_page() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert len(links) >= 10
    missing = [link for link in links if not (PROJECT_ROOT / link).is_file()]
    assert missing == []

"""Offline link check of the built docs site (``make docs`` runs it after Sphinx).

Every internal ``href``/``src`` of every built page must name a file that exists and,
with a ``#fragment``, an ``id`` (or ``name``) in that file. Every notebook of
``notebooks/`` and ``notebooks/real/`` must have its gallery page. External links
(``http(s)://``, ``mailto:``) are NOT fetched (this machine and CI reach no host but the
package registries): they are listed in ``<build>/../external_links.txt`` for a person to
check. Exit 1 with one line per broken link.

Usage: ``python docs/check_links.py docs/_build/html``
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.anchors.add(value)
            if key in ("href", "src") and value and not (tag == "link" and key == "href"
                                                         and value.startswith("data:")):
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def check(site: Path) -> tuple[list[str], list[str]]:
    """(broken internal links, external links) of the site built in ``site``."""
    pages = {p: _parse(p) for p in sorted(site.rglob("*.html"))}
    broken, external = [], set()
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https", "mailto", "ftp"):
                external.add(link)
                continue
            if parts.scheme in ("data", "javascript"):
                continue
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(site)}: {link}"
            if not target.is_file():
                broken.append(f"{where}: no file {target}")
                continue
            if parts.fragment and target.suffix == ".html":
                anchors = pages[target].anchors if target in pages else _parse(target).anchors
                if unquote(parts.fragment) not in anchors:
                    broken.append(f"{where}: no anchor #{parts.fragment} in {target.name}")
    for kind, folder in (("synthetic", ROOT / "notebooks"), ("real", ROOT / "notebooks" / "real")):
        for nb in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            if not (site / "gallery" / kind / f"{nb.stem}.html").is_file():
                broken.append(f"gallery: no page for {nb.relative_to(ROOT)}")
    return broken, sorted(external)


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "docs/_build/html")
    broken, external = check(site)
    listing = site.parent / "external_links.txt"
    listing.write_text("".join(f"{link}\n" for link in external), encoding="utf-8")
    for line in broken:
        print(f"broken link: {line}", file=sys.stderr)
    pages = len(list(site.rglob("*.html")))
    print(f"link check: {pages} pages, {len(broken)} broken internal link(s); "
          f"{len(external)} external link(s) listed in {listing}, not fetched (no internet)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

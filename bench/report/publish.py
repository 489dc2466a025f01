"""Write a built table twice: the Markdown file users read and diff, and the same table as a standalone HTML
page that ``snakemake --report`` shows inline (a report can only offer a Markdown file for download)."""
from __future__ import annotations

import html
import logging
from pathlib import Path

import markdown

from bench.io import atomic_write_text

log = logging.getLogger(__name__)
STYLE = """body { font-family: sans-serif; font-size: 14px; margin: 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #eee; }
tr:nth-child(even) td { background: #f8f8f8; }"""


def table_html(text: str, title: str) -> str:
    body = markdown.markdown(text, extensions=["tables"])
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def write_table(text: str, markdown_path: str | Path, html_path: str | Path) -> None:
    atomic_write_text(text, markdown_path)
    atomic_write_text(table_html(text, Path(markdown_path).stem), html_path)
    cells = sum(line.count(" / ") for line in text.splitlines() if line.startswith("| "))
    missing = sum(line.count(" / not run") for line in text.splitlines() if line.startswith("| "))
    log.info("wrote %s and %s: %d cells, %d measured, %d not run", markdown_path, html_path, cells,
             cells - missing, missing)

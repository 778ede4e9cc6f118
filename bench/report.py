"""A bench's own section of a Markdown report (``docs/validation.md``), kept between its two markers.

Each validation bench rewrites only its section, ``<!-- <name>:start -->`` to ``<!-- <name>:end -->``, so
benches run at different times share one file and a rerun leaves the other sections as they were.
"""

from __future__ import annotations

import re
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of section ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(path: Path, name: str, text: str, *, after_title: str | None = None) -> None:
    """Put ``text`` between section ``name``'s markers in ``path``: in place of the section when the file has it,
    else at the end (or right after the file's first line when it is ``after_title``); the rest is left as it is.
    A file holding only one of the two markers raises ValueError."""
    start, end = markers(name)
    section = f"{start}\n{text.strip(chr(10))}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end) + "\n?", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: section, old)
    elif start in old or end in old:
        raise ValueError(f"{path} holds only one of section {name}'s markers; mend the file by hand")
    elif after_title is not None:
        body = old[len(after_title):].lstrip("\n") if old.startswith(after_title) else old
        new = f"{after_title}\n\n{section}" + (f"\n{body}" if body else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new)

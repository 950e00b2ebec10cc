"""Marked blocks in markdown pages: the text a benchmark or figure script measured.

A page holds `<!-- TOOL: NAME -->` ... `<!-- /TOOL: NAME -->`; the tool named TOOL
rewrites what lies between, and tests read it back to check that the page shows
what the stored results say. Nothing between the markers is edited by hand.
"""

import os


def markers(name, tool):
    return f"<!-- {tool}: {name} -->\n", f"<!-- /{tool}: {name} -->"


def fill_block(page, name, text, tool="quality.py", exact=False):
    """Replaces block NAME of TOOL in `page` with `text` (ending in one newline, or
    with `exact` as given: the figure scripts' blocks end as their .md files do).

    Raises:
        SystemExit: the page has no such block (a script's run would be lost).
    """
    with open(page, encoding="utf-8") as f:
        content = f.read()
    start, end = markers(name, tool)
    if start not in content or end not in content:
        raise SystemExit(f"{page} has no {start.strip()} ... {end} block")
    before, rest = content.split(start, 1)
    after = rest.split(end, 1)[1]
    with open(page, "w", encoding="utf-8") as f:
        body = text if exact else text.rstrip("\n") + "\n"
        f.write(before + start + body + end + after)


def fill_blocks_in(folder, blocks, tool):
    """Fills every block of `blocks` (name -> text) wherever a page of `folder` has it."""
    for page in sorted(os.listdir(folder)):
        if not page.endswith(".md"):
            continue
        path = os.path.join(folder, page)
        with open(path, encoding="utf-8") as f:
            content = f.read()
        for name, text in blocks.items():
            if markers(name, tool)[0] in content:
                fill_block(path, name, text, tool, exact=True)


def read_block(page, name, tool):
    """The text between block NAME's markers in `page`."""
    with open(page, encoding="utf-8") as f:
        content = f.read()
    start, end = markers(name, tool)
    return content.split(start, 1)[1].split(end)[0]

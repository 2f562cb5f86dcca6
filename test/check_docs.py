#!/usr/bin/env python3
"""check_docs.py ROOT

Checks the repository's Markdown documentation stands on its own: every
relative link ([text](path) or [text](path#anchor)) resolves to a file or
directory in the repository, and to a heading there when it names an
anchor; every file the text names in backticks (`lib/sched/trace.cpp`,
`docs/net.md`, `tools/csp_trace.py`, ...) exists; and nothing cites a path
outside the repository (/work/..., shared/..., ../..). Build outputs
(`build/...`, `<build>/...`) and placeholders (`<dir>`) are not files and
are skipped. Prints each problem as FILE:LINE: what; exits 1 if any.
"""
import os
import re
import subprocess
import sys

# Top-level entries a backticked path may start with to count as a file name.
REPO_DIRS = ("include/", "lib/", "test/", "examples/", "bench/", "docs/", "tools/", "scripts/",
             "subprojects/", "packaging/", ".ci/")
FILE_RE = re.compile(r"`([A-Za-z0-9_./+-]+)`")
LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OUTSIDE_RE = re.compile(r"(/work/|\bshared/|(?<![\w.])\.\./\.\./|\bAPI\.md\b)")
# Named paths that are not the repository's files, and why.
NOT_FILES = {
    "subprojects/csp": "where a user's Meson project puts csp",
}


def markdown_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard",
                              "*.md"], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".") and x != "build"]
            out += [os.path.relpath(os.path.join(d, f), root) for f in files if f.endswith(".md")]
    return sorted(f for f in out if not f.startswith(("build/", "subprojects/packagefiles/")))


def anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    result = set()
    with open(path, encoding="utf-8") as f:
        in_code = False
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            if in_code or not line.startswith("#"):
                continue
            text = line.lstrip("#").strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            result.add(text.replace(" ", "-"))
    return result


def check_file(root, rel, problems):
    path = os.path.join(root, rel)
    here = os.path.dirname(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_code = False
    for n, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        where = "%s:%d" % (rel, n)
        if OUTSIDE_RE.search(line):
            problems.append("%s: cites something outside the repository: %s" % (where, line.strip()))
        if in_code:
            continue
        for target in LINK_RE.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target) or target.startswith("#") and not target[1:]:
                continue  # a URL
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(here, file_part)) if file_part else path
            if not os.path.realpath(dest).startswith(os.path.realpath(root)):
                problems.append("%s: link leaves the repository: %s" % (where, target))
            elif not os.path.exists(dest):
                problems.append("%s: broken link: %s" % (where, target))
            elif anchor and dest.endswith(".md") and anchor.lower() not in anchors(dest):
                problems.append("%s: no heading for #%s in %s" % (where, anchor, file_part or rel))
        for name in FILE_RE.findall(line):
            if not name.startswith(REPO_DIRS) or "<" in name:
                continue
            name = name.rstrip(".")
            if name in NOT_FILES:
                continue
            # A program is named by its source without the extension
            # (examples/prime_sieve: examples/prime_sieve.cpp).
            if not os.path.exists(os.path.join(root, name)) and not os.path.exists(os.path.join(root, name + ".cpp")):
                problems.append("%s: names a file that does not exist: %s" % (where, name))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.realpath(sys.argv[1])
    problems = []
    files = markdown_files(root)
    for rel in files:
        check_file(root, rel, problems)
    for p in problems:
        print(p)
    if problems:
        print("FAIL: %d problems in %d Markdown files" % (len(problems), len(files)))
        sys.exit(1)
    print("docs ok: %d Markdown files, every link and named file resolves" % len(files))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""doxy_filter.py FILE — Doxygen's INPUT_FILTER for csp's public headers.

The headers document each name in the house style, with a plain `//`
comment block right above its declaration. This filter hands Doxygen the
header with those blocks turned into doc comments, so that the reference
(docs/Doxyfile.in, `ninja -C build docs`) is generated from the headers'
own comments and the headers need no Doxygen markup:

- the comment that opens the file becomes the file's documentation;
- a comment block directly above a declaration (no blank line between)
  documents it; when the block is followed by several declarations, as an
  overload set, they form one member group and share it;
- a trailing `// ...` on a member or enumerator documents that one;
- comments inside function bodies, and blocks followed by a blank line
  (section comments), are left alone;
- specializations of std's templates (std::is_error_code_enum) are
  blanked: they are not csp's names, and Doxygen cannot place them.

Doxygen's markup characters in comment text (outside `code spans`) are
escaped, so `chan<T>` stays text. Prints the result on stdout.
"""
import re
import sys

SCOPE_RE = re.compile(r"^\s*(template\s*<.*>\s*)?(class|struct|union|enum|namespace)\b")
ACCESS_RE = re.compile(r"^\s*(public|private|protected)\s*:")


def code_part(line):
    """The line without string and character literals and comments."""
    out = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in "\"'":
            i += 1
            while i < n and line[i] != c:
                i += 2 if line[i] == "\\" else 1
            i += 1
            out.append(" ")
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            j = line.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def escape(text):
    """Doxygen's special characters escaped outside `code spans`."""
    parts = text.split("`")
    for k in range(0, len(parts), 2):  # even parts lie outside backticks
        parts[k] = re.sub(r"([\\@<>&#%$])", r"\\\1", parts[k])
    return "`".join(parts)


def doc(comment, marker="///"):
    m = re.match(r"^(\s*)//\s?(.*)$", comment)
    return "%s%s %s" % (m.group(1), marker, escape(m.group(2)))


def trailing_comment(line):
    """(code, comment text) when line is code with a trailing // comment."""
    code = code_part(line)
    if not code.strip() or len(code) >= len(line):
        return None
    rest = line[len(code):]
    m = re.match(r"^(\s*)//(?!/)\s?(.*)$", rest)
    if not m:
        return None
    return line[: len(code)], m.group(1), m.group(2)


def filter_lines(lines):
    out = []
    stack = []       # scope kinds: "decl" (namespace, class, enum) or "body"
    statement = ""   # code since the last ; { or }, to classify a {
    pending = []     # comment lines at declaration scope, not yet emitted
    group = None     # depth of the open member group, if any
    # Markers go at the start of existing lines, so that the output keeps
    # the header's line numbers (Doxygen's warnings name them).
    prefix = []

    def at_decl():
        return all(k == "decl" for k in stack)

    def close_group():
        nonlocal group
        if group is not None:
            prefix.append("/**@}*/ ")
            group = None

    def emit(line):
        out.append("".join(prefix) + line)
        prefix.clear()

    def flush_plain():
        for c in pending:
            emit(c)
        pending.clear()

    def statement_ahead(i):
        text = ""
        for line in lines[i: i + 8]:
            text += " " + code_part(line)
            if "{" in text or ";" in text:
                break
        return text

    for i, line in enumerate(lines):
        stripped = line.strip()
        decl = at_decl()
        is_comment = stripped.startswith("//") and not stripped.startswith("///")
        if decl and group is not None and len(stack) == group and (
                not stripped or is_comment or stripped.startswith("#") or stripped.startswith("}")
                or ACCESS_RE.match(line)):
            close_group()
        if decl and is_comment:
            pending.append(line)
            continue
        if pending and i - len(pending) == 0:  # the file's opening comment
            prefix.append("/** @file */ ")
            for c in pending:
                emit(doc(c))
            pending.clear()
        elif pending and (not stripped or stripped.startswith("#") or not decl):
            flush_plain()
        elif pending:
            close_group()
            if not SCOPE_RE.match(statement_ahead(i)) and not ACCESS_RE.match(line):
                prefix.append("/**@{*/ ")
                group = len(stack)
            for c in pending:
                emit(doc(c))
            pending.clear()

        if stripped.startswith("#"):
            emit(line)
            continue
        if re.match(r"^template <>$", stripped) and i + 1 < len(lines) and \
                re.match(r"^struct std::.*};$", lines[i + 1].strip()):
            lines[i + 1] = ""
            emit("")
            continue
        tc = trailing_comment(line) if decl else None
        code = code_part(line)
        if tc and re.search(r"[;,]\s*$|^\s*\w+\s*(=\s*[^;{}]*)?$", tc[0]):
            emit("%s%s///< %s" % (tc[0], tc[1], escape(tc[2])))
        else:
            emit(line)
        for c in code:
            if c == "{":
                kind = "decl" if SCOPE_RE.match(statement) else "body"
                if stack and stack[-1] == "body":
                    kind = "body"
                stack.append(kind)
                statement = ""
            elif c == "}":
                if stack:
                    stack.pop()
                statement = ""
            elif c == ";":
                statement = ""
            else:
                statement += c
        statement += " "
    flush_plain()
    close_group()
    if prefix:
        out.append("".join(prefix))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    sys.stdout.write("\n".join(filter_lines(lines)))


if __name__ == "__main__":
    main()

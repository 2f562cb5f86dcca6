#!/usr/bin/env python3
"""check_porting_doc.py DOC GO_SOURCE

docs/porting.md shows the Go original of the crawler example in full, next
to the notes on its port. This check fails when the copy in the document
and examples/go/crawler.go have drifted apart: the ```go block that opens
with the same first line must equal the file.
"""
import sys


def main():
    doc_path, go_path = sys.argv[1], sys.argv[2]
    with open(go_path) as f:
        source = f.read().rstrip("\n")
    with open(doc_path) as f:
        doc = f.read()
    first = source.splitlines()[0]
    blocks = doc.split("```go\n")[1:]
    shown = [b.split("\n```", 1)[0] for b in blocks if b.startswith(first)]
    if not shown:
        print("%s: no ```go block starting with %r" % (doc_path, first))
        sys.exit(1)
    if shown[0] != source:
        print("%s shows a different %s; copy the file into the document" % (doc_path, go_path))
        sys.exit(1)
    print("%s shows %s as it is (%d lines)" % (doc_path, go_path, len(source.splitlines())))


if __name__ == "__main__":
    main()

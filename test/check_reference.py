#!/usr/bin/env python3
"""check_reference.py DOXYGEN DOXYFILE OUTDIR HEADER...

Generates the API reference (docs/Doxyfile.in) and fails on any Doxygen
warning: an undocumented public name, a documentation error, a name
Doxygen cannot place. Also checks that each public HEADER got its page.
Exits 0 when all hold; otherwise prints the warnings.
"""
import os
import subprocess
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    doxygen, doxyfile, outdir, headers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    os.makedirs(outdir, exist_ok=True)
    log = os.path.join(outdir, "warnings.log")
    if os.path.exists(log):
        os.remove(log)
    proc = subprocess.run([doxygen, doxyfile], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)
    if proc.returncode != 0:
        print("FAIL: doxygen exited %d:\n%s" % (proc.returncode, proc.stdout))
        sys.exit(1)
    warnings = open(log).read().strip() if os.path.exists(log) else ""
    if warnings:
        print("FAIL: Doxygen warnings (every public name needs a comment above it):\n" + warnings)
        sys.exit(1)
    html = os.path.join(outdir, "html")
    missing = [h for h in headers
               if not os.path.exists(os.path.join(html, os.path.basename(h).replace(".", "_8") + ".html"))]
    if missing:
        print("FAIL: no reference page for %s" % ", ".join(missing))
        sys.exit(1)
    print("reference ok: %d headers, no warnings; %s" % (len(headers), os.path.join(html, "index.html")))


if __name__ == "__main__":
    main()

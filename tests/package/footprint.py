#!/usr/bin/env python3
"""Code size of a static library, per object and in total, against a budget.

  footprint.py SIZE ARCHIVE BUDGET_KIB

SIZE is binutils' size for the target (e.g. aarch64-linux-gnu-size). Two
numbers per object:
  .text   machine code: every .text* section (size -A)
  text    what `size -t` (Berkeley format) calls text: code plus read-only
          data and unwind tables, i.e. all the flash the object takes
The budget holds for the Berkeley text total, the larger of the two. Only the
archive counts: XNNPACK, pthreadpool, cpuinfo, libstdc++ and libc are shared
libraries or the toolchain's, and are not in it.
"""
import re
import subprocess
import sys


def run(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=True).stdout


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    size, archive, budget_kib = sys.argv[1], sys.argv[2], float(sys.argv[3])

    rows = []  # (object, .text, text)
    berkeley = {}
    order = []
    for line in run(size, archive).splitlines()[1:]:
        fields = line.split(None, 5)
        if len(fields) == 6:
            name = re.sub(r" \(ex .*\)$", "", fields[5])
            order.append(name)
            berkeley.setdefault(name, []).append(int(fields[0]))
    code = {}
    current = None
    for line in run(size, "-A", archive).splitlines():
        m = re.match(r"^(\S+)\s+\(ex .*\):$", line)
        if m:
            current = m.group(1)
            code.setdefault(current, []).append(0)
            continue
        fields = line.split()
        if current and len(fields) >= 2 and fields[0].startswith(".text") and fields[1].isdigit():
            code[current][-1] += int(fields[1])
    seen = {}
    for name in order:
        k = seen.get(name, 0)
        seen[name] = k + 1
        rows.append((name, code[name][k], berkeley[name][k]))

    total_code = sum(r[1] for r in rows)
    total_text = sum(r[2] for r in rows)
    print("%-28s %10s %10s" % ("object", ".text", "text"))
    for name, c, t in rows:
        print("%-28s %10d %10d" % (name, c, t))
    print("%-28s %10d %10d" % ("total", total_code, total_text))
    print("footprint: .text %.1f KiB, text (code + read-only data) %.1f KiB, budget %.0f KiB"
          % (total_code / 1024.0, total_text / 1024.0, budget_kib))
    if total_text > budget_kib * 1024:
        sys.exit("FAILED: %s takes %.1f KiB of text, over the %.0f KiB budget"
                 % (archive, total_text / 1024.0, budget_kib))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Proves a static library carries no exceptions, RTTI or iostreams.

  check_symbols.py NM ARCHIVE [--expect CATEGORY,...]

What proves it, read from the symbol tables of every member (nm, demangled):
  exceptions  a reference to the C++ EH ABI (__cxa_throw, __cxa_allocate_exception,
              __cxa_begin_catch, __cxa_rethrow, __gxx_personality_v0 - the
              personality routine every function with a try block or an
              unwinding cleanup names -, _Unwind_Resume), or to code that throws
              on our behalf: libstdc++'s std::__throw_* helpers (what std::vector,
              std::string and std::function call on failure even under
              -fno-exceptions) and the throwing operator new. Any of them pulls
              libstdc++'s unwinder and EH runtime into the firmware link.
  rtti        a typeinfo object or name defined or referenced (typeinfo for X,
              typeinfo name for X), the type_info vtables (__cxxabiv1), or
              __dynamic_cast: what -frtti, typeid and dynamic_cast leave.
  iostreams   anything of <iostream>/<sstream>/<fstream>: std::ios_base
              (including the ios_base::Init object <iostream> constructs),
              the standard streams, basic_[io]stream, stream buffers.
The symbols the archive needs from outside are listed, so what it does use
(libc, XNNPACK, the delete operator) is on record too.

With --expect, the listed categories must be found (and nothing else): the
check run on a canary library built to violate them, so it is known to see.
"""
import re
import subprocess
import sys

CATEGORIES = {
    "exceptions": [
        r"^__cxa_(throw|allocate_exception|begin_catch|end_catch|rethrow|free_exception)$",
        r"^__gxx_personality_",
        r"^_Unwind_Resume$",
        r"^std::__throw_",
        # The throwing forms of operator new (the nothrow ones take std::nothrow_t).
        r"^operator new(\[\])?\(unsigned (long|int)(, std::align_val_t)?\)$",
    ],
    "rtti": [
        r"^typeinfo (name )?for ",
        r"^vtable for __cxxabiv1::",
        r"^__dynamic_cast$",
    ],
    "iostreams": [
        r"std::ios_base",
        r"std::basic_ios\b",
        r"std::(basic_)?[io]?stream\b",
        r"std::(basic_)?(i|o)?(string|f)stream\b",
        r"std::(basic_)?(stream|string|file)buf\b",
        r"^std::w?(cout|cerr|clog|cin)$",
        r"std::__ostream_insert",
    ],
}


def symbols(nm, archive, *flags):
    out = subprocess.run([nm, "--demangle", *flags, archive], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=True).stdout
    result = set()
    for line in out.splitlines():
        m = re.match(r"^[0-9a-fA-F ]*\s([A-Za-z])\s(.+)$", line)
        if m:
            result.add(m.group(2))
    return result


def main():
    args = sys.argv[1:]
    expect = set()
    if len(args) == 4 and args[2] == "--expect":
        expect = set(args[3].split(","))
        args = args[:2]
    if len(args) != 2 or not expect <= set(CATEGORIES):
        sys.exit(__doc__)
    nm, archive = args
    defined = symbols(nm, archive, "--defined-only")
    undefined = symbols(nm, archive, "--undefined-only") - defined

    found = {}
    for category, patterns in CATEGORIES.items():
        hits = sorted(s for s in defined | undefined if any(re.search(p, s) for p in patterns))
        if hits:
            found[category] = hits

    print("%s: %d symbols defined; needs from outside:" % (archive, len(defined)))
    for s in sorted(undefined):
        print("  " + s)
    for category, hits in found.items():
        print("%s: %s" % (category, ", ".join(hits[:8]) + (" ..." if len(hits) > 8 else "")))

    if expect:
        if set(found) != expect:
            sys.exit("FAILED: expected violations %s, found %s" % (sorted(expect), sorted(found)))
        print("OK: the canary's %s are seen" % ", ".join(sorted(expect)))
    elif found:
        sys.exit("FAILED: %s in %s" % (" and ".join(sorted(found)), archive))
    else:
        print("OK: no exceptions, RTTI or iostreams in %s" % archive)


if __name__ == "__main__":
    main()

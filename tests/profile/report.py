#!/usr/bin/env python3
"""Where the guest instructions between two tbcount snapshots went.

    tests/profile/report.py BEFORE AFTER [--per N] [--top K] [--calls]

BEFORE and AFTER are snapshots of build/profile/tbcount.so (tests/profile/
tbcount.c), e.g. the ones `vireo-bench-http --profile` takes around each wrk
run; N divides every figure (the requests in between). Blocks are mapped to
functions with `nm`: kernel addresses with build/kernel.elf; user programs
(all loaded at PROGRAM_BASE) by matching each block's first bytes against
every program below; the std runtime at moto-rt's RT_VDSO_START (its symbols
only when the initrd was built with VIREO_RT_SYMBOLS=1 make initrd).
--calls counts executions of blocks that start a function instead (calls
per N). docs/benchmarks.md, "Profiling".
"""
import argparse
import bisect
import collections
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER = os.path.join(ROOT, "guest-userspace/target/x86_64-unknown-none/release")
STD = os.path.join(ROOT, "guest-userspace/std-programs/target/x86_64-unknown-motor/release")
PROGRAMS = {
    "io": os.path.join(USER, "io-server"),
    "init": os.path.join(USER, "init"),
    "httpd": os.path.join(STD, "httpd"),
    "bench-mark": os.path.join(STD, "bench-mark"),
    "sh": os.path.join(STD, "sh"),
}
KERNEL = os.path.join(ROOT, "build/kernel.elf")
RUNTIME = os.path.join(USER, "motor-rt")
PROGRAM_BASE = 0x40_0000  # pv-abi syscall::PROGRAM_BASE
RT_VDSO_START = 0x21FF_0000_0000  # moto-rt 0.16's RT_VDSO_START
KERNEL_HALF = 0xFFFF_8000_0000_0000


def symbols(path):
    out = subprocess.run(["nm", "-C", "--defined-only", path], capture_output=True, text=True).stdout
    syms = sorted(
        (int(p[0], 16), p[2]) for p in (line.split(" ", 2) for line in out.splitlines()) if len(p) == 3 and p[1] in "tTwW"
    )
    return [a for a, _ in syms], [n for _, n in syms]


def segments(path):
    data = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    segs = []
    for i in range(phnum):
        kind, _, off, va, _, size, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i)
        if kind == 1:
            segs.append((va, off, size))
    return data, segs


def bytes_at(elf, va, n):
    data, segs = elf
    for start, off, size in segs:
        if start <= va < start + size:
            return data[off + va - start : off + va - start + n]
    return None


def load(path):
    blocks = {}
    for line in open(path):
        va, ha, n, count, code = line.split()
        blocks[(int(va, 16), int(ha, 16))] = (int(n), int(count), bytes.fromhex(code))
    return blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--per", type=float, default=1.0, help="divide every figure by this (e.g. requests)")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--calls", action="store_true", help="function entries executed, not instructions")
    a = ap.parse_args()
    before, after = load(a.before), load(a.after)
    progs = {k: p for k, p in PROGRAMS.items() if os.path.exists(p)}
    elves = {k: segments(p) for k, p in progs.items()}
    syms = {k: symbols(p) for k, p in progs.items()}
    syms["kernel"] = symbols(KERNEL)
    syms["motor-rt"] = symbols(RUNTIME) if os.path.exists(RUNTIME) else ([], [])
    per_binary = collections.Counter()
    per_function = collections.Counter()
    for key, (n, count, code) in after.items():
        runs = count - before.get(key, (0, 0, b""))[1]
        if runs <= 0:
            continue
        va = key[0]
        if va >= KERNEL_HALF:
            where, off = "kernel", va
        elif va >= RT_VDSO_START:
            where, off = "motor-rt", va - RT_VDSO_START
        elif va >= PROGRAM_BASE:
            off = va - PROGRAM_BASE
            where = next((k for k, e in elves.items() if bytes_at(e, off, len(code)) == code), "other program")
        else:
            where, off = "low", va
        weight = runs * n
        addrs, names = syms.get(where, ([], []))
        if a.calls:
            i = bisect.bisect_left(addrs, off)
            if i < len(addrs) and addrs[i] == off:
                per_function[(where, names[i])] += runs
            continue
        per_binary[where] += weight
        i = bisect.bisect_right(addrs, off) - 1
        per_function[(where, names[i] if i >= 0 else hex(va))] += weight
    if not a.calls:
        total = sum(per_binary.values())
        print(f"{total / a.per:,.0f} instructions per {a.per:g}")
        for where, n in per_binary.most_common():
            print(f"  {where:14} {n / a.per:12,.0f}")
        print()
    for (where, name), n in per_function.most_common(a.top):
        print(f"{n / a.per:12,.1f}  {where:10} {name[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

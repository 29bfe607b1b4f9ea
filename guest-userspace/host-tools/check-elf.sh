#!/bin/bash
# Checks that each built user program is what the Vireo loader accepts: an
# ET_DYN (static-PIE) x86-64 ELF64 with no PT_INTERP, no PT_TLS, no segment
# both writable and executable, and no relocation but R_X86_64_RELATIVE.
# With --raw, also that it carries Vireo's raw-ABI note (owner "Vireo") in a
# PT_NOTE segment; with --std, that it does not (the kernel gives the std
# runtime to exactly the programs without it: docs/runtime.md).
# Usage: check-elf.sh [-q] [--raw|--std] FILE...
#   prints one summary line per file (-q: only the failures); exits 1 on any failure.
set -u
quiet=0
kind=""
if [ "${1:-}" = -q ]; then quiet=1; shift; fi
case "${1:-}" in --raw|--std) kind=${1#--}; shift;; esac
fail=0
for f in "$@"; do
    h=$(readelf -hW "$f") || { echo "FAIL $f: not readable as ELF"; fail=1; continue; }
    l=$(readelf -lW "$f")
    r=$(readelf -rW "$f")
    why=""
    grep -q 'Class:.*ELF64' <<<"$h" || why+=" not-ELF64"
    grep -q 'Type:.*DYN' <<<"$h" || why+=" not-ET_DYN"
    grep -q 'Machine:.*X86-64' <<<"$h" || why+=" not-x86-64"
    grep -qE '^\s+INTERP' <<<"$l" && why+=" has-PT_INTERP"
    grep -qE '^\s+TLS' <<<"$l" && why+=" has-PT_TLS"
    # LOAD flags are the columns between MemSiz and Align ("R E", "RW", "RWE").
    loads=$(grep -E '^\s+LOAD' <<<"$l" | awk '{f=""; for (i = 7; i < NF; i++) f = f $i; printf "%s ", f}')
    grep -qE 'W[^ ]*E' <<<"$loads" && why+=" W+X-segment"
    other=$(grep -E '^[0-9a-f]{16} ' <<<"$r" | awk '{print $3}' | grep -v '^R_X86_64_RELATIVE$' | sort -u | tr '\n' ' ')
    [ -n "$other" ] && why+=" relocs:$other"
    # Segment numbers of the PT_NOTEs, then whether one of them holds .note.vireo.
    notes=$(grep -E '^\s+[A-Z_]+\s+0x' <<<"$l" | awk '$1 == "NOTE" {printf "%02d|", NR - 1}')
    in_pt_note=0
    [ -n "$notes" ] && grep -qE "^\s+(${notes%|})\s.*\.note\.vireo" <<<"$l" && in_pt_note=1
    [ "$kind" = raw ] && [ $in_pt_note = 0 ] && why+=" no-.note.vireo-in-PT_NOTE"
    [ "$kind" = std ] && readelf -nW "$f" | grep -qE '^\s+Vireo\s' && why+=" has-Vireo-raw-ABI-note"
    nrel=$(grep -cE 'R_X86_64_RELATIVE' <<<"$r")
    size=$(stat -c %s "$f")
    if [ -z "$why" ]; then
        [ $quiet = 1 ] && continue
        printf 'ok   %-14s %6d bytes  ET_DYN  LOAD[%-11s] %3d RELATIVE\n' "$(basename "$f")" "$size" "${loads% }" "$nrel"
    else
        printf 'FAIL %-14s%s\n' "$(basename "$f")" "$why"; fail=1
    fi
done
exit $fail

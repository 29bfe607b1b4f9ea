#!/usr/bin/env bash
# Builds the vireo-parse fuzz targets with libFuzzer's coverage
# instrumentation (the flags cargo-fuzz passes, without needing cargo-fuzz
# or nightly) and runs each for SECONDS, failing on any crash, panic, leak
# or timeout. Crashing inputs are saved under target/artifacts/.
#
#   fuzz.sh SECONDS [TARGET...]      (default: every target)
#   FUZZ_ELF_SEEDS="a.elf b.elf"     extra ELF seeds (real programs)
#
# The corpus each run grows is kept in target/corpus/<target>, so longer or
# repeated runs start where the last one stopped.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-5}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(acpi acpi_tables cpio elf start_info virtio_mmio_cmdline virtio_mmio_dsdt dns virtio_queue)

host=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps the instrumentation off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
all=(acpi acpi_tables cpio elf start_info virtio_mmio_cmdline virtio_mmio_dsdt dns virtio_queue canary)
cargo build --release --quiet --target "$host" "${all[@]/#/--bin=}"
bin=target/$host/release
# The seed generator runs uninstrumented (nothing would provide the
# coverage callbacks) and without libFuzzer.
RUSTFLAGS= cargo build --release --quiet --no-default-features --bin seeds --target "$host" --target-dir target/seeds
rm -rf target/seed-corpus
# shellcheck disable=SC2086
"target/seeds/$host/release/seeds" target/seed-corpus ${FUZZ_ELF_SEEDS:-}
mkdir -p target/artifacts

# The harness must report a panicking input as a failure.
printf 'VIREO-CANARY' > target/canary-input
if "$bin/canary" target/canary-input >target/canary.log 2>&1; then
    echo "fuzz.sh: the canary's panic was not reported as a failure" >&2
    exit 1
fi

for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t"
    log=target/$t.log
    if ! "$bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="target/artifacts/$t-" "target/corpus/$t" "target/seed-corpus/$t" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz.sh: $t failed (log: $PWD/$log, inputs: $PWD/target/artifacts/)" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $t: ${runs:-?} executions in ${secs}s, ${cov:-cov: ?}, corpus $(ls "target/corpus/$t" | wc -l)"
done

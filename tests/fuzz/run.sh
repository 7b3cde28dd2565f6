#!/usr/bin/env bash
# run.sh: runs each libFuzzer target named on the command line (built by
# `make fuzz` into $FUZZ_BUILD/fuzz/) for $FUZZ_SECONDS, starting from its seed
# corpus tests/fuzz/corpus/<target>/ (read only: what a run finds goes into
# $FUZZ_BUILD/corpus/<target>/). Fails when any target reports a crash, a
# leak, an UndefinedBehaviorSanitizer finding or a hang; the reproducer is
# left in $FUZZ_BUILD/artifacts/ and replays with
#   $FUZZ_BUILD/fuzz/<target> $FUZZ_BUILD/artifacts/<file>
set -u
cd "$(dirname "$0")/../.."
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
failed=""
for t in "$@"; do
    bin=$build/fuzz/$t
    seeds=tests/fuzz/corpus/$t
    work=$build/corpus/$t
    mkdir -p "$work" "$seeds"
    start=$(date +%s)
    printf 'fuzz: %s for %ss\n' "$t" "$seconds"
    log=$build/fuzz-$t.log
    # -timeout: one input running over 10 s is a hang; -rss_limit_mb: a
    # runaway allocation is a finding, not a dead machine
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
           -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
           "$work" "$seeds" > "$log" 2>&1
    rc=$?
    stats=$(grep -aE '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    if [ $rc -ne 0 ]; then
        failed="$failed $t"
        printf 'fuzz: %s FAILED (exit %d) after %ss; report:\n' "$t" "$rc" "$(( $(date +%s) - start ))"
        grep -vE '^(#[0-9]+|INFO:|MS:|base unit:|0x|stat::|Done )' "$log" | tail -n 60
    else
        printf 'fuzz: %s clean: %s inputs in %ss\n' "$t" "${stats:-?}" "$(( $(date +%s) - start ))"
    fi
done
if [ -n "$failed" ]; then
    printf 'fuzz: findings in:%s (reproducers in %s/artifacts)\n' "$failed" "$build"
    exit 1
fi
printf 'fuzz: all %d targets clean\n' "$#"

#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#
#   bash hack/test.sh            # everything (what .ci/run calls)
#   EW_TEST_FUZZ_SECONDS=300 bash hack/test.sh   # longer fuzzing
#   EW_TEST_FAULTS_FULL=1 bash hack/test.sh      # the full fault suite (500 services,
#                                                # 20 kills, a 2-minute outage)
#   EW_TEST_CLUSTERS_DIR=DIR EW_TEST_PORT_BASE=N bash hack/test.sh   # clusters of its own
#
# Stages: dependencies (hack/deps.sh) -> style check -> three builds (plain,
# ASan+UBSan, clang libFuzzer) -> unit tests under ASan+UBSan and under
# valgrind -> fuzz targets for a bounded time -> real test clusters
# (hack/cluster.sh) -> integration tests (ASan+UBSan build) -> clusters torn
# down. Every test prints PASS/FAIL/SKIP lines; the last line is the total:
# "N passed, N failed, N skipped".
#
# Which tests there are is test/meson.build's alone; this file names none:
#   - unit: `meson test --suite unit` in build-asan, then in build under valgrind (the C
#     unit tests and the fuzz corpus replays);
#   - fuzz: every libFuzzer target build-fuzz has (fuzz_targets in test/meson.build);
#   - integration: `meson test --suite integration` in build-asan: the C suites, then the
#     shell suites (integration_scripts), one at a time in the order defined there.
# So adding a test or suite is one line in test/meson.build, nothing here. How a stage is
# read is hack/report.sh (checked on made-up stages by test/runner/test_report.sh, the
# first stage): every test of the stage's suite must be in meson's log; a test that exits
# 0 must end with "# NAME: N passed, N failed" agreeing with the PASS/FAIL lines it
# printed; a test that exits non-zero without a FAIL line (a crash, a sanitizer report, a
# timeout) counts as one failure; a whole test that skips (exit 77) is listed with its
# reason at the end, and under CI=true only a test in suite 'may-skip-in-ci' may skip;
# meson's own exit status must agree. Build directories are set up with exactly the
# options this file gives them (a stamp, .ew-setup; one set up otherwise is wiped). The
# logs directory (printed at the end) keeps each test's output (NAME.out, vg-NAME.out
# under valgrind), the operators' logs (SUITE-operator.log), meson's own
# (meson-STAGE.log) and, after a failed integration test, the clusters' logs on stderr.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
# shellcheck source=hack/lib.sh
source hack/lib.sh

export EW_CLUSTERS_DIR="${EW_TEST_CLUSTERS_DIR:-/tmp/eastwest-test-clusters}"
export EW_PORT_BASE="${EW_TEST_PORT_BASE:-27000}"
fuzz_seconds="${EW_TEST_FUZZ_SECONDS:-20}"
results=$(mktemp -d /tmp/eastwest-test.XXXXXX)
log="$results/all.log"

pass() { echo "PASS $1" | tee -a "$log"; }
fail() { echo "FAIL $1${2:+: $2}" | tee -a "$log"; }

# stage NAME: a new stage; the time each took goes to $results/times.txt and, at the end,
# to stderr (what dominates a run is measured, not guessed).
stage_name="" stage_start=$SECONDS
stage_end() {
    [ -n "$stage_name" ] && printf '%5d s  %s\n' $((SECONDS - stage_start)) "$stage_name" >>"$results/times.txt"
    stage_name="" stage_start=$SECONDS
}
stage() {
    stage_end
    stage_name=$* stage_start=$SECONDS
    echo "== $*" >&2
}

cleanup() {
    bash hack/cluster.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# shellcheck source=hack/report.sh
source hack/report.sh
skips="$results/skipped.txt"
: >"$skips"

# run_meson BUILD STAGE SUITE MODE ARG...: meson test --suite SUITE in BUILD with a log of
# its own (STAGE), every test's stdout and stderr together, then report_stage (MODE lines
# or valgrind) and meson's own exit status checked against what was counted. Its console
# output goes to $results/meson-STAGE.log; with progress=1, its line per finished test to
# stderr as well.
run_meson() {
    local dir=$1 stage=$2 suite=$3 mode=$4 status before
    shift 4
    before=$(grep -c '^FAIL' "$log")
    rm -f "$dir/meson-logs/$stage.json" "$dir/meson-logs/$stage"-*.json
    PYTHONUNBUFFERED=1 meson test -C "$dir" --no-rebuild --no-stdsplit --logbase "$stage" \
        --suite "$suite" "$@" 2>&1 |
        tee "$results/meson-$stage.log" | if [ "${progress:-0}" = 1 ]; then
            grep --line-buffered -E '^ *[0-9]+/[0-9]+ ' >&2
        else cat >/dev/null; fi
    status=${PIPESTATUS[0]}
    report_stage "$dir" "$stage" "$suite" "$mode"
    report_meson_status "$stage" "$status" "$before"
}

# build DIR MESON-OPTION...: configure DIR with exactly these options (and $CC), then
# ninja. A directory configured otherwise (by hand, or by an older test command: no
# stamp, or another one) is set up anew with --wipe, never reused as it is.
build() {
    local dir=$1 want have
    shift
    want="CC=${CC:-} $*"
    have=$(cat "$dir/.ew-setup" 2>/dev/null || true)
    if [ ! -f "$dir/build.ninja" ] || [ "$have" != "$want" ]; then
        local wipe=()
        [ -d "$dir/meson-private" ] && wipe=(--wipe)
        [ -z "$have" ] || [ "$have" = "$want" ] || echo "== $dir was set up with '$have': set up again with '$want'" >&2
        meson setup "${wipe[@]}" "$dir" "$@" >"$results/setup-$(basename "$dir").log" 2>&1 || {
            cat "$results/setup-$(basename "$dir").log" >&2
            return 1
        }
        printf '%s\n' "$want" >"$dir/.ew-setup"
    fi
    ninja -C "$dir" >"$results/ninja-$(basename "$dir").log" 2>&1 || {
        tail -n 60 "$results/ninja-$(basename "$dir").log" >&2
        return 1
    }
}

stage "dependencies"
bash hack/deps.sh || { fail deps "hack/deps.sh failed"; exit 1; }

stage "style"
if bash hack/check-style.sh >"$results/style.out" 2>&1; then pass style/clang-format; else
    fail style/clang-format "files differ from .clang-format (run: bash hack/check-style.sh --fix)"
    head -n 40 "$results/style.out" >&2
fi

if shellcheck -x hack/*.sh test/integration/*.sh test/bench/*.sh test/runner/*.sh .ci/run >"$results/shellcheck.out" 2>&1; then pass style/shellcheck; else
    fail style/shellcheck "see below"
    head -n 40 "$results/shellcheck.out" >&2
fi

stage "build"
builds_ok=1
if build build; then pass build/plain; else fail build/plain; builds_ok=0; fi
# GCC leaves float-cast-overflow out of -fsanitize=undefined: a double past an integer's
# range is undefined behaviour all the same (reflector.c's seed was one).
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=float-cast-overflow; then
    pass build/asan-ubsan; else
    fail build/asan-ubsan; builds_ok=0; fi
if CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false; then
    pass build/fuzz; else fail build/fuzz; builds_ok=0; fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if [ $builds_ok = 1 ]; then
    stage "the runner's own checks"
    run_meson build runner runner lines

    stage "unit tests (ASan+UBSan)"
    run_meson build-asan unit-asan unit lines

    stage "unit tests (valgrind)"
    vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible"
    vg="$vg --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99"
    EW_TEST_UNDER_VALGRIND=1 run_meson build unit-valgrind unit valgrind --timeout-multiplier 10 --wrapper "$vg"

    mapfile -t fuzzers < <(jq -r '.[] | select(.type == "executable") | .name' build-fuzz/meson-info/intro-targets.json |
        grep -E '^fuzz_' | grep -v '_replay$')
    stage "fuzz (${fuzz_seconds}s per target: ${fuzzers[*]})"
    [ ${#fuzzers[@]} -gt 0 ] || fail fuzz/targets "build-fuzz has no fuzz_* target (fuzz_targets in test/meson.build, -Dfuzz=true)"
    for f in "${fuzzers[@]}"; do
        work="$results/corpus-$f"
        mkdir -p "$work"
        cp "test/fuzz/corpus/$f"/* "$work/" 2>/dev/null || true
        if "build-fuzz/test/$f" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$results/crash-$f-" "$work" >"$results/$f.out" 2>&1; then
            runs=$(grep -oE 'Done [0-9]+ runs' "$results/$f.out" | tail -n 1)
            if [ -n "$runs" ] && [ "$(tr -dc 0-9 <<<"$runs")" -gt 0 ]; then pass "fuzz/$f ($runs)"; else
                fail "fuzz/$f" "libFuzzer ran no input (no 'Done N runs' line)"; fi
        else
            fail "fuzz/$f" "crash or leak found; input saved as $results/crash-$f-*"
            tail -n 30 "$results/$f.out" >&2
        fi
    done

    stage "test clusters"
    if bash hack/cluster.sh up us eu >"$results/cluster-up.out" 2>&1; then
        pass clusters/up
        stage "integration tests (ASan+UBSan, real kube-apiserver + etcd)"
        export EW_PROMTOOL EW_TEST_LOGS_DIR="$results"
        before=$(grep -c '^FAIL' "$log")
        progress=1 run_meson build-asan integration integration lines # suites take minutes
        if [ "$(grep -c '^FAIL' "$log")" -gt "$before" ]; then
            for c in us eu ap; do bash hack/cluster.sh logs "$c" >&2 || true; done
        fi
    else
        fail clusters/up "see below"
        cat "$results/cluster-up.out" >&2
    fi
    stage "teardown"
    bash hack/cluster.sh down >/dev/null 2>&1
    left=$(pgrep -f "$EW_CLUSTERS_DIR" || true)
    if [ -z "$left" ]; then pass clusters/down-no-process-left; else
        fail clusters/down-no-process-left "still running: $left"; fi
fi

passed=$(grep -c '^PASS' "$log" || true)
failed=$(grep -c '^FAIL' "$log" || true)
skipped=$(grep -c '^SKIP' "$log" || true)
stage_end
echo "time per stage:" >&2
cat "$results/times.txt" >&2
echo "logs: $results" >&2
if [ -s "$skips" ]; then
    echo "skipped whole (exit 77):"
    sed 's/^/  /' "$skips"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

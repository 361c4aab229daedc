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
# So adding a test or suite is one line in test/meson.build, nothing here. Each test's
# PASS/FAIL/SKIP lines are read from meson's log (meson-logs/<stage>.json) in the order
# test/meson.build defines the tests; a test that exits non-zero without a FAIL line (a
# crash, a sanitizer report, a timeout) counts as one failure. The logs directory
# (printed at the end) keeps each test's output (NAME.out, vg-NAME.out under valgrind),
# the operators' logs (SUITE-operator.log), meson's own (meson-STAGE.log) and, after a
# failed integration test, the clusters' logs on stderr.
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

stage() { echo "== $*" >&2; }

cleanup() {
    bash hack/cluster.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# report BUILD STAGE MODE: the results of the `meson test --logbase STAGE` just run in
# BUILD, in test/meson.build's order; each test's output is kept as $results/NAME.out
# (MODE lines: the test's own PASS/FAIL/SKIP lines and the indented ones under a FAIL)
# or $results/vg-NAME.out (MODE valgrind: one PASS or FAIL valgrind/NAME line).
report() {
    local dir=$1 stage=$2 mode=$3 name entry out res rc why json
    # meson adds the wrapper's name: unit-valgrind-valgrind.json
    for json in "$dir/meson-logs/$stage.json" "$dir/meson-logs/$stage"-*.json; do
        [ -s "$json" ] && break
    done
    if [ ! -s "$json" ]; then
        fail "meson/$stage" "meson test wrote no results (see $results/meson-$stage.log)"
        tail -n 20 "$results/meson-$stage.log" >&2
        return
    fi
    while IFS= read -r name; do
        entry=$(jq -c --arg n "$name" 'select((.name | sub("^.* / "; "")) == $n)' "$json")
        [ -n "$entry" ] || continue # not in this stage's suite
        res=$(jq -r .result <<<"$entry")
        rc=$(jq -r .returncode <<<"$entry")
        case $res in
        TIMEOUT) why="timed out after $(jq -r '.duration | floor' <<<"$entry")s (its timeout in test/meson.build)" ;;
        *) if [ "$rc" -lt 0 ]; then why="killed by signal $((-rc))"; else why="exited with status $rc"; fi ;;
        esac
        if [ "$mode" = valgrind ]; then
            out="$results/vg-$name.out"
            jq -r .stdout <<<"$entry" >"$out"
            if [ "$res" = OK ]; then pass "valgrind/$name"; else
                [ "$rc" = 99 ] && why="valgrind reported errors or leaks"
                fail "valgrind/$name" "$why"
                tail -n 40 "$out" >&2
            fi
            continue
        fi
        out="$results/$name.out"
        jq -r .stdout <<<"$entry" >"$out"
        grep -E '^(PASS|FAIL|SKIP|     )' "$out" | tee -a "$log"
        if [ "$res" = OK ] || [ "$res" = SKIP ]; then
            continue
        elif ! grep -q '^FAIL' "$out"; then
            fail "$name" "$why, without a FAIL line (a crash, a sanitizer report, a hang)"
            tail -n 40 "$out" >&2
        else
            tail -n 60 "$out" | grep -vE '^(PASS|SKIP)' >&2
        fi
    done < <(jq -r '.[].name' "$dir/meson-info/intro-tests.json")
}

# run_meson BUILD STAGE ARG...: meson test in BUILD with a log of its own (STAGE), every
# test's stdout and stderr together. Its console output goes to $results/meson-STAGE.log;
# with progress=1, its line per finished test to stderr as well.
run_meson() {
    local dir=$1 stage=$2
    shift 2
    rm -f "$dir/meson-logs/$stage.json" "$dir/meson-logs/$stage"-*.json
    PYTHONUNBUFFERED=1 meson test -C "$dir" --no-rebuild --no-stdsplit --logbase "$stage" "$@" 2>&1 |
        tee "$results/meson-$stage.log" | if [ "${progress:-0}" = 1 ]; then
            grep --line-buffered -E '^ *[0-9]+/[0-9]+ ' >&2
        else cat >/dev/null; fi
}

build() {
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$results/setup-$(basename "$dir").log" 2>&1 || {
            cat "$results/setup-$(basename "$dir").log" >&2
            return 1
        }
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

if shellcheck -x hack/*.sh test/integration/*.sh test/bench/*.sh .ci/run >"$results/shellcheck.out" 2>&1; then pass style/shellcheck; else
    fail style/shellcheck "see below"
    head -n 40 "$results/shellcheck.out" >&2
fi

stage "build"
builds_ok=1
if build build; then pass build/plain; else fail build/plain; builds_ok=0; fi
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false; then pass build/asan-ubsan; else
    fail build/asan-ubsan; builds_ok=0; fi
if CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false; then
    pass build/fuzz; else fail build/fuzz; builds_ok=0; fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if [ $builds_ok = 1 ]; then
    stage "unit tests (ASan+UBSan)"
    run_meson build-asan unit-asan --suite unit
    report build-asan unit-asan lines

    stage "unit tests (valgrind)"
    vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible"
    vg="$vg --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99"
    EW_TEST_UNDER_VALGRIND=1 run_meson build unit-valgrind --suite unit --timeout-multiplier 10 --wrapper "$vg"
    report build unit-valgrind valgrind

    mapfile -t fuzzers < <(jq -r '.[] | select(.type == "executable") | .name' build-fuzz/meson-info/intro-targets.json |
        grep -E '^fuzz_' | grep -v '_replay$')
    stage "fuzz (${fuzz_seconds}s per target: ${fuzzers[*]})"
    for f in "${fuzzers[@]}"; do
        work="$results/corpus-$f"
        mkdir -p "$work"
        cp "test/fuzz/corpus/$f"/* "$work/" 2>/dev/null || true
        if "build-fuzz/test/$f" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$results/crash-$f-" "$work" >"$results/$f.out" 2>&1; then
            pass "fuzz/$f ($(grep -oE 'Done [0-9]+ runs' "$results/$f.out" | tail -n 1))"
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
        progress=1 run_meson build-asan integration --suite integration # suites take minutes
        report build-asan integration lines
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
echo "logs: $results" >&2
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

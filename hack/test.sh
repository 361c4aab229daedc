#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#
#   bash hack/test.sh            # everything (what .ci/run calls)
#   EW_TEST_FUZZ_SECONDS=300 bash hack/test.sh   # longer fuzzing
#   EW_TEST_FAULTS_FULL=1 bash hack/test.sh      # the full fault suite (500 services,
#                                                # 20 kills, a 2-minute outage)
#
# Stages: dependencies (hack/deps.sh) -> style check -> three builds (plain,
# ASan+UBSan, clang libFuzzer) -> unit tests under ASan+UBSan and under
# valgrind -> fuzz targets for a bounded time -> real test clusters
# (hack/cluster.sh) -> integration tests (ASan+UBSan build) -> clusters torn
# down. Every test prints PASS/FAIL/SKIP lines; the last line is the total:
# "N passed, N failed, N skipped".
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

# run_suite NAME CMD...: run a harness binary, keep its PASS/FAIL/SKIP lines.
run_suite() {
    local name=$1
    shift
    local out="$results/$name.out"
    "$@" >"$out" 2>&1
    local rc=$?
    grep -E '^(PASS|FAIL|SKIP|     )' "$out" | tee -a "$log"
    if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$out"; then
        fail "$name" "exited with status $rc without a failed test (crash or sanitizer report)"
        tail -n 40 "$out" >&2
    elif [ $rc -ne 0 ]; then
        tail -n 60 "$out" | grep -vE '^(PASS|SKIP)' >&2
    fi
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
    for t in build-asan/test/test_strbuf build-asan/test/test_status build-asan/test/test_watch_parser \
        build-asan/test/test_kubeconfig build-asan/test/test_workqueue build-asan/test/test_metrics \
        build-asan/test/test_mesh_api build-asan/test/test_api_docs build-asan/test/test_ca \
        build-asan/test/test_mesh_objects build-asan/test/test_cacerts build-asan/test/test_ccs_objects \
        build-asan/test/test_bad_input build-asan/test/test_clusterset; do
        run_suite "$(basename "$t")" "$t"
    done
    for f in fuzz_watch_parser fuzz_kubeconfig fuzz_mesh_api fuzz_pem fuzz_objects; do
        if out=$("build-asan/test/${f}_replay" "test/fuzz/corpus/$f" 2>&1); then
            pass "corpus/$f ($out)"
        else fail "corpus/$f" "$out"; fi
    done

    stage "unit tests (valgrind)"
    for t in build/test/test_strbuf build/test/test_status build/test/test_watch_parser \
        build/test/test_kubeconfig build/test/test_workqueue build/test/test_metrics \
        build/test/test_mesh_api build/test/test_api_docs build/test/test_ca \
        build/test/test_mesh_objects build/test/test_cacerts build/test/test_ccs_objects \
        build/test/test_bad_input build/test/test_clusterset; do
        n=$(basename "$t")
        if valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            "$t" >"$results/vg-$n.out" 2>&1; then
            pass "valgrind/$n"
        else
            fail "valgrind/$n" "valgrind reported errors or leaks"
            tail -n 40 "$results/vg-$n.out" >&2
        fi
    done

    stage "fuzz (${fuzz_seconds}s per target)"
    for f in fuzz_watch_parser fuzz_kubeconfig fuzz_mesh_api fuzz_pem fuzz_objects; do
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
        export EW_PROMTOOL
        run_suite test_kube_integration build-asan/test/test_kube_integration
        run_suite test_runtime_integration build-asan/test/test_runtime_integration
        run_suite test_crds bash test/integration/test_crds.sh
        run_suite test_certs bash test/integration/test_certs.sh
        export EW_OPERATOR_LOG="$results/test_meshnetwork-operator.log"
        run_suite test_meshnetwork bash test/integration/test_meshnetwork.sh
        export EW_OPERATOR_LOG="$results/test_ccs-operator.log"
        run_suite test_ccs bash test/integration/test_ccs.sh
        export EW_OPERATOR_LOG="$results/test_lifecycle-operator.log"
        run_suite test_lifecycle bash test/integration/test_lifecycle.sh
        export EW_OPERATOR_LOG="$results/test_plugin-operator.log"
        run_suite test_plugin bash test/integration/test_plugin.sh
        export EW_OPERATOR_LOG="$results/test_chart-operator.log"
        run_suite test_chart bash test/integration/test_chart.sh
        export EW_OPERATOR_LOG="$results/test_faults-operator.log"
        # shellcheck disable=SC2046 # no argument, or --full
        run_suite test_faults bash test/integration/test_faults.sh $([ "${EW_TEST_FAULTS_FULL:-0}" = 1 ] && echo --full)
        EW_OPERATOR_LOG="$results/test_shutdown-operator.log" run_suite test_shutdown bash test/integration/test_shutdown.sh
        run_suite test_demo bash test/integration/test_demo.sh
        if grep -q '^FAIL' "$results"/test_*_integration.out "$results"/test_meshnetwork.out \
            "$results"/test_ccs.out "$results"/test_lifecycle.out "$results"/test_plugin.out "$results"/test_chart.out \
            "$results"/test_faults.out; then
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

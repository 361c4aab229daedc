#!/usr/bin/env bash
# The test command's reading of meson's logs (hack/report.sh), checked on made-up stages:
# a test that passes, an empty test, a crash, a test meson never ran, a closing line that
# lies, a test that stops half-way, skips in and out of CI, a valgrind stage, meson's own
# exit status. Each case builds a meson-info/intro-tests.json and a meson-logs/STAGE.json
# as meson writes them and asserts the PASS/FAIL lines report_stage makes of them.
set -uo pipefail
suite=test_report
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=hack/report.sh
source "$root/hack/report.sh"

# The runner's own pass/fail, as hack/test.sh defines them, into the case's log.
pass() { echo "PASS $1" >>"$log"; }
fail() { echo "FAIL $1${2:+: $2}" >>"$log"; }

ok() { echo "PASS $suite/$1"; passed=$((passed + 1)); }
bad() { echo "FAIL $suite/$1: $2"; failed=$((failed + 1)); }

# world: a fresh build dir, log and results for one case.
world() {
    dir="$tmp/$1" results="$tmp/$1/results" log="$tmp/$1/all.log" skips="$tmp/$1/skips"
    mkdir -p "$dir/meson-info" "$dir/meson-logs" "$results"
    : >"$log"
    : >"$skips"
    echo '[]' >"$dir/meson-info/intro-tests.json"
}
# declare_test NAME SUITE...: a test in test/meson.build (intro-tests.json).
declare_test() {
    local name=$1 j
    shift
    j=$(printf '%s\n' "$@" | jq -R '"eastwest:" + .' | jq -s .)
    jq --arg n "$name" --argjson s "$j" '. + [{name: $n, suite: $s}]' \
        "$dir/meson-info/intro-tests.json" >"$dir/t.json" && mv "$dir/t.json" "$dir/meson-info/intro-tests.json"
}
# ran STAGE NAME RESULT RC STDOUT: one line of meson's log.
ran() {
    jq -cn --arg n "$2" --arg r "$3" --argjson rc "$4" --arg o "$5" \
        '{name: ("eastwest:unit / " + $n), result: $r, returncode: $rc, duration: 1.5, stdout: $o}' \
        >>"$dir/meson-logs/$1.json"
}
# expect CASE PATTERN: the case's log has a line matching PATTERN (grep -E).
expect() {
    if grep -qE "$2" "$log"; then ok "$1"; else bad "$1" "no line like '$2' in: $(tr '\n' '|' <"$log")"; fi
}
expect_no_fail() {
    if ! grep -q '^FAIL' "$log"; then ok "$1"; else bad "$1" "$(grep '^FAIL' "$log" | head -n 3 | tr '\n' '|')"; fi
}

good_out=$'PASS t/a\nPASS t/b\n# t: 2 passed, 0 failed, 0 skipped'

world passing
declare_test t_good unit
ran s t_good OK 0 "$good_out"
report_stage "$dir" s unit lines >/dev/null
expect_no_fail passing/no-fail
expect passing/lines-passed-on '^PASS t/b$'

world empty
declare_test t_empty unit
ran s t_empty OK 0 ""
report_stage "$dir" s unit lines >/dev/null
expect empty/is-a-failure '^FAIL t_empty: exited 0, but no closing line'

world no-checks
declare_test t_zero unit
ran s t_zero OK 0 "# t: 0 passed, 0 failed"
report_stage "$dir" s unit lines >/dev/null
expect no-checks/is-a-failure '^FAIL t_zero: exited 0, but it ran no check'

world half-way
declare_test t_half unit
ran s t_half OK 0 $'PASS t/a\nPASS t/b'
report_stage "$dir" s unit lines >/dev/null
expect half-way/is-a-failure '^FAIL t_half: exited 0, but no closing line'

world lying
declare_test t_lie unit
ran s t_lie OK 0 $'PASS t/a\n# t: 3 passed, 0 failed'
report_stage "$dir" s unit lines >/dev/null
expect lying/closing-line-disagrees '^FAIL t_lie: .*disagrees with the lines it printed \(1 PASS, 0 FAIL, 0 SKIP\)'

world crash
declare_test t_crash unit
ran s t_crash FAIL -11 $'PASS t/a\nAddressSanitizer: SEGV'
report_stage "$dir" s unit lines >/dev/null 2>&1
expect crash/is-a-failure '^FAIL t_crash: killed by signal 11, without a FAIL line'

world timeout
declare_test t_slow unit
ran s t_slow TIMEOUT -15 'PASS t/a'
report_stage "$dir" s unit lines >/dev/null 2>&1
expect timeout/is-a-failure '^FAIL t_slow: timed out after 1s'

world failing
declare_test t_fail unit
ran s t_fail FAIL 1 $'PASS t/a\nFAIL t/b: x.c:3: 1 == 2\n# t: 1 passed, 1 failed'
report_stage "$dir" s unit lines >/dev/null 2>&1
expect failing/fail-line-passed-on '^FAIL t/b: x.c:3'
if [ "$(grep -c '^FAIL' "$log")" = 1 ]; then ok failing/counted-once; else bad failing/counted-once "$(cat "$log")"; fi

world missing
declare_test t_ran unit
declare_test t_never unit
declare_test t_other integration
ran s t_ran OK 0 "$good_out"
report_stage "$dir" s unit lines >/dev/null
expect missing/is-a-failure "^FAIL t_never: in test/meson.build's suite 'unit' but not in meson's log"
if ! grep -q 't_other' "$log"; then ok missing/other-suite-not-asked; else bad missing/other-suite-not-asked "$(cat "$log")"; fi

world no-log
declare_test t_a unit
report_stage "$dir" s unit lines >/dev/null 2>&1
expect no-log/is-a-failure '^FAIL meson/s: meson test wrote no results'

world skip
declare_test t_image integration may-skip-in-ci
declare_test t_c integration
ran s t_image SKIP 77 'SKIP t_image/image: buildah cannot run here'
ran s t_c SKIP 77 'SKIP t_c/x: test cluster not running'
CI=true report_stage "$dir" s integration lines >/dev/null
expect skip/declared-may-skip-in-ci '^SKIP t_image: buildah cannot run here$'
if grep -qx 't_image: buildah cannot run here' "$skips"; then ok skip/named-with-reason; else bad skip/named-with-reason "$(cat "$skips")"; fi
expect skip/undeclared-fails-in-ci "^FAIL t_c: skipped under CI=true"
world skip-dev
declare_test t_c integration
ran s t_c SKIP 77 ''
CI="" report_stage "$dir" s integration lines >/dev/null
expect skip-dev/allowed-outside-ci '^SKIP t_c: exit 77 with no SKIP line saying why'

world all-skipped
declare_test t_allskip integration
ran s t_allskip OK 0 $'SKIP t/a: no cluster\n# t: 0 passed, 0 failed, 1 skipped'
CI=true report_stage "$dir" s integration lines >/dev/null
expect all-skipped/exit-0-with-only-skips-is-a-skip '^FAIL t_allskip: skipped under CI=true'

world valgrind
declare_test t_vg unit
declare_test t_vg_empty unit
declare_test t_vg_leak unit
ran s t_vg OK 0 "$good_out"
ran s t_vg_empty OK 0 ''
ran s t_vg_leak FAIL 99 "$good_out"
report_stage "$dir" s unit valgrind >/dev/null 2>&1
expect valgrind/pass '^PASS valgrind/t_vg$'
expect valgrind/empty-is-a-failure '^FAIL valgrind/t_vg_empty: exited 0, but no closing line'
expect valgrind/errors '^FAIL valgrind/t_vg_leak: valgrind reported errors or leaks'

world meson-status
report_meson_status s 1 0 2>/dev/null
expect meson-status/non-zero-without-failure '^FAIL meson/s: meson test exited 1 but no test of the stage failed'
world meson-status-ok
echo "FAIL x: y" >>"$log"
report_meson_status s 1 0
if [ "$(grep -c '^FAIL' "$log")" = 1 ]; then ok meson-status/explained-by-a-failure; else
    bad meson-status/explained-by-a-failure "$(cat "$log")"; fi

echo "# $suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

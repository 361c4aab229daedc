# How the test command reads a meson test stage (sourced by hack/test.sh; its self-test is
# test/runner/test_report.sh). Nothing here trusts a test's exit status alone:
#   - every test that test/meson.build puts in the stage's suite must be in meson's log
#     (a test meson never reached is a failure, not "not in this stage");
#   - a test that exits 0 must end with its own closing line "# NAME: N passed, N failed"
#     (", N skipped" may follow), and those numbers must be the PASS/FAIL/SKIP lines it
#     printed: a suite that prints nothing, or stops half-way and exits 0, is a failure;
#   - a test that exits non-zero without a FAIL line (a crash, a sanitizer report, a
#     timeout) is one failure;
#   - a whole test that skips (exit 77) is listed with the reason it printed (its SKIP
#     line) for the closing summary; under CI=true only a test that test/meson.build puts
#     in the suite "may-skip-in-ci" may skip, any other skip is a failure.
# The caller defines pass NAME and fail NAME WHY (which write PASS/FAIL lines to the
# run's log) and sets $results (the logs directory) and $skips (a file: one skipped test
# and its reason a line).
# shellcheck shell=bash disable=SC2154

# closing_line_problem FILE: says what is wrong with FILE's closing line, or nothing.
closing_line_problem() {
    local out=$1 line np nf ns p f s
    line=$(grep -E '^# [A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "no closing line '# NAME: N passed, N failed' (the test stopped early or printed nothing)"
        return
    fi
    np=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    nf=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    ns=$(sed -nE 's/.* ([0-9]+) skipped$/\1/p' <<<"$line")
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    s=$(grep -c '^SKIP ' "$out")
    if [ "$np" != "$p" ] || [ "$nf" != "$f" ] || { [ -n "$ns" ] && [ "$ns" != "$s" ]; }; then
        echo "its closing line '$line' disagrees with the lines it printed ($p PASS, $f FAIL, $s SKIP)"
    elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        echo "it ran no check ('$line')"
    fi
}

# report_stage BUILD STAGE SUITE MODE: the results of the `meson test --logbase STAGE
# --suite SUITE` just run in BUILD, in test/meson.build's order; each test's output is
# kept as $results/NAME.out (MODE lines: the test's own PASS/FAIL/SKIP lines are passed
# on) or $results/vg-NAME.out (MODE valgrind: one PASS or FAIL valgrind/NAME line).
report_stage() {
    local dir=$1 stage=$2 suite=$3 mode=$4 name entry out res rc why json problem suites
    # meson adds the wrapper's name: unit-valgrind-valgrind.json
    for json in "$dir/meson-logs/$stage.json" "$dir/meson-logs/$stage"-*.json; do
        [ -s "$json" ] && break
    done
    if [ ! -s "$json" ]; then
        fail "meson/$stage" "meson test wrote no results (see $results/meson-$stage.log)"
        tail -n 20 "$results/meson-$stage.log" >&2 2>/dev/null
        return
    fi
    while IFS=$'\t' read -r name suites; do
        entry=$(jq -c --arg n "$name" 'select((.name | sub("^.* / "; "")) == $n)' "$json")
        if [ -z "$entry" ]; then
            fail "$name" "in test/meson.build's suite '$suite' but not in meson's log of stage $stage (meson stopped early, or never reached it)"
            continue
        fi
        res=$(jq -r .result <<<"$entry")
        rc=$(jq -r .returncode <<<"$entry")
        case $res in
        TIMEOUT) why="timed out after $(jq -r '.duration | floor' <<<"$entry")s (its timeout in test/meson.build)" ;;
        *) if [ "$rc" -lt 0 ]; then why="killed by signal $((-rc))"; else why="exited with status $rc"; fi ;;
        esac
        printf '%5d s    %s %s\n' "$(jq -r '.duration | floor' <<<"$entry")" "$stage" "$name" >>"$results/times.txt"
        if [ "$mode" = valgrind ]; then out="$results/vg-$name.out"; else out="$results/$name.out"; fi
        jq -r .stdout <<<"$entry" >"$out"
        # exit 77, or exit 0 with nothing but SKIP lines: the whole test skipped
        if [ "$res" = SKIP ] || { [ "$res" = OK ] && ! grep -qE '^(PASS|FAIL) ' "$out" && grep -q '^SKIP ' "$out"; }; then
            report_skip "$name" "$suites" "$out"
            continue
        fi
        if [ "$mode" = valgrind ]; then
            if [ "$res" != OK ]; then
                [ "$rc" = 99 ] && why="valgrind reported errors or leaks"
                fail "valgrind/$name" "$why"
                tail -n 40 "$out" >&2
            elif problem=$(closing_line_problem "$out") && [ -n "$problem" ]; then
                fail "valgrind/$name" "exited 0, but $problem"
            else
                pass "valgrind/$name"
            fi
            continue
        fi
        grep -E '^(PASS|FAIL|SKIP|     )' "$out" | tee -a "$log"
        if [ "$res" = OK ]; then
            problem=$(closing_line_problem "$out")
            [ -z "$problem" ] || fail "$name" "exited 0, but $problem"
        elif ! grep -q '^FAIL' "$out"; then
            fail "$name" "$why, without a FAIL line (a crash, a sanitizer report, a hang)"
            tail -n 40 "$out" >&2
        else
            tail -n 60 "$out" | grep -vE '^(PASS|SKIP)' >&2
        fi
    done < <(jq -r --arg s "eastwest:$suite" '.[] | select(.suite | index($s)) | [.name, (.suite | join(","))] | @tsv' \
        "$dir/meson-info/intro-tests.json")
}

# report_skip NAME SUITES OUT: a whole test skipped (exit 77).
report_skip() {
    local name=$1 suites=$2 out=$3 reason
    reason=$(grep -m 1 '^SKIP ' "$out" | sed -E 's/^SKIP [^:]*: ?//')
    [ -n "$reason" ] || reason="exit 77 with no SKIP line saying why"
    if [ "${CI:-}" = true ] && ! grep -q 'eastwest:may-skip-in-ci' <<<"$suites"; then
        fail "$name" "skipped under CI=true, which only a test in suite 'may-skip-in-ci' may do: $reason"
        return
    fi
    echo "SKIP $name: $reason" | tee -a "$log"
    printf '%s: %s\n' "$name" "$reason" >>"$skips"
}

# report_meson_status STAGE STATUS FAILS-BEFORE: meson test's own exit status must agree with
# what was counted: a non-zero status with no failure counted in the stage is a failure.
report_meson_status() {
    local stage=$1 status=$2 before=$3
    if [ "$status" -ne 0 ] && [ "$(grep -c '^FAIL' "$log")" -eq "$before" ]; then
        fail "meson/$stage" "meson test exited $status but no test of the stage failed (see $results/meson-$stage.log)"
        tail -n 20 "$results/meson-$stage.log" >&2 2>/dev/null
    fi
}

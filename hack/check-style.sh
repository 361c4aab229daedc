#!/usr/bin/env bash
# Style check: every C file must be formatted by .clang-format.
#   bash hack/check-style.sh        # list files that differ, exit 1 if any
#   bash hack/check-style.sh --fix  # reformat them in place
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "needs formatting: $f"
        bad=1
    fi
done
exit $bad

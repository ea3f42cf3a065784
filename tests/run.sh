#!/bin/sh
# run.sh unit|e2e|all [PYTEST-SELECTION] - runs checkpointd's tests and ends
# with one line "N passed, N failed" over everything that ran.
#
# Unit tests are the cmocka programs build/tests/test_* (TAP output);
# end-to-end tests are tests/e2e/test_*.py under Debian's pytest, against a
# real Docker Engine that tests/bed starts and stops.
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
sel=${2:-}
passed=0
failed=0
mkdir -p build

run_unit() {
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		p=$(printf '%s\n' "$out" | grep -c '^ok ')
		f=$(printf '%s\n' "$out" | grep -c '^not ok ')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "unit: $t exited $rc" >&2
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
}

run_e2e() {
	xml=build/e2e-results.xml
	rm -f "$xml"
	# shellcheck disable=SC2086
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE --junitxml="$xml" \
		--rootdir=tests/e2e ${sel:-tests/e2e}
	if [ -f "$xml" ]; then
		counts=$(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f)
PY
)
		passed=$((passed + ${counts% *}))
		failed=$((failed + ${counts#* }))
	else
		echo "e2e: pytest wrote no results" >&2
		failed=$((failed + 1))
	fi
}

case "$what" in
unit) run_unit ;;
e2e) run_e2e ;;
all) run_unit; run_e2e ;;
*) echo "usage: run.sh unit|e2e|all [selection]" >&2; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

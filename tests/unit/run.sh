#!/bin/bash
# Runs unit test programs (each bounded by a timeout) and counts their lines.
# Prints "N passed, N failed, N skipped"; exits 1 if anything failed.
pass=0; fail=0; skip=0
for t in "$@"; do
	out=$(timeout 120 "$t" 2>&1); rc=$?
	p=$(grep -c '^ok - ' <<<"$out"); f=$(grep -c '^not ok - ' <<<"$out"); s=$(grep -c '^skip - ' <<<"$out")
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $(basename "$t") exited $rc without a failing check"; fail=$((fail + 1))
	fi
	grep -E '^(not ok|skip) - |^#' <<<"$out" | sed "s|^|$(basename "$t"): |"
	echo "$(basename "$t"): $p passed, $f failed, $s skipped"
done
echo "unit: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

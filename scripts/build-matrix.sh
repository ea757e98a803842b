#!/bin/bash
# Build the module against every supported kernel's headers with W=1 and
# sparse (C=2); any compiler or sparse warning in our sources is a failure.
# Prints one PASS:/FAIL: line per kernel.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"
rc=0

for hdr in $(ls -d /usr/src/linux-headers-6.1.0-*-amd64 \
		   /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V); do
	ver=${hdr#/usr/src/linux-headers-}
	tmp=$(mktemp -d)
	cp -r "$REPO"/*.c "$REPO"/*.h "$REPO"/Kbuild "$REPO"/tests "$tmp"/
	log=$OUT/build-$ver.log
	if make -C "$hdr" M="$tmp" W=1 C=2 modules >"$log" 2>&1; then
		warn=$(grep -E "(warning|error):" "$log" | grep -v "^WARNING: modpost" || true)
		if [ -n "$warn" ]; then
			echo "FAIL: build.$ver: warnings"
			echo "$warn" | head -20
			rc=1
		else
			echo "PASS: build.$ver"
		fi
	else
		echo "FAIL: build.$ver: make failed"
		tail -20 "$log"
		rc=1
	fi
	rm -rf "$tmp"
done
exit $rc

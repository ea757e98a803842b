#!/bin/bash
# Build the module, and compile the KUnit suites (DLM_LC_TESTS=compile:
# Debian's kernels have no KUnit to link them against), against every
# supported kernel's headers with W=1 and sparse (C=2); any compiler or
# sparse warning in our sources, or sparse not running, is a failure. Debian 12's 6.1 and 6.12 headers on the host;
# sid's (7.2) and experimental's (7.3) in a cached sid chroot
# (scripts/sid-chroot.sh; DLM_LC_NEW_KERNELS=0 leaves them out).
# Prints one PASS:/FAIL: line per kernel.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/outdir.sh"
OUT=$DLM_LC_OUT
mkdir -p "$OUT"
rc=0

# judge VER LOG MAKE_RC: one PASS/FAIL line. Sparse must really have run:
# kbuild turns C=2 off with only a make warning when it finds no checker.
judge() {
	local warn
	if [ "$3" != 0 ]; then
		echo "FAIL: build.$1: make failed"
		tail -20 "$2"
		rc=1
		return
	fi
	if grep -q "is not available or not up to date" "$2" ||
	   ! grep -q "^  CHECK " "$2"; then
		echo "FAIL: build.$1: sparse did not run (see $2)"
		rc=1
		return
	fi
	warn=$(grep -E "(warning|error):" "$2" | grep -v "^WARNING: modpost" || true)
	if [ -n "$warn" ]; then
		echo "FAIL: build.$1: warnings"
		echo "$warn" | head -20
		rc=1
	else
		echo "PASS: build.$1"
	fi
}

copy_src() { cp -r "$REPO"/*.c "$REPO"/*.h "$REPO"/*.mk "$REPO"/Kbuild "$REPO"/tests "$1"/; }

for hdr in $(ls -d /usr/src/linux-headers-6.1.0-*-amd64 \
		   /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V); do
	ver=${hdr#/usr/src/linux-headers-}
	tmp=$(mktemp -d)
	copy_src "$tmp"
	log=$OUT/build-$ver.log
	make -C "$hdr" M="$tmp" W=1 C=2 DLM_LC_TESTS=compile modules >"$log" 2>&1
	judge "$ver" "$log" $?
	rm -rf "$tmp"
done

# The newest kernels, sid's and experimental's, in a sid chroot (their
# kbuild helpers need sid's glibc and gcc-16). DLM_LC_NEW_KERNELS=0 skips.
if [ "${DLM_LC_NEW_KERNELS:-1}" != 0 ]; then
	if root=$("$HERE/sid-chroot.sh" | tail -n1) && [ -d "$root/usr/src" ]; then
		for s in 7.2 7.3; do
			hdr=$(ls -d "$root"/usr/src/linux-headers-"$s"[.-]*amd64 2>/dev/null | sort -V | tail -n1)
			[ -n "$hdr" ] || { echo "FAIL: build.$s: no $s headers in $root"; rc=1; continue; }
			ver=${hdr##*/linux-headers-}
			tmp=$(mktemp -d "$root/tmp/dlm_lc_build.XXXXXX") ||
				{ echo "FAIL: build.$ver: mktemp in $root/tmp"; rc=1; continue; }
			copy_src "$tmp"
			log=$OUT/build-$ver.log
			# a /proc for objtool, private to this make: never left mounted
			unshare --mount-proc="$root/proc" chroot "$root" \
				/usr/bin/env -i PATH=/usr/bin:/bin \
				make -C "/usr/src/linux-headers-$ver" M="/tmp/${tmp##*/}" \
				W=1 C=2 DLM_LC_TESTS=compile modules >"$log" 2>&1
			judge "$ver" "$log" $?
			rm -rf "$tmp"
		done
	else
		echo "FAIL: build.sid-chroot: scripts/sid-chroot.sh failed"
		rc=1
	fi
fi
exit $rc

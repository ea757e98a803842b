#!/bin/bash
# usage: dlm-ko.sh [KREL...|uml]   (make dlm-ko [KVER="KREL..."])
# Builds the drop-in dlm.ko for each kernel release KREL (default: every
# Debian 6.1 and 6.12 kernel whose headers are installed): that kernel's
# own fs/dlm, taken from its Debian linux-source package of the very same
# version, with our transport (lc/) and dropin/adapter.c in place of its
# lowcomms.c (KREL uml: the debug UML kernel of scripts/uml-kernel.sh and
# its own sources, for the lockdep run of scripts/uml-test.sh dropin).
# Nothing of the kernel's sources is edited or kept in the
# repo: they are unpacked into the output folder at each build.
# DLM_LC_STRICT=1 (the default; dkms.conf sets 0): our files are
# compiled again alone with W=1 and sparse, and any warning in them fails
# the build (the kernel's own files are judged by its maintainers).
# Output: $DLM_LC_OUT/dlm-ko/KREL/dlm.ko, one PASS/FAIL line per kernel.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/outdir.sh"
OUT=$(realpath -m "$DLM_LC_OUT/dlm-ko")	# kbuild's M= must be absolute
mkdir -p "$OUT"
# the transport: the same files the standalone module builds from
LC_FILES="lowcomms.c lowcomms.h lowcomms_int.h sock.c send.c recv.c frame.c
	  wire.h writequeue.c writequeue.h addr.c addr.h compat.h test_hooks.h
	  features.mk"
rc=0

fail() { echo "FAIL: dlm-ko.$krel: $*"; rc=1; }

our_objs() {
	local f
	echo dlm_lc_adapter.o
	for f in $LC_FILES; do
		case $f in *.c) echo "lc/${f%.c}.o" ;; esac
	done
}

# strict KREL DIR: our objects compiled once more, alone, with W=1 and
# sparse: every line of that log is about our files (a warning inside a
# header would otherwise hide among those of the kernel's own files).
# $MK is the make command for the target kernel.
strict() {
	local krel=$1 b=$2 log warn o
	log=$OUT/check-$krel.log
	for o in $(our_objs); do rm -f "$b/fs/dlm/$o"; done
	if ! "${MK[@]}" M="$b/fs/dlm" W=1 C=2 $(our_objs) >"$log" 2>&1; then
		fail "make of our objects failed (log $log)"
		return 1
	fi
	if [ "$(grep -c '^  CHECK ' "$log")" -lt 2 ] ||
	   grep -q 'is not available or not up to date' "$log"; then
		fail "sparse did not run (log $log)"
		return 1
	fi
	warn=$(grep -E '(warning|error):' "$log")
	if [ -n "$warn" ]; then
		fail "warnings in our files"
		echo "$warn" | head -n 20
		return 1
	fi
}

# tree KREL DIR: our files beside the kernel's fs/dlm (already in
# DIR/fs/dlm) and its trace header (already in DIR/include/trace/events)
tree() {
	local b=$2 f
	for f in $LC_FILES; do
		cp "$REPO/$f" "$b/fs/dlm/lc/" || { fail "missing $f"; return 1; }
	done
	cp "$REPO/dropin/adapter.c" "$b/fs/dlm/dlm_lc_adapter.c" &&
		cp "$REPO/dropin/Kbuild" "$b/fs/dlm/Kbuild" || { fail "copy"; return 1; }
}

# build KREL DIR RELEASE: make, strict, and check what came out
build() {
	local krel=$1 b=$2 release=$3 log ver
	log=$OUT/build-$krel.log
	if ! "${MK[@]}" M="$b/fs/dlm" -j"$(nproc)" modules >"$log" 2>&1; then
		fail "make failed (log $log)"
		grep -E 'error' "$log" | head -n 20
		return
	fi
	[ "${DLM_LC_STRICT:-1}" = 1 ] && ! strict "$krel" "$b" && return
	ver=$(/sbin/modinfo -F version "$b/fs/dlm/dlm.ko" 2>/dev/null)
	case $ver in
	lowcomms-*) ;;
	*) fail "dlm.ko has version '$ver', not ours"; return ;;
	esac
	if ! /sbin/modinfo -F vermagic "$b/fs/dlm/dlm.ko" | grep -q "^$release "; then
		fail "vermagic is not $release"
		return
	fi
	cp "$b/fs/dlm/dlm.ko" "$b/dlm.ko"
	echo "PASS: dlm-ko.$krel ($ver, $(stat -c %s "$b/dlm.ko") bytes)"
}

# uml: the debug UML kernel of scripts/uml-kernel.sh (built with DLM=m),
# its own source tree's fs/dlm
one_uml() {
	local krel=uml kbuild ksrc b
	kbuild=$("$HERE/uml-kernel.sh" | tail -n1) && [ -x "$kbuild/linux" ] ||
		{ fail "no debug UML kernel"; return; }
	ksrc=$(cat "$kbuild/.srcdir")
	grep -qx 'CONFIG_DLM=m' "$kbuild/.config" ||
		{ fail "the UML kernel has no CONFIG_DLM=m"; return; }
	b=$OUT/$krel
	rm -rf "$b"
	mkdir -p "$b/fs/dlm/lc" "$b/include/trace/events"
	cp -r "$ksrc/fs/dlm/." "$b/fs/dlm/" &&
		cp "$ksrc/include/trace/events/dlm.h" "$b/include/trace/events/" ||
		{ fail "cannot copy fs/dlm from $ksrc"; return; }
	tree "$krel" "$b" || return
	MK=(make -C "$ksrc" O="$kbuild" ARCH=um)
	build "$krel" "$b" "$(cat "$kbuild/include/config/kernel.release")"
}

one() {
	local krel=$1 hdr=/usr/src/linux-headers-$1 common series tarball
	local hver sver b
	[ -d "$hdr" ] || { fail "no headers in $hdr"; return; }
	common=$(sed -n 's|^include .*/\(linux-headers-[^/]*-common\)/Makefile$|\1|p' \
		"$hdr/Makefile" | head -n1)
	[ -n "$common" ] || common=linux-headers-$krel
	series=$(awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} END{print v"."p}' \
		"/usr/src/$common/Makefile")
	tarball=/usr/src/linux-source-$series.tar.xz
	[ -f "$tarball" ] || { fail "no $tarball (package linux-source-$series)"; return; }
	# MODVERSIONS: the sources must be those the headers were made from
	hver=$(dpkg-query -W -f='${Version}' "linux-headers-$krel" 2>/dev/null)
	sver=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null)
	if [ -z "$hver" ] || [ "$hver" != "$sver" ]; then
		fail "linux-headers-$krel is ${hver:-missing}, linux-source-$series is ${sver:-missing}: they must be the same version"
		return
	fi

	b=$OUT/$krel
	rm -rf "$b"
	mkdir -p "$b/fs/dlm/lc" "$b/include/trace/events"
	if ! tar -xJf "$tarball" -C "$b/fs/dlm" --strip-components=3 \
		"linux-source-$series/fs/dlm"; then
		fail "cannot unpack fs/dlm from $tarball"
		return
	fi
	# the trace header as these headers have it (see dropin/Kbuild)
	cp "/usr/src/$common/include/trace/events/dlm.h" "$b/include/trace/events/" ||
		{ fail "no include/trace/events/dlm.h in /usr/src/$common"; return; }
	tree "$krel" "$b" || return
	MK=(make -C "$hdr")
	build "$krel" "$b" "$krel"
}

krels=("$@")
if [ ${#krels[@]} = 0 ]; then
	for hdr in $(ls -d /usr/src/linux-headers-6.1.0-*-amd64 \
			   /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V); do
		krels+=("${hdr#/usr/src/linux-headers-}")
	done
fi
[ ${#krels[@]} -gt 0 ] || { echo "FAIL: dlm-ko: no kernel headers (scripts/deps.sh)"; exit 1; }
for krel in "${krels[@]}"; do
	if [ "$krel" = uml ]; then
		one_uml
	else
		one "$krel"
	fi
done
exit $rc

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# dkms-test.sh [KREL...]: Debian's dkms builds and installs the drop-in
# dlm.ko (dkms.conf) for each kernel (default: the Debian 6.1 and 6.12
# kernels whose headers are installed), entirely inside scratch trees
# (--sourcetree, --dkmstree, --installtree, no depmod): nothing goes into
# /lib/modules or /var/lib/dkms of this machine. Checks that the installed
# module is ours, named dlm, under updates/, and that dkms removes it.
# One PASS/FAIL line per kernel.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/outdir.sh"
command -v dkms >/dev/null || { echo "FAIL: dkms: dkms missing (scripts/deps.sh)"; exit 1; }
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$REPO/dkms.conf")
pver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
kver=$(sed -n "s/^dlm_lc_features := -DDLM_LC_VERSION='\"\(.*\)\"'$/\1/p" "$REPO/features.mk")
if [ -z "$pver" ] || [ "$pver" != "$kver" ]; then
	echo "FAIL: dkms.version: dkms.conf says '$pver', features.mk '$kver'"
	exit 1
fi

t=$(mktemp -d /tmp/dlm_lc_dkms.XXXXXX)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src/$name-$pver" "$t/dkms" "$t/install"
# the sources as a release would ship them: what git tracks
git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 cp --parents -t "$t/src/$name-$pver")
opts=(--sourcetree "$t/src" --dkmstree "$t/dkms" --installtree "$t/install")
# no signing, and if dkms signs anyway, keys in the scratch tree: dkms
# would otherwise make /var/lib/dkms/mok.key on this machine
export sign_file=$t/no-sign-file mok_signing_key=$t/mok.key mok_certificate=$t/mok.pub
log=$DLM_LC_OUT/dkms.log
: >"$log"
rc=0

krels=("$@")
if [ ${#krels[@]} = 0 ]; then
	for hdr in $(ls -d /usr/src/linux-headers-6.1.0-*-amd64 \
			   /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V); do
		krels+=("${hdr#/usr/src/linux-headers-}")
	done
fi
dkms add -m "$name" -v "$pver" "${opts[@]}" >>"$log" 2>&1 ||
	{ echo "FAIL: dkms.add (log $log)"; exit 1; }
for k in "${krels[@]}"; do
	if ! dkms build -m "$name" -v "$pver" -k "$k" "${opts[@]}" >>"$log" 2>&1; then
		echo "FAIL: dkms.$k: build (log $log)"
		rc=1
		continue
	fi
	# dkms installs only into a kernel's existing module folder
	mkdir -p "$t/install/$k"
	if ! dkms install -m "$name" -v "$pver" -k "$k" --no-depmod "${opts[@]}" \
		>>"$log" 2>&1; then
		echo "FAIL: dkms.$k: install (log $log)"
		rc=1
		continue
	fi
	ko=$(find "$t/install/$k" -name 'dlm.ko*' -path '*/updates/*' | head -n1)
	v=$([ -n "$ko" ] && /sbin/modinfo -F version "$ko" 2>/dev/null)
	case $v in
	lowcomms-*) ;;
	*)	echo "FAIL: dkms.$k: no dlm.ko of ours under $t/install/$k/updates (found '${ko:-none}', version '$v')"
		rc=1
		continue ;;
	esac
	if ! dkms uninstall -m "$name" -v "$pver" -k "$k" --no-depmod "${opts[@]}" \
		>>"$log" 2>&1 || [ -e "$ko" ]; then
		echo "FAIL: dkms.$k: uninstall left $ko"
		rc=1
		continue
	fi
	echo "PASS: dkms.$k (${ko#"$t/install/"}, $v)"
done
exit $rc

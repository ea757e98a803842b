#!/bin/bash
# A Debian sid chroot that builds the module against the newest kernels:
# sid's headers (7.2) and experimental's (7.3), with sid's gcc-16 and
# sparse. Their kbuild helpers need sid's glibc, so they cannot run on
# bookworm directly. The host's apt sources are left alone.
#
# Cached in $DLM_LC_CACHE/sid-chroot (default /var/cache/dlm_lowcomms);
# made from nothing when missing (about 1 minute and 1 GB). Prints the
# chroot's path last; the header trees are its usr/src/linux-headers-7.*.
# env: DLM_LC_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail

CACHE=${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}
DIR=$CACHE/sid-chroot
MIRROR=${DLM_LC_MIRROR:-http://deb.debian.org/debian}
# bump when what the chroot holds changes
READY=.dlm_lc-ready-1

# in_root DIR SCRIPT: run SCRIPT in the chroot, with a /proc of its own
in_root() {
	local rc=0
	mount -t proc proc "$1/proc"
	chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive bash -c "$2" || rc=$?
	umount "$1/proc"
	return $rc
}

# Debian's headers packages lack scripts/checker-valid.sh, and without it
# kbuild turns C=2 off with only a make warning. Ours answers the same
# question: does the checker run at all.
checker_valid() {
	cat >"$1" <<'EOF'
#!/bin/sh
# Added by dlm_lowcomms' scripts/sid-chroot.sh: prints 1 if the checker
# given as "$@" runs on a trivial C file.
t=$(mktemp --suffix=.c) || exit 0
echo 'int dlm_lc_probe;' >"$t"
"$@" "$t" >/dev/null 2>&1 && echo 1
rm -f "$t"
EOF
	chmod 755 "$1"
}

if [ ! -e "$DIR/$READY" ]; then
	command -v debootstrap >/dev/null ||
		{ echo "sid-chroot: debootstrap missing (scripts/deps.sh installs it)" >&2; exit 1; }
	mkdir -p "$CACHE"
	tmp=$DIR.tmp
	# a run killed mid-way may have left its /proc mounted there
	umount "$tmp/proc" 2>/dev/null || true
	rm -rf --one-file-system "$tmp"
	echo "sid-chroot: debootstrap sid into $tmp" >&2
	debootstrap --variant=minbase \
		--include=gcc-16,gcc-16-for-host,make,libc6-dev,bc,kmod,libelf-dev,sparse \
		sid "$tmp" "$MIRROR" >"$CACHE/sid-chroot.log" 2>&1 ||
		{ echo "sid-chroot: debootstrap failed, see $CACHE/sid-chroot.log" >&2; exit 1; }
	# the mirror's sid Release can be past its Valid-Until
	echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99dlm-lc"
	echo "deb $MIRROR experimental main" >"$tmp/etc/apt/sources.list.d/experimental.list"
	# sid's current headers, and the ones experimental's metapackage names
	in_root "$tmp" '
		set -e
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends linux-headers-amd64 >/dev/null
		exp=$(apt-cache depends -t experimental linux-headers-amd64 |
			awk "/Depends: linux-headers-[0-9]/ { print \$2; exit }")
		[ -n "$exp" ]
		apt-get install -y -q --no-install-recommends -t experimental "$exp" >/dev/null
		apt-get clean' >>"$CACHE/sid-chroot.log" 2>&1 ||
		{ echo "sid-chroot: headers install failed, see $CACHE/sid-chroot.log" >&2; exit 1; }
	for c in "$tmp"/usr/src/linux-headers-*-common; do
		if [ -d "$c/scripts" ] && [ ! -e "$c/scripts/checker-valid.sh" ]; then
			checker_valid "$c/scripts/checker-valid.sh"
		fi
	done
	touch "$tmp/$READY"
	umount "$DIR/proc" 2>/dev/null || true
	rm -rf --one-file-system "$DIR"
	mv "$tmp" "$DIR"
fi
echo "$DIR"

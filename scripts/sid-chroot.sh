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
READY=.dlm_lc-ready-2

# in_root DIR SCRIPT: run SCRIPT in the chroot, with a /proc of its own in
# a private mount namespace (it goes with the process: nothing to unmount)
in_root() {
	unshare --mount-proc="$1/proc" chroot "$1" \
		/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive bash -c "$2"
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

mkdir -p "$CACHE"
# one maker at a time (CI and a developer, two checkouts)
exec 8>"$CACHE/.lock-sid-chroot"
flock -w 900 8 || { echo "sid-chroot: $CACHE/.lock-sid-chroot held for 15 min" >&2; exit 1; }
if [ ! -e "$DIR/$READY" ]; then
	command -v debootstrap >/dev/null ||
		{ echo "sid-chroot: debootstrap missing (scripts/deps.sh installs it)" >&2; exit 1; }
	mkdir -p "$CACHE"
	tmp=$DIR.tmp
	# what a killed debootstrap left mounted there (its /proc, /sys)
	findmnt -rno TARGET | { grep -F "$tmp/" || true; } | sort -r | xargs -r -n1 umount -l
	rm -rf --one-file-system "$tmp"
	echo "sid-chroot: debootstrap sid into $tmp" >&2
	# bounded: an unreachable mirror must fail the step, not hang it
	timeout 1800 debootstrap --variant=minbase \
		--include=gcc-16,gcc-16-for-host,make,libc6-dev,bc,kmod,libelf-dev,sparse \
		sid "$tmp" "$MIRROR" >"$CACHE/sid-chroot.log" 2>&1 ||
		{ echo "sid-chroot: debootstrap failed, see $CACHE/sid-chroot.log" >&2; exit 1; }
	# the mirror's sid Release can be past its Valid-Until
	echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99dlm-lc"
	echo "deb $MIRROR experimental main" >"$tmp/etc/apt/sources.list.d/experimental.list"
	# the newest headers of each series we test (sid's 7.2, experimental's
	# 7.3); each must be there
	in_root "$tmp" '
		set -e
		apt-get update -q >/dev/null
		for s in 7.2 7.3; do
			p=$(apt-cache pkgnames linux-headers-$s |
				grep -E "^linux-headers-${s}[-.+0-9a-z]*-amd64\$" |
				grep -v -e cloud -e rt- | sort -V | tail -n1)
			[ -n "$p" ] || { echo "no linux-headers-$s-*-amd64" >&2; exit 1; }
			apt-get install -y -q --no-install-recommends -t experimental "$p" >/dev/null
		done
		apt-get clean' >>"$CACHE/sid-chroot.log" 2>&1 ||
		{ echo "sid-chroot: headers install failed, see $CACHE/sid-chroot.log" >&2; exit 1; }
	for c in "$tmp"/usr/src/linux-headers-*-common; do
		if [ -d "$c/scripts" ] && [ ! -e "$c/scripts/checker-valid.sh" ]; then
			checker_valid "$c/scripts/checker-valid.sh"
		fi
	done
	touch "$tmp/$READY"
	findmnt -rno TARGET | { grep -F "$DIR/" || true; } | sort -r | xargs -r -n1 umount -l
	rm -rf --one-file-system "$DIR"
	mv "$tmp" "$DIR"
fi
echo "$DIR"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# debian-kernel.sh <6.12|6.1|7.2|7.3> [extra-module ...]
#
# Prepare a Debian kernel for QEMU tests without installing it: downloads
# linux-image-<abi>-amd64-unsigned (or the signed one) with `apt-get download`
# and unpacks it with `dpkg-deb -x` into
#   ${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}/debian-<abi>/
# The ABI is taken from the installed headers, so image and headers match.
# 7.2 (sid) and 7.3 (experimental): headers, dpkg and apt of the sid chroot
# (scripts/sid-chroot.sh); env then also has CHROOT=, and HEADERS is the
# path inside it.
#
# The directory gets:
#   vmlinuz            the kernel image
#   modules/*.ko       configfs.ko, veth.ko (+ extra modules and their
#                      dependencies), decompressed
#   modules/load-order the .ko names in insmod order (dependencies first)
#   headers            symlink to /usr/src/linux-headers-<abi>
#   env                shell-sourceable: ABI= VMLINUZ= HEADERS= MODDIR=
# The directory path is the last line on stdout.  Everything else goes to
# stderr.  Rebuilt from nothing if missing or incomplete; if only extra
# modules are missing (the image matches), they are added to the existing
# directory and load-order, and nothing already there is removed.
set -euo pipefail

ver=${1:?usage: debian-kernel.sh <6.12|6.1|7.2|7.3> [extra-module ...]}
shift
extra=("$@")
cache=${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}

log() { echo "debian-kernel: $*" >&2; }
die() { log "error: $*"; exit 1; }

root=
case "$ver" in
6.12) pat='/usr/src/linux-headers-6.12.*-amd64' ;;
6.1)  pat='/usr/src/linux-headers-6.1.0-*-amd64' ;;
7.2|7.3)
	root=$("$(dirname "$0")/sid-chroot.sh" | tail -n1) || die "no sid chroot"
	pat="$root/usr/src/linux-headers-$ver[.-]*amd64"
	;;
*) die "unknown kernel '$ver' (want 6.12, 6.1, 7.2 or 7.3)" ;;
esac
# in_root CMD...: the host's tools, or the chroot's for 7.x
in_root() {
	if [ -n "$root" ]; then
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	else
		"$@"
	fi
}

# Newest installed headers of that series.
headers=$(ls -d $pat 2>/dev/null | sort -V | tail -n1 || true)
[ -n "$headers" ] && [ -d "$headers" ] ||
	die "no headers matching $pat: apt-get install linux-headers-${ver/6.1/6.1.0-*}-amd64"
abi=${headers##*/linux-headers-}
# Exact Debian version of the headers package: the image must be the same.
hdr_pkg=linux-headers-$abi
hdr_debver=$(in_root dpkg-query -W -f='${Version}' "$hdr_pkg" 2>/dev/null) ||
	die "$hdr_pkg is not a dpkg-installed package"

dir=$cache/debian-$abi
mods=(configfs veth "${extra[@]}")

complete() {
	[ -s "$dir/vmlinuz" ] && [ -s "$dir/env" ] && [ -s "$dir/modules/load-order" ] || return 1
	grep -qx "DEBVER=$hdr_debver" "$dir/env" || return 1
	local m
	for m in "${mods[@]}"; do
		# built into that kernel (6.12's virtio_pci): nothing to fetch
		[ -s "$dir/modules/$m.ko" ] ||
			grep -qE "(^|/)$m\.ko\$" "$dir/modules.builtin" 2>/dev/null ||
			return 1
	done
}

# Parallel runs (6.1 and 6.12 at once, CI) share the cache: one preparer.
mkdir -p "$cache"
exec 9>"$cache/.lock-$abi"
command -v flock >/dev/null && flock -w 600 9

# The image is there and matches, only some requested modules are missing
# (a caller asked for extra modules): add them, keep everything else.
base_ok() {
	[ -s "$dir/vmlinuz" ] && [ -s "$dir/env" ] && [ -s "$dir/modules/load-order" ] &&
		grep -qx "DEBVER=$hdr_debver" "$dir/env"
}

if ! complete; then
	incremental=0
	if base_ok; then
		incremental=1
		log "adding modules to $dir (image for $abi, version $hdr_debver)"
	else
		log "preparing $dir (image for $abi, version $hdr_debver)"
		rm -rf "$dir"
	fi
	mkdir -p "$dir/modules"
	# the download lands where the chroot's apt can write it, for 7.x
	tmp=$(mktemp -d "${root:-$cache}/${root:+tmp/}.dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp"	# apt-get download drops privileges to _apt
	got=
	# newer Debian splits the image: the kernel in linux-binary-unsigned-*,
	# the modules in linux-modules-* (fetched too, below)
	for pkg in "linux-image-$abi-unsigned" "linux-binary-unsigned-$abi" "linux-image-$abi"; do
		cand=$(in_root apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
			# Package lists may be stale or absent.
			in_root apt-get update >/dev/null 2>&1 || true
			cand=$(in_root apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/{print $2}')
		fi
		[ -n "$cand" ] && [ "$cand" != "(none)" ] || continue
		if [ "$cand" != "$hdr_debver" ]; then
			log "skip $pkg $cand: headers are $hdr_debver"
			continue
		fi
		if [ -n "$root" ]; then
			chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
				sh -c 'cd "$1" && apt-get download "$2"' dl "/tmp/${tmp##*/}" \
				"$pkg=$cand" >&2 && got=$pkg && break
		elif (cd "$tmp" && apt-get download "$pkg=$cand" >&2); then
			got=$pkg
			break
		fi
	done
	[ -n "$got" ] || die "cannot download linux-image-$abi(-unsigned) version $hdr_debver"
	case $got in
	linux-binary-unsigned-*)
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			sh -c 'cd "$1" && apt-get download "$2"' dl "/tmp/${tmp##*/}" \
			"linux-modules-$abi=$hdr_debver" >&2 ||
			die "cannot download linux-modules-$abi version $hdr_debver"
		;;
	esac
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$tmp/x"
	done
	if [ "$incremental" != 1 ]; then
		# /boot in the classic packages, the modules directory in the split
		for k in "$tmp/x/boot/vmlinuz-$abi" "$tmp/x/usr/lib/modules/$abi/vmlinuz.unsigned" \
			 "$tmp/x/usr/lib/modules/$abi/vmlinuz"; do
			[ -s "$k" ] && { cp "$k" "$dir/vmlinuz"; break; }
		done
		[ -s "$dir/vmlinuz" ] || die "no kernel image in the $abi packages"
	fi
	kmod=$tmp/x/lib/modules/$abi
	[ -d "$kmod" ] || kmod=$tmp/x/usr/lib/modules/$abi
	[ -d "$kmod" ] || die "no modules directory in $deb"
	# The package carries no modules.dep (made at install time): make it.
	if [ ! -s "$kmod/modules.dep" ]; then
		command -v depmod >/dev/null || PATH=$PATH:/sbin:/usr/sbin
		depmod -b "${kmod%/lib/modules/$abi}" "$abi" ||
			die "depmod failed on the unpacked $abi modules"
	fi
	cp "$kmod/modules.dep" "$kmod/modules.builtin" "$dir/" 2>/dev/null || true

	# Resolve each wanted module and its dependencies from modules.dep;
	# emit dependencies before the module itself.
	order=()
	if [ "$incremental" = 1 ]; then
		# modules already prepared stay, in their order
		while read -r m; do
			[ -n "$m" ] && [ -s "$dir/modules/$m" ] && order+=("${m%.ko}")
		done <"$dir/modules/load-order"
	fi
	add() {
		local name=$1 line rel dep d
		for d in "${order[@]}"; do [ "$d" = "$name" ] && return 0; done
		line=$(grep -E "(^|/)${name}\.ko(\.xz|\.zst|\.gz)?:" "$kmod/modules.dep" | head -n1 || true)
		if [ -z "$line" ]; then
			if grep -qE "(^|/)${name}\.ko\$" "$kmod/modules.builtin" 2>/dev/null; then
				log "$name is built in"
				return 0
			fi
			die "module $name not found in $abi"
		fi
		rel=${line%%:*}
		for dep in ${line#*:}; do
			dep=${dep##*/}
			add "${dep%%.ko*}"
		done
		case "$rel" in
		*.xz)  xz -dc "$kmod/$rel" >"$dir/modules/.$name.ko.tmp" ;;
		*.zst) zstd -qdc "$kmod/$rel" >"$dir/modules/.$name.ko.tmp" ;;
		*.gz)  gzip -dc "$kmod/$rel" >"$dir/modules/.$name.ko.tmp" ;;
		*)     cp "$kmod/$rel" "$dir/modules/.$name.ko.tmp" ;;
		esac
		mv "$dir/modules/.$name.ko.tmp" "$dir/modules/$name.ko"
		order+=("$name")
	}
	for m in "${mods[@]}"; do
		add "$m"
	done
	printf '%s.ko\n' "${order[@]}" >"$dir/modules/.load-order.tmp"
	mv "$dir/modules/.load-order.tmp" "$dir/modules/load-order"
	ln -sfn "$headers" "$dir/headers"
	cat >"$dir/.env.tmp" <<EOT
ABI=$abi
DEBVER=$hdr_debver
PKG=$got
VMLINUZ=$dir/vmlinuz
HEADERS=${headers#"$root"}
CHROOT=$root
MODDIR=$dir/modules
EOT
	mv "$dir/.env.tmp" "$dir/env"
	log "done: $(tr '\n' ' ' <"$dir/modules/load-order")"
fi
echo "$dir"

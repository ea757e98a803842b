#!/bin/bash
# Build (once) a debug User-Mode Linux kernel from Debian's linux-source-6.12
# (UML_KERNEL=6.1: Debian 12's linux-source-6.1;
# UML_KERNEL=7.2: sid's linux-source-7.2, from the sid chroot of
# scripts/sid-chroot.sh, built with the host's compiler) and print the path
# of its ready build dir on the last stdout line.
#
#   cache root   ${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}
#   sources      <cache>/src-<pkg version>-<sha1(patches)[0:8]>/linux-source-<kver>
#   build dir    <cache>/uml-<pkg version>-<sha1(fragments + patches)[0:12]>
#
# Fragments: tests/uml.config (or UML_CONFIG_FRAGMENT), then the series'
# own tests/uml-<series>.config if there is one (7.2: SMP), always added.
#
# tests/uml-<series>-*.patch are applied to the unpacked sources (our own
# fixes for running UML here: uml-6.12-host-xstate.patch lets UML run on
# hosts whose XSAVE area is larger than UML assumes, such as CPUs with AMX;
# 7.2's UML sizes it from the host itself and needs none; 6.1 has the same
# one, and uml-6.1-fork-flush.patch, which stops 6.1's UML walking a new
# process's VMA tree unlocked: a lockdep RCU report at every boot).
#
# A new package version or a changed fragment gives a new key, hence a build
# from nothing; a build dir without its .built stamp (interrupted build) is
# wiped and rebuilt.  flock serialises concurrent runs.
# Progress goes to stderr, the make output to <build dir>/build.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAG=${UML_CONFIG_FRAGMENT:-$HERE/../tests/uml.config}
FRAG=$(readlink -f "$FRAG")
CACHE=${DLM_LC_CACHE:-/var/cache/dlm_lowcomms}
KV=${UML_KERNEL:-6.12}
JOBS=$(nproc)

log() { echo "uml-kernel: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case $KV in
6.12)
	TARBALL=/usr/src/linux-source-6.12.tar.xz
	[ -r "$TARBALL" ] || die "$TARBALL missing (run scripts/deps.sh)"
	VER=$(dpkg-query -W -f='${Version}' linux-source-6.12) ||
		die "linux-source-6.12 not installed"
	;;
6.1)
	# Debian 12's LTS kernel, for the drop-in's lockdep run on 6.1's DLM
	TARBALL=/usr/src/linux-source-6.1.tar.xz
	[ -r "$TARBALL" ] || die "$TARBALL missing (run scripts/deps.sh)"
	VER=$(dpkg-query -W -f='${Version}' linux-source-6.1) ||
		die "linux-source-6.1 not installed"
	;;
7.2)
	ROOT=$("$HERE/sid-chroot.sh" | tail -n1) || die "no sid chroot"
	TARBALL=$ROOT/usr/src/linux-source-7.2.tar.xz
	if [ ! -r "$TARBALL" ]; then
		log "installing linux-source-7.2 in the sid chroot"
		chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends linux-source-7.2 >&2 ||
			die "cannot install linux-source-7.2 in $ROOT"
	fi
	VER=$(chroot "$ROOT" dpkg-query -W -f='${Version}' linux-source-7.2) ||
		die "linux-source-7.2 not installed in $ROOT"
	;;
*) die "UML_KERNEL=$KV: want 6.12, 6.1 or 7.2" ;;
esac
[ -r "$FRAG" ] || die "config fragment $FRAG missing"
# a series may add its own options (tests/uml-7.2.config: SMP, which 6.12's
# UML does not have); merged after the common fragment
FRAGS=("$FRAG")
SERIES_FRAG=$HERE/../tests/uml-$KV.config
[ -r "$SERIES_FRAG" ] && FRAGS+=("$(readlink -f "$SERIES_FRAG")")
VER=$KV-${VER//[^A-Za-z0-9.+_-]/_}
VER=${VER#6.12-}	# 6.12 keys stay as they were
PATCHES=("$HERE"/../tests/uml-"$KV"-*.patch)
[ -e "${PATCHES[0]}" ] || PATCHES=()
PSHA=$(cat "${PATCHES[@]}" /dev/null | sha1sum | cut -c1-8)
FSHA=$(cat "${FRAGS[@]}" "${PATCHES[@]}" | sha1sum | cut -c1-12)

mkdir -p "$CACHE"
# one lock per kernel series: a 7.2 build does not hold up 6.12 runs
LOCK=$CACHE/.lock
[ "$KV" = 6.12 ] || LOCK=$CACHE/.lock-$KV
exec 9>"$LOCK"
if ! flock -n 9; then
	log "waiting for another build to finish ($LOCK)"
	flock 9
fi

SRCROOT=$CACHE/src-$VER-$PSHA
SRC=$SRCROOT/linux-source-$KV
BUILD=$CACHE/uml-$VER-$FSHA

if [ ! -f "$SRCROOT/.unpacked" ]; then
	log "unpacking $TARBALL into $SRCROOT"
	rm -rf "$SRCROOT"
	mkdir -p "$SRCROOT"
	tar -xJf "$TARBALL" -C "$SRCROOT"
	[ -f "$SRC/Makefile" ] || die "unexpected tarball layout: no $SRC/Makefile"
	for p in "${PATCHES[@]}"; do
		log "applying $(basename "$p")"
		patch -d "$SRC" -p1 --forward --quiet <"$p" || die "patch $p failed"
	done
	touch "$SRCROOT/.unpacked"
fi

# Prune what other keys left behind (~0.9 GB per build dir, 1.7 GB per
# source tree): build dirs unused for a day, then sources no build uses.
# Only this series' dirs (the other's may be building under its own lock).
# (6.12 keys start "6.12.", 7.2 keys "7.2-")
PFX=$KV-
[ "$KV" = 6.12 ] && PFX=6.12.
for d in "$CACHE"/uml-"$PFX"*; do
	[ -d "$d" ] && [ "$d" != "$BUILD" ] || continue
	if [ -z "$(find "$d/.built" -mmin -1440 2>/dev/null)" ]; then
		log "pruning stale $d"
		rm -rf "$d"
	fi
done
for d in "$CACHE"/src-"$PFX"*; do
	[ -d "$d" ] && [ "$d" != "$SRCROOT" ] || continue
	# a source tree is in use while a build dir names it in .srcdir
	grep -qsx "$d/linux-source-[0-9.]*" "$CACHE"/uml-*/.srcdir ||
		{ log "pruning $d"; rm -rf "$d"; }
done

if [ -f "$BUILD/.built" ] && [ -x "$BUILD/linux" ]; then
	touch "$BUILD/.built"	# marks it in use for the pruning above
	log "cached: $BUILD"
	echo "$BUILD"
	exit 0
fi

rm -rf "$BUILD"
mkdir -p "$BUILD"
BLOG=$BUILD/build.log
START=$(date +%s)
log "building UML $VER (fragment $FSHA) in $BUILD, log $BLOG"

mk() { make -C "$SRC" O="$BUILD" ARCH=um "$@" >>"$BLOG" 2>&1 ||
	{ tail -40 "$BLOG" >&2; die "make $* failed"; }; }

mk defconfig
ARCH=um "$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" \
	"$BUILD/.config" "${FRAGS[@]}" >>"$BLOG" 2>&1 ||
	die "merge_config.sh failed"
mk olddefconfig

# kconfig silently drops options whose dependencies are unmet: check that
# every line of the fragments is in the final .config (for a symbol that
# both name, the series' line, which merge_config.sh applied last).
declare -A want=()
order=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] ||
	   [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		sym=${BASH_REMATCH[1]}
		[ -n "${want[$sym]+set}" ] || order+=("$sym")
		want[$sym]=$line
	fi
done < <(cat "${FRAGS[@]}")
bad=0
for sym in "${order[@]}"; do
	line=${want[$sym]}
	if [[ $line == CONFIG_* ]]; then
		if ! grep -qxF -- "$line" "$BUILD/.config"; then
			got=$(grep -E "^(# )?${sym}[= ]" "$BUILD/.config" || echo "absent")
			log "fragment wants '$line', .config has '$got'"
			bad=1
		fi
	elif grep -qE "^$sym=" "$BUILD/.config"; then
		log "fragment wants $sym unset, .config has '$(grep -E "^$sym=" "$BUILD/.config")'"
		bad=1
	fi
done
[ $bad -eq 0 ] || die "kconfig dropped fragment options (see above)"
cat "${FRAGS[@]}" >"$BUILD/uml.config.fragment"

mk -j"$JOBS" all
[ -x "$BUILD/linux" ] || die "no $BUILD/linux after build"
[ -f "$BUILD/Module.symvers" ] || die "no Module.symvers after build"
echo "$SRC" >"$BUILD/.srcdir"
touch "$BUILD/.built"
log "built in $(( $(date +%s) - START )) s"
echo "$BUILD"

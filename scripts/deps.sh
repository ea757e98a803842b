#!/bin/bash
# Install every Debian package the project's tests need (idempotent).
# apt is skipped entirely when all of them are already installed.
set -euo pipefail

PKGS=(
	linux-source-6.12 linux-source-6.1
	linux-headers-amd64 linux-headers-6.12-amd64
	build-essential bc flex bison libelf-dev libssl-dev sparse
	python3 cpio xz-utils kmod iproute2 busybox-static
	qemu-system-x86 rsync util-linux
	tcpdump tshark perl debootstrap
	# make bench's plots
	gnuplot-nox
	# the real cluster stack, for the guests of scripts/dlm-stack.sh only
	corosync dlm-controld libdlm-dev gfs2-utils
	# the drop-in's DKMS test (scripts/dkms-test.sh: scratch trees only)
	dkms
)

# The drop-in build takes fs/dlm from linux-source and builds it against
# the headers: both must be the same Debian version. The archive can carry
# a newer linux-source than headers for a while (seen: source 6.12.118,
# headers 6.12.117), so the source follows the headers' version (the
# archive had the older one still; if it does not, this fails clearly).
SOURCE_OF=(
	"linux-source-6.12 linux-headers-6.12-amd64"
	"linux-source-6.1 linux-headers-amd64"
)

# the installed version ("ii"), else nothing (removed: "rc" keeps a version)
ver() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }'
	return 0
}

# prints "linux-source-X=<headers' version>" for each source that differs
source_pins() {
	local pair src hdr hv
	for pair in "${SOURCE_OF[@]}"; do
		read -r src hdr <<<"$pair"
		hv=$(ver "$hdr")
		[ -n "$hv" ] && [ "$(ver "$src")" != "$hv" ] && echo "$src=$hv"
	done
	return 0
}

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $st == ii* ]] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ] && [ -z "$(source_pins)" ]; then
	echo "deps: all ${#PKGS[@]} packages already installed"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# tshark pulls in wireshark-common, which asks whether non-root users may
# capture: answer "no" up front so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections 2>/dev/null || true
# corosync and dlm_controld run in test guests, never on this machine:
# no package may start its service here (policy-rc.d, for the install)
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq >/dev/null
# everything but the sources first: they follow the headers just installed
first=()
for p in "${missing[@]}"; do
	[[ $p == linux-source-* ]] || first+=("$p")
done
if [ ${#first[@]} -gt 0 ]; then
	echo "deps: installing ${first[*]}"
	apt-get install -y -qq --no-install-recommends "${first[@]}" >/dev/null
fi
mapfile -t pins < <(source_pins)
if [ ${#pins[@]} -gt 0 ]; then
	echo "deps: installing ${pins[*]} (the headers' version)"
	apt-get install -y -qq --no-install-recommends --allow-downgrades \
		"${pins[@]}" >/dev/null || {
		echo "deps: ERROR: cannot install ${pins[*]}: the archive no longer has linux-source at the headers' version" >&2
		exit 1
	}
	[ -z "$(source_pins)" ] || {
		echo "deps: ERROR: linux-source and headers still differ: $(source_pins)" >&2
		exit 1
	}
fi
# and, if we installed them just now, none starts at the next boot either
if command -v systemctl >/dev/null; then
	for p in "${missing[@]}"; do
		case $p in
		corosync) systemctl disable corosync.service >/dev/null 2>&1 || true ;;
		dlm-controld) systemctl disable dlm.service >/dev/null 2>&1 || true ;;
		esac
	done
fi
for d in corosync dlm_controld; do
	if pgrep -x "$d" >/dev/null; then
		echo "deps: warning: $d runs on this machine (the tests start theirs in guests only)" >&2
	fi
done

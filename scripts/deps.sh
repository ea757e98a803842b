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
	# the real cluster stack, for the guests of scripts/dlm-stack.sh only
	corosync dlm-controld libdlm-dev gfs2-utils
	# the drop-in's DKMS test (scripts/dkms-test.sh: scratch trees only)
	dkms
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $st == ii* ]] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages already installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
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
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

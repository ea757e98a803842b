#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# cx16.sh: guest side of scripts/tcg-check.sh. Runs /extra/cx16_flags
# (tests/tools/cx16_flags.c) and says what the virtual CPU offers; the
# host judges the lines:
#   INFO: cx16: cx16_flags: ok|broken (...)|no cx16
#   INFO: cx16: cpuinfo cx16=yes|no
# A program that fails or prints nothing is a FAIL line with its status.
if [ -x /extra/cx16_flags ]; then
	res=$(/extra/cx16_flags)
	st=$?
	if [ "$st" -ne 0 ] || [ -z "$res" ]; then
		echo "FAIL: cx16.program: exit status $st, output '$res'"
	else
		echo "INFO: cx16: $res"
	fi
else
	echo "FAIL: cx16.program: /extra/cx16_flags missing"
fi
if grep -qw cx16 /proc/cpuinfo; then
	echo "INFO: cx16: cpuinfo cx16=yes"
else
	echo "INFO: cx16: cpuinfo cx16=no"
fi

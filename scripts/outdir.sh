# shellcheck shell=bash
# Sourced (not run) by every script that writes logs or results: sets and
# exports DLM_LC_OUT, the run's output folder.
#
#   DLM_LC_OUT set      used as it is.  A top-level script exports it, so
#                       everything it starts (check.sh -> faults.sh ->
#                       uml-test.sh -> uml-run.sh) writes to one folder.
#   DLM_LC_OUT unset    a new folder per run,
#                       ${DLM_LC_OUT_BASE:-/tmp/dlm_lc_out}/run-<date>-<time>-<pid>,
#                       and <base>/latest, a symlink to the newest one.
#                       Two runs at once (two checkouts, two `make check`)
#                       never share files.  Run folders older than 7 days
#                       are removed.
if [ -z "${DLM_LC_OUT:-}" ]; then
	_dlm_lc_base=${DLM_LC_OUT_BASE:-/tmp/dlm_lc_out}
	mkdir -p "$_dlm_lc_base"
	find "$_dlm_lc_base" -mindepth 1 -maxdepth 1 -name 'run-*' -type d -mtime +7 \
		-exec rm -rf {} + 2>/dev/null
	DLM_LC_OUT=$_dlm_lc_base/run-$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$DLM_LC_OUT"
	ln -sfn "${DLM_LC_OUT##*/}" "$_dlm_lc_base/latest" 2>/dev/null
	echo "output folder: $DLM_LC_OUT (also $_dlm_lc_base/latest)" >&2
	unset _dlm_lc_base
fi
export DLM_LC_OUT
mkdir -p "$DLM_LC_OUT"

// SPDX-License-Identifier: GPL-2.0-only
/*
 * dlm_ls_create - create one DLM lockspace through /dev/dlm-control.
 *
 * Used by tests/interop.sh inside a QEMU guest to make a stock dlm.ko
 * node start its lowcomms listener without dlm_controld.  Built on the
 * host with "gcc -static -O2" and copied into the initramfs.
 *
 * usage: dlm_ls_create [-d /dev/dlm-control] [-w FILE] NAME
 *
 * The request is a struct dlm_write_request (device interface 6.0.2,
 * command DLM_USER_CREATE_LOCKSPACE, is64bit set) followed by the
 * lockspace name.  The write() does not return until somebody writes
 * /sys/kernel/dlm/NAME/event_done (and, without dlm_controld, it stays
 * blocked even after that, waiting for a recovery that never runs), so
 * the caller runs this in the background.  The program prints one line
 * before the write and one after it if it ever returns.
 *
 * The write returns once the caller has played dlm_controld to the end:
 * the lockspace's members in configfs, then 1 written to
 * /sys/kernel/dlm/NAME/control, so that its recovery runs.  With -w, the
 * program then waits (at most 900 s) until FILE exists and removes the
 * lockspace again (DLM_USER_REMOVE_LOCKSPACE, which waits for event_done
 * as well), so that dlm.ko can be unloaded; it prints a line when done.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/dlm_device.h>

#define CONTROL_DEV "/dev/dlm-control"
#define CONTROL_SYS "/sys/class/misc/dlm-control/dev"

/* Create the device node from sysfs if devtmpfs did not provide it. */
static int make_node(const char *path)
{
	unsigned int maj, min;
	FILE *f = fopen(CONTROL_SYS, "r");

	if (!f) {
		fprintf(stderr, "dlm_ls_create: %s: %s (is dlm.ko loaded?)\n",
			CONTROL_SYS, strerror(errno));
		return -1;
	}
	if (fscanf(f, "%u:%u", &maj, &min) != 2) {
		fprintf(stderr, "dlm_ls_create: cannot parse %s\n", CONTROL_SYS);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (mknod(path, S_IFCHR | 0600, makedev(maj, min)) && errno != EEXIST) {
		fprintf(stderr, "dlm_ls_create: mknod %s %u:%u: %s\n",
			path, maj, min, strerror(errno));
		return -1;
	}
	return 0;
}

/* -w: wait for @file, then remove the lockspace whose device is @minor */
static int remove_ls(int fd, const char *file, int minor)
{
	struct dlm_write_request req;
	int i;

	for (i = 0; i < 9000 && access(file, F_OK); i++)
		usleep(100000);
	if (access(file, F_OK)) {
		fprintf(stderr, "dlm_ls_create: %s never appeared\n", file);
		return 1;
	}
	memset(&req, 0, sizeof(req));
	req.version[0] = DLM_DEVICE_VERSION_MAJOR;
	req.version[1] = DLM_DEVICE_VERSION_MINOR;
	req.version[2] = DLM_DEVICE_VERSION_PATCH;
	req.cmd = DLM_USER_REMOVE_LOCKSPACE;
	req.is64bit = sizeof(void *) == 8;
	req.i.lspace.minor = minor;
	req.i.lspace.flags = DLM_USER_LSFLG_FORCEFREE;
	if (write(fd, &req, sizeof(req)) < 0) {
		fprintf(stderr, "dlm_ls_create: remove: %s\n", strerror(errno));
		return 1;
	}
	printf("dlm_ls_create: lockspace removed\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = CONTROL_DEV, *wait_file = NULL;
	struct dlm_write_request *req;
	const char *name;
	size_t namelen, total;
	ssize_t n;
	int fd, opt, ret = 0;

	while ((opt = getopt(argc, argv, "d:w:")) != -1) {
		if (opt == 'd') {
			dev = optarg;
		} else if (opt == 'w') {
			wait_file = optarg;
		} else {
			fprintf(stderr, "usage: %s [-d device] [-w FILE] NAME\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [-d device] [-w FILE] NAME\n", argv[0]);
		return 2;
	}
	name = argv[optind];
	namelen = strlen(name);
	if (namelen == 0 || namelen >= DLM_LOCKSPACE_LEN) {
		fprintf(stderr, "dlm_ls_create: name must be 1..%d bytes\n",
			DLM_LOCKSPACE_LEN - 1);
		return 2;
	}

	fd = open(dev, O_RDWR);
	if (fd < 0 && errno == ENOENT && make_node(dev) == 0)
		fd = open(dev, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "dlm_ls_create: open %s: %s\n", dev, strerror(errno));
		return 1;
	}

	/*
	 * The kernel wants at least sizeof(*req) bytes; the name lives in the
	 * lspace member of the union and runs on past the fixed part, with a
	 * terminating NUL.
	 */
	total = sizeof(*req) + namelen + 1;
	req = calloc(1, total);
	if (!req) {
		perror("dlm_ls_create: calloc");
		return 1;
	}
	req->version[0] = DLM_DEVICE_VERSION_MAJOR;
	req->version[1] = DLM_DEVICE_VERSION_MINOR;
	req->version[2] = DLM_DEVICE_VERSION_PATCH;
	req->cmd = DLM_USER_CREATE_LOCKSPACE;
	req->is64bit = sizeof(void *) == 8;
	req->i.lspace.flags = 0;
	memcpy(req->i.lspace.name, name, namelen);

	printf("dlm_ls_create: creating lockspace '%s' via %s (%zu bytes)\n",
	       name, dev, total);
	fflush(stdout);
	n = write(fd, req, total);
	if (n < 0) {
		fprintf(stderr, "dlm_ls_create: write: %s\n", strerror(errno));
		free(req);
		close(fd);
		return 1;
	}
	/* On success the kernel returns the minor of the lockspace device. */
	printf("dlm_ls_create: lockspace '%s' created, device minor %zd\n",
	       name, n);
	fflush(stdout);
	free(req);
	if (wait_file)
		ret = remove_ls(fd, wait_file, (int)n);
	close(fd);
	return ret;
}

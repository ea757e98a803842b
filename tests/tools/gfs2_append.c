// SPDX-License-Identifier: GPL-2.0-only
/*
 * gfs2_append - append numbered records to a shared file under a cluster
 * file lock, as applications on GFS2 do: the GFS2 test of the drop-in.
 *
 * usage: gfs2_append fcntl|flock FILE NODE COUNT
 *
 * COUNT times: takes an exclusive lock on FILE (fcntl F_SETLKW, which on
 * GFS2 goes through dlm_controld's plocks, or flock, which is a DLM lock),
 * writes "NODE SEQ\n" at the end of the file, and unlocks. Appending
 * without the lock is not safe on GFS2 across nodes (fs/gfs2/file.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

static int lock(int fd, int use_fcntl, int on)
{
	struct flock fl = {
		.l_type = on ? F_WRLCK : F_UNLCK,
		.l_whence = SEEK_SET,
	};

	if (use_fcntl)
		return fcntl(fd, F_SETLKW, &fl);
	return flock(fd, on ? LOCK_EX : LOCK_UN);
}

int main(int argc, char **argv)
{
	unsigned long node, count, i;
	char rec[64];
	int fd, use_fcntl, len;

	if (argc != 5 || (strcmp(argv[1], "fcntl") && strcmp(argv[1], "flock"))) {
		fprintf(stderr, "usage: gfs2_append fcntl|flock FILE NODE COUNT\n");
		return 2;
	}
	use_fcntl = !strcmp(argv[1], "fcntl");
	node = strtoul(argv[3], NULL, 0);
	count = strtoul(argv[4], NULL, 0);
	fd = open(argv[2], O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	for (i = 0; i < count; i++) {
		if (lock(fd, use_fcntl, 1)) {
			perror("lock");
			return 1;
		}
		len = snprintf(rec, sizeof(rec), "%lu %lu\n", node, i);
		if (lseek(fd, 0, SEEK_END) < 0 || write(fd, rec, len) != len) {
			perror("append");
			return 1;
		}
		if (lock(fd, use_fcntl, 0)) {
			perror("unlock");
			return 1;
		}
	}
	return close(fd) ? 1 : 0;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page-backed write queue. Writers reserve a message inside a page, fill it
 * and commit it; the send worker hands committed bytes to the socket
 * straight from the page.
 *
 * Rules:
 * - a message never crosses a page;
 * - an entry is sendable only while no writer is still filling it;
 * - bytes handed to the socket are never written again (a writer may
 *   still fill its message after a discard skipped it); writers append
 *   behind them, on the same page, while they are being sent (so a busy
 *   sender does not leave pages half used); a fully sent tail with room
 *   keeps taking messages;
 * - only the send worker advances entries and drops the rest of a range
 *   the socket took part of; that rest is sent before anything else
 *   (socket release runs with the worker stopped or excluded by the
 *   socket's rw_semaphore); dlm_lc_wq_purge() frees everything once no
 *   writer and no worker can touch the queue; dlm_lc_wq_discard_locked()
 *   drops every byte queued once no worker can (a stopped instance),
 *   keeping the pages writers still fill (then treated as sent);
 * - pages are zeroed, so unset padding never leaks kernel memory;
 * - the lock is taken with bottom halves off: DLM sends from softirq
 *   (6.12's message processing and its rsb scan timer), so writers may
 *   run there as well as in process context.
 */
#ifndef DLM_LC_WRITEQUEUE_H
#define DLM_LC_WRITEQUEUE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct bio_vec;
struct page;

struct dlm_lc_wq_entry {
	struct list_head list;
	struct page *page;
	unsigned int offset;	/* bytes handed to the socket or discarded */
	unsigned int end;	/* bytes reserved by writers */
	unsigned int sending_end;	/* end of the range the socket was given */
	int users;		/* writers still filling */
	bool sending;		/* given to the socket, not yet advanced past */
	bool half;		/* the socket has part of [offset, sending_end) */
};

struct dlm_lc_wqueue {
	spinlock_t lock;	/* everything here and in the entries */
	struct list_head entries;
	unsigned int queued;	/* reserved and not yet sent */
	unsigned int queued_max;	/* high-water mark of queued */
	unsigned int pages;
};

typedef void (*dlm_lc_wq_cb)(char *buf, int len, void *data);

void dlm_lc_wq_init(struct dlm_lc_wqueue *q);
struct dlm_lc_wq_entry *dlm_lc_wq_reserve(struct dlm_lc_wqueue *q, int len,
					  gfp_t gfp, dlm_lc_wq_cb cb,
					  void *cb_data, char **buf);
bool dlm_lc_wq_commit_locked(struct dlm_lc_wqueue *q,
			     struct dlm_lc_wq_entry *e);
unsigned int dlm_lc_wq_peek_locked(struct dlm_lc_wqueue *q,
				   struct bio_vec *bv, unsigned int max);
void dlm_lc_wq_advance_locked(struct dlm_lc_wqueue *q, unsigned int sent);
unsigned int dlm_lc_wq_drop_partial_locked(struct dlm_lc_wqueue *q);
unsigned int dlm_lc_wq_discard_locked(struct dlm_lc_wqueue *q);
unsigned int dlm_lc_wq_purge(struct dlm_lc_wqueue *q);
bool dlm_lc_wq_empty_locked(struct dlm_lc_wqueue *q);
bool dlm_lc_wq_at_boundary_locked(struct dlm_lc_wqueue *q);

#endif /* DLM_LC_WRITEQUEUE_H */

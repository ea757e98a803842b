/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Knobs for the KUnit suites: delays that widen race windows, and
 * allocation failures on demand. They exist only in the test build
 * (Kbuild defines DLM_LC_TEST_HOOKS when the kernel has KUnit, i.e. the
 * UML test kernel); elsewhere they compile to nothing. All default to 0.
 */
#ifndef DLM_LC_TEST_HOOKS_H
#define DLM_LC_TEST_HOOKS_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>

struct dlm_lc_cluster;
struct dlm_lc_conn;

#ifdef DLM_LC_TEST_HOOKS
/* microseconds a socket callback waits after its STOP_IO test */
extern unsigned int dlm_lc_test_callback_delay_us;
/* milliseconds the send worker waits before it connects */
extern unsigned int dlm_lc_test_connect_delay_ms;
/* ms retry_work sleeps between its DIAL_WAITING clear and queueing swork */
extern unsigned int dlm_lc_test_retry_delay_ms;
/* milliseconds between listen() and the listener's callback install */
extern unsigned int dlm_lc_test_listen_delay_ms;
/* milliseconds a setting waits between its "stopped?" test and its write */
extern unsigned int dlm_lc_test_set_delay_ms;
/* milliseconds a receive worker waits first: a node's own connection's */
extern unsigned int dlm_lc_test_recv_delay_ms;
/* ... and a receive-only sibling's */
extern unsigned int dlm_lc_test_sibling_recv_delay_ms;
/* milliseconds a receive worker ending at EOF or an error waits unlocked */
extern unsigned int dlm_lc_test_recv_end_delay_ms;
/* milliseconds what deliver_done wrote waits for company (0: ticks) */
extern unsigned int dlm_lc_test_done_hold_ms;
/* milliseconds a delivery's reply waits while the next message's lasts */
extern unsigned int dlm_lc_test_owed_guard_ms;
/* milliseconds a graceful stop waits between its drain and its SHUT_WR */
extern unsigned int dlm_lc_test_drained_delay_ms;
/* graceful stops that have ended their drain */
extern atomic_t dlm_lc_test_drained;

/* a timer's @ticks, or the knob's milliseconds if a test set it */
static inline unsigned long dlm_lc_test_ticks(const unsigned int *knob_ms,
					      unsigned long ticks)
{
	unsigned int ms = READ_ONCE(*knob_ms);

	return ms ? msecs_to_jiffies(ms) : ticks;
}

static inline unsigned long dlm_lc_test_done_hold(unsigned long ticks)
{
	return dlm_lc_test_ticks(&dlm_lc_test_done_hold_ms, ticks);
}

static inline unsigned long dlm_lc_test_owed_guard(unsigned long ticks)
{
	return dlm_lc_test_ticks(&dlm_lc_test_owed_guard_ms, ticks);
}

static inline void dlm_lc_test_callback_delay(void)
{
	unsigned int us = READ_ONCE(dlm_lc_test_callback_delay_us);

	/* softirq context: busy-wait, never sleep */
	if (us)
		udelay(us);
}

/* process context: sleep for as many milliseconds as the knob says */
static inline void dlm_lc_test_sleep(const unsigned int *knob_ms)
{
	unsigned int ms = READ_ONCE(*knob_ms);

	if (ms)
		msleep(ms);
}

static inline void dlm_lc_test_connect_delay(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_connect_delay_ms);
}

static inline void dlm_lc_test_retry_delay(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_retry_delay_ms);
}

static inline void dlm_lc_test_listen_delay(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_listen_delay_ms);
}

static inline void dlm_lc_test_set_delay(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_set_delay_ms);
}

static inline void dlm_lc_test_recv_delay(bool sibling)
{
	dlm_lc_test_sleep(sibling ? &dlm_lc_test_sibling_recv_delay_ms :
			  &dlm_lc_test_recv_delay_ms);
}

static inline void dlm_lc_test_drained_delay(void)
{
	atomic_inc(&dlm_lc_test_drained);
	dlm_lc_test_sleep(&dlm_lc_test_drained_delay_ms);
}

/* after it let go of the socket lock, before it closes (RECV_PENDING set) */
static inline void dlm_lc_test_recv_end_delay(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_recv_end_delay_ms);
}

void dlm_lc_test_process_delay(struct dlm_lc_cluster *cl);

/*
 * A receive worker's send run, between its look at the queue and its
 * sendmsg, fires the retry (which queues swork) and then waits: this many
 * milliseconds, and for the gate while one is set.
 */
extern unsigned int dlm_lc_test_inline_send_delay_ms;
extern struct completion *dlm_lc_test_inline_send_gate;
/* send runs that waited at that gate */
extern atomic_t dlm_lc_test_inline_send_gated;
void dlm_lc_test_inline_send_window(struct dlm_lc_conn *conn);
/* send runs that found another going on their connection, and left */
extern atomic_t dlm_lc_test_send_meetings;
static inline void dlm_lc_test_count_send_meeting(void)
{
	atomic_inc(&dlm_lc_test_send_meetings);
}

/* the next this many allocations of a receive / resend buffer fail */
extern atomic_t dlm_lc_test_fail_rx_buf;
extern atomic_t dlm_lc_test_fail_rs_buf;
static inline bool dlm_lc_test_fail_rx(void)
{
	return atomic_dec_if_positive(&dlm_lc_test_fail_rx_buf) >= 0;
}

static inline bool dlm_lc_test_fail_rs(void)
{
	return atomic_dec_if_positive(&dlm_lc_test_fail_rs_buf) >= 0;
}

/* a node's removal holds the delivery mutex this long (ms) */
extern unsigned int dlm_lc_test_forget_hold_ms;
static inline void dlm_lc_test_forget_hold(void)
{
	dlm_lc_test_sleep(&dlm_lc_test_forget_hold_ms);
}

/*
 * Work queued or started on a stopped connection after the stop cancelled
 * its workers (until I/O starts again): the stop's promise is none.
 */
extern atomic_t dlm_lc_test_late_works;
void dlm_lc_test_stop_begins(struct dlm_lc_conn *conn);
void dlm_lc_test_stop_cancelled(struct dlm_lc_conn *conn);
void dlm_lc_test_work_late(struct dlm_lc_conn *conn);
#else
static inline void dlm_lc_test_callback_delay(void) {}
static inline void dlm_lc_test_connect_delay(void) {}
static inline void dlm_lc_test_retry_delay(void) {}
static inline void dlm_lc_test_listen_delay(void) {}
static inline void dlm_lc_test_set_delay(void) {}
static inline void dlm_lc_test_recv_delay(bool sibling) {}
static inline void dlm_lc_test_recv_end_delay(void) {}
static inline void dlm_lc_test_drained_delay(void) {}
static inline void dlm_lc_test_process_delay(struct dlm_lc_cluster *cl) {}
static inline void dlm_lc_test_inline_send_window(struct dlm_lc_conn *conn) {}
static inline void dlm_lc_test_count_send_meeting(void) {}
static inline bool dlm_lc_test_fail_rx(void) { return false; }
static inline bool dlm_lc_test_fail_rs(void) { return false; }
static inline void dlm_lc_test_forget_hold(void) {}
static inline void dlm_lc_test_stop_begins(struct dlm_lc_conn *conn) {}
static inline void dlm_lc_test_stop_cancelled(struct dlm_lc_conn *conn) {}
static inline void dlm_lc_test_work_late(struct dlm_lc_conn *conn) {}

static inline unsigned long dlm_lc_test_done_hold(unsigned long ticks)
{
	return ticks;
}

static inline unsigned long dlm_lc_test_owed_guard(unsigned long ticks)
{
	return ticks;
}
#endif

#endif /* DLM_LC_TEST_HOOKS_H */

/*
 * daos_event.h -- event queues and events: the non-blocking side of the DAOS API.
 * A call given a NULL event blocks and returns the result; a call given an event
 * returns 0 (unless its arguments are bad) and later stores the result in ev_error.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_EVENT_H
#define DAOS_RS_DAOS_EVENT_H

#include <daos_types.h>
#include <daos_errno.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Create an event queue. */
int daos_eq_create(daos_handle_t *eqh);

/** daos_eq_destroy flag: destroy even if events are still in flight. */
#define DAOS_EQ_DESTROY_FORCE 1

/** Destroy an event queue; -DER_BUSY if events are in flight and not forced. */
int daos_eq_destroy(daos_handle_t eqh, int flags);

/**
 * Wait for completed events.  \a timeout is in microseconds, or DAOS_EQ_WAIT /
 * DAOS_EQ_NOWAIT.  With \a wait_running set, returns 0 at once when nothing is in
 * flight.  Returns the number of events stored in \a events, or a negative DER.
 */
int daos_eq_poll(daos_handle_t eqh, int wait_running, int64_t timeout, unsigned int nevents,
		 daos_event_t **events);

/** Count (and optionally return) events of the kinds selected by \a query. */
int daos_eq_query(daos_handle_t eqh, daos_eq_query_t query, unsigned int nevents,
		  daos_event_t **events);

/**
 * Initialise an event: in queue \a eqh, as a child of \a parent, or standalone
 * (DAOS_HDL_INVAL and no parent; progressed by daos_event_test).
 */
int daos_event_init(daos_event_t *ev, daos_handle_t eqh, daos_event_t *parent);

/** Finalise an event that is not in flight. */
int daos_event_fini(daos_event_t *ev);

/** Next child of \a parent after \a child (NULL: the first). */
daos_event_t *daos_event_next(daos_event_t *parent, daos_event_t *child);

/** Progress and test one event; \a *flag is true once it has completed. */
int daos_event_test(struct daos_event *ev, int64_t timeout, bool *flag);

/** Completion callback: (user argument, event, result). */
typedef int (*daos_event_comp_cb_t)(void *, daos_event_t *, int);

/** Register a callback run when \a ev completes. */
int daos_event_register_comp_cb(struct daos_event *ev, daos_event_comp_cb_t cb, void *arg);

/** Make a parent event complete once its current children have. */
int daos_event_parent_barrier(struct daos_event *ev);

/** Try to abort the operation attached to \a ev. */
int daos_event_abort(daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_EVENT_H */

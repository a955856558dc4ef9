/*
 * daos_api.h -- transactions (daos_tx_*), rank-list parsing, HLC conversions and
 * the inline anchor helpers (daos_anchor_init/fini/is_eof).
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_API_H
#define DAOS_RS_DAOS_API_H

#include <string.h>
#include <time.h>
#include <daos_types.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** daos_tx_open flags. */
enum {
	DAOS_TF_RDONLY    = (1 << 0), /**< read-only transaction */
	DAOS_TF_ZERO_COPY = (1 << 1), /**< do not copy data buffers until commit */
};

/** Parse "1:2:5" style rank lists; free with d_rank_list_free(). */
d_rank_list_t *daos_rank_list_parse(const char *str, const char *sep);

int daos_tx_open(daos_handle_t coh, daos_handle_t *th, uint64_t flags, daos_event_t *ev);
int daos_tx_commit(daos_handle_t th, daos_event_t *ev);
int daos_tx_open_snap(daos_handle_t coh, daos_epoch_t epoch, daos_handle_t *th,
		      daos_event_t *ev);
int daos_tx_abort(daos_handle_t th, daos_event_t *ev);
int daos_tx_close(daos_handle_t th, daos_event_t *ev);
int daos_tx_restart(daos_handle_t th, daos_event_t *ev);
int daos_tx_hdl2epoch(daos_handle_t th, daos_epoch_t *epoch);

/** Reset \a anchor to the start of an enumeration. */
static inline int
daos_anchor_init(daos_anchor_t *anchor, unsigned int opts)
{
	(void)opts;
	memset(anchor, 0, sizeof(*anchor));
	return 0;
}

static inline void
daos_anchor_fini(daos_anchor_t *anchor)
{
	(void)anchor;
}

/** True once the enumeration driven by \a anchor has ended. */
static inline bool
daos_anchor_is_eof(daos_anchor_t *anchor)
{
	return anchor->da_type == DAOS_ANCHOR_TYPE_EOF;
}

/** Convert a hybrid logical clock value to a timespec / to seconds. */
int daos_hlc2timespec(uint64_t hlc, struct timespec *ts);
int daos_hlc2timestamp(uint64_t hlc, time_t *ts);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_API_H */

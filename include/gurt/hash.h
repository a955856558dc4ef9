/*
 * gurt/hash.h -- generic chained hash table (struct d_hash_table) with
 * user-supplied record operations (d_hash_table_ops_t) and the d_hash_* API.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names, feature bits,
 * operation table order and function signatures).
 *
 * struct d_hash_table has DAOS's field list, so it has DAOS's size and may be
 * embedded by value and set up with d_hash_table_create_inplace().  Its contents
 * are private to the library.
 */
#ifndef DAOS_RS_GURT_HASH_H
#define DAOS_RS_GURT_HASH_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>

#include <gurt/list.h>
#include <gurt/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

struct d_hash_table;

/** Record operations; the library calls them with the table's lock held. */
typedef struct {
	/** mandatory: true if the record at \a link has key \a key of \a ksize bytes */
	bool (*hop_key_cmp)(struct d_hash_table *htable, d_list_t *link, const void *key,
			    unsigned int ksize);
	/** optional: generate a key for a record inserted without one */
	void (*hop_key_init)(struct d_hash_table *htable, d_list_t *link, void *arg);
	/** optional: hash a key; d_hash_string_u32 is used when absent */
	uint32_t (*hop_key_hash)(struct d_hash_table *htable, const void *key,
				 unsigned int ksize);
	/** hash of the key stored in a record (needed for per-bucket locking) */
	uint32_t (*hop_rec_hash)(struct d_hash_table *htable, d_list_t *link);
	/** optional: take a reference on a record */
	void (*hop_rec_addref)(struct d_hash_table *htable, d_list_t *link);
	/** optional: drop a reference; return true when the record may be freed */
	bool (*hop_rec_decref)(struct d_hash_table *htable, d_list_t *link);
	/** optional: drop \a count references; 1 when freeable, 0 if not, <0 on error */
	int (*hop_rec_ndecref)(struct d_hash_table *htable, d_list_t *link, int count);
	/** optional: free a record whose last reference was dropped */
	void (*hop_rec_free)(struct d_hash_table *htable, d_list_t *link);
} d_hash_table_ops_t;

/** Feature bits for d_hash_table_create(). Default locking is a spinlock per bucket. */
enum d_hash_feats {
	/** no locking: the caller serialises all access */
	D_HASH_FT_NOLOCK    = (1 << 0),
	/** protect with a mutex */
	D_HASH_FT_MUTEX     = (1 << 1),
	/** protect with a read/write lock */
	D_HASH_FT_RWLOCK    = (1 << 2),
	/** records are freed when their last reference goes (see hop_rec_decref) */
	D_HASH_FT_EPHEMERAL = (1 << 3),
	/** move a found record to the head of its bucket */
	D_HASH_FT_LRU       = (1 << 4),
	/** one lock for the whole table rather than one per bucket */
	D_HASH_FT_GLOCK     = (1 << 15),
};

/** Size of a pthread read/write lock, the largest lock the table may use. */
#if defined(__SIZEOF_PTHREAD_RWLOCK_T)
#define D_HASH_LOCK_SPACE_ __SIZEOF_PTHREAD_RWLOCK_T
#else
#define D_HASH_LOCK_SPACE_ 56
#endif

/**
 * Lock storage used by the table: a mutex, or a spinlock or read/write lock kept
 * in the same bytes (spelled as raw storage so that this header does not depend on
 * POSIX feature-test macros).  Same size and alignment as DAOS's union.
 */
union d_hash_lock {
	pthread_mutex_t mutex;
	unsigned char   space[D_HASH_LOCK_SPACE_];
	uint64_t        align_;
};

/** One bucket: a list of records. */
struct d_hash_bucket {
	d_list_t hb_head;
};

/** The table. Fields are private to the library; the layout is DAOS's. */
struct d_hash_table {
	union d_hash_lock     ht_lock;
	uint32_t              ht_bits;
	uint32_t              ht_feats;
	void                 *ht_priv;
	d_hash_table_ops_t   *ht_ops;
	struct d_hash_bucket *ht_buckets;
	union d_hash_lock    *ht_locks;
};

/** Callback for d_hash_table_traverse(); a non-zero return stops the walk. */
typedef int (*d_hash_traverse_cb_t)(d_list_t *link, void *arg);

/** Create a table of 2^bits buckets. 0 or a negative DER. */
int d_hash_table_create(uint32_t feats, uint32_t bits, void *priv, d_hash_table_ops_t *hops,
			struct d_hash_table **htable_pp);
/** Initialise a caller-allocated table. 0 or a negative DER. */
int d_hash_table_create_inplace(uint32_t feats, uint32_t bits, void *priv,
				d_hash_table_ops_t *hops, struct d_hash_table *htable);
/** Call \a cb on every record until it returns non-zero. */
int d_hash_table_traverse(struct d_hash_table *htable, d_hash_traverse_cb_t cb, void *arg);
/** Destroy a table made by d_hash_table_create(); -DER_BUSY if not empty and !force. */
int d_hash_table_destroy(struct d_hash_table *htable, bool force);
/** Finalise a table made by d_hash_table_create_inplace() (does not free it). */
int d_hash_table_destroy_inplace(struct d_hash_table *htable, bool force);
/** Print statistics (may do nothing). */
void d_hash_table_debug(struct d_hash_table *htable);

/** Find the record with \a key; takes a reference via hop_rec_addref. NULL if absent. */
d_list_t *d_hash_rec_find(struct d_hash_table *htable, const void *key, unsigned int ksize);
/** Return the record with \a key, inserting \a link if there is none. */
d_list_t *d_hash_rec_find_insert(struct d_hash_table *htable, const void *key,
				 unsigned int ksize, d_list_t *link);
/** Insert \a link under \a key; -DER_EXIST if \a exclusive and the key is present. */
int d_hash_rec_insert(struct d_hash_table *htable, const void *key, unsigned int ksize,
		      d_list_t *link, bool exclusive);
/** Insert \a link after generating its key with hop_key_init. */
int d_hash_rec_insert_anonym(struct d_hash_table *htable, d_list_t *link, void *arg);
/** Delete the record with \a key; false if not found. */
bool d_hash_rec_delete(struct d_hash_table *htable, const void *key, unsigned int ksize);
/** Delete the record at \a link; false if it was already unlinked. */
bool d_hash_rec_delete_at(struct d_hash_table *htable, d_list_t *link);
/** Move the record with \a key to the tail of its bucket (LRU tables). */
bool d_hash_rec_evict(struct d_hash_table *htable, const void *key, unsigned int ksize);
bool d_hash_rec_evict_at(struct d_hash_table *htable, d_list_t *link);
void d_hash_rec_addref(struct d_hash_table *htable, d_list_t *link);
/** Drop a reference; with D_HASH_FT_EPHEMERAL the last one unlinks and frees. */
void d_hash_rec_decref(struct d_hash_table *htable, d_list_t *link);
int d_hash_rec_ndecref(struct d_hash_table *htable, int count, d_list_t *link);
/** True if \a link is not in any table. */
bool d_hash_rec_unlinked(d_list_t *link);
/** Some record of the table (no reference taken), or NULL if empty. */
d_list_t *d_hash_rec_first(struct d_hash_table *htable);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_GURT_HASH_H */

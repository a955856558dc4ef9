/*
 * daos_fs.h -- libdfs: a POSIX namespace (directories, files, symlinks) kept in one
 * DAOS container.  Types (dfs_t, dfs_obj_t, dfs_attr_t, dfs_iod_t, dfs_obj_info_t),
 * constants and the dfs_* functions.  dfs_* functions return 0 or a positive errno;
 * for non-blocking calls the errno is delivered in ev->ev_error.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (layouts, values, signatures).
 */
#ifndef DAOS_RS_DAOS_FS_H
#define DAOS_RS_DAOS_FS_H

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <daos_types.h>
#include <daos_obj.h>
#include <daos_obj_class.h>
#include <daos_array.h>
#include <daos_cont.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define DFS_MAX_NAME           NAME_MAX
#define DFS_MAX_PATH           PATH_MAX
#define DFS_MAX_FSIZE          (~0ULL)
#define DFS_DEFAULT_CHUNK_SIZE 1048576
#define DFS_MAX_XATTR_NAME     255
#define DFS_MAX_XATTR_LEN      65536
/** statfs f_type reported for DAOS file systems. */
#define DAOS_SUPER_MAGIC       0xDA05AD10

/** Open file, directory or symlink. */
typedef struct dfs_obj dfs_obj_t;
/** Mounted namespace. */
typedef struct dfs dfs_t;

/*
 * Consistency mode, given at container creation and in the dfs_mount flags next to
 * O_RDONLY / O_RDWR: a BALANCED container can only be mounted BALANCED.
 */
#define DFS_BALANCED 4
#define DFS_RELAXED  0
#define DFS_RDONLY   O_RDONLY
#define DFS_RDWR     O_RDWR

/** Attributes of a POSIX container. 176 bytes. */
typedef struct {
	uint64_t         da_id;
	daos_size_t      da_chunk_size;  /**< default file chunk size */
	daos_oclass_id_t da_oclass_id;   /**< default class for all objects */
	daos_prop_t     *da_props;       /**< extra container properties */
	uint32_t         da_mode;        /**< DFS_RELAXED or DFS_BALANCED */
	daos_oclass_id_t da_dir_oclass_id;
	daos_oclass_id_t da_file_oclass_id;
	char             da_hints[DAOS_CONT_HINT_MAX_LEN]; /**< class hints, "file:..,dir:.." */
} dfs_attr_t;

/** File ranges of a list I/O. 16 bytes. */
typedef struct {
	daos_size_t   iod_nr;
	daos_range_t *iod_rgs;
} dfs_iod_t;

/** Layout information of an object. 40 bytes. */
typedef struct {
	daos_oclass_id_t doi_oclass_id;
	daos_size_t      doi_chunk_size;
	daos_oclass_id_t doi_dir_oclass_id;  /**< default for new subdirectories */
	daos_oclass_id_t doi_file_oclass_id; /**< default for new files */
	daos_obj_id_t    doi_oid;
} dfs_obj_info_t;

/* ---- set-up ---- */

/** Reference-counted library set-up; needed before dfs_connect. */
int dfs_init(void);
/** EINVAL if called more often than dfs_init. */
int dfs_fini(void);
/**
 * Connect to pool \a pool and container \a cont (labels or UUID strings) and mount
 * it; O_CREAT creates a missing container with \a attr.  Pool and container handles
 * are cached.  EACCES without dfs_init.  Undo with dfs_disconnect.
 */
int dfs_connect(const char *pool, const char *sys, const char *cont, int flags,
		dfs_attr_t *attr, dfs_t **dfs);
int dfs_disconnect(dfs_t *dfs);
/** Destroy container \a cont of pool \a pool (after dfs_init). */
int dfs_destroy(const char *pool, const char *sys, const char *cont, int force,
		daos_event_t *ev);
/** Create a POSIX container; optionally return it open in \a coh and/or mounted in \a dfs. */
int dfs_cont_create(daos_handle_t poh, uuid_t *uuid, dfs_attr_t *attr, daos_handle_t *coh,
		    dfs_t **dfs);
/** As dfs_cont_create with a label; EEXIST if the label is taken. */
int dfs_cont_create_with_label(daos_handle_t poh, const char *label, dfs_attr_t *attr,
			       uuid_t *uuid, daos_handle_t *coh, dfs_t **dfs);
/** Mount the POSIX container \a coh (O_RDONLY/O_RDWR, optionally | DFS_BALANCED). */
int dfs_mount(daos_handle_t poh, daos_handle_t coh, int flags, dfs_t **dfs);
int dfs_umount(dfs_t *dfs);
int dfs_pool_get(dfs_t *dfs, daos_handle_t *poh);
int dfs_pool_put(dfs_t *dfs, daos_handle_t poh);
int dfs_cont_get(dfs_t *dfs, daos_handle_t *coh);
int dfs_cont_put(dfs_t *dfs, daos_handle_t coh);
int dfs_query(dfs_t *dfs, dfs_attr_t *attr);
/** Serialise a mount (two-pass size protocol); import with dfs_global2local. */
int dfs_local2global(dfs_t *dfs, d_iov_t *glob);
int dfs_global2local(daos_handle_t poh, daos_handle_t coh, int flags, d_iov_t glob, dfs_t **dfs);
/** As above, including the pool and container handles; import is undone by dfs_disconnect. */
int dfs_local2global_all(dfs_t *dfs, d_iov_t *glob);
int dfs_global2local_all(int flags, d_iov_t glob, dfs_t **dfs);
/** Strip \a prefix from paths given to dfs_lookup (NULL unsets). */
int dfs_set_prefix(dfs_t *dfs, const char *prefix);
int dfs_obj2id(dfs_obj_t *obj, daos_obj_id_t *oid);

/* ---- lookup, open, close ---- */

/** Open the object at absolute \a path ("/" is the root); \a mode and \a stbuf optional. */
int dfs_lookup(dfs_t *dfs, const char *path, int flags, dfs_obj_t **obj, mode_t *mode,
	       struct stat *stbuf);
/** Open entry \a name of \a parent (NULL: root) without following a final symlink. */
int dfs_lookup_rel(dfs_t *dfs, dfs_obj_t *parent, const char *name, int flags, dfs_obj_t **obj,
		   mode_t *mode, struct stat *stbuf);
/**
 * Create or open entry \a name of \a parent (NULL: root).  \a mode carries the type
 * (S_IFREG, S_IFDIR, S_IFLNK) and permissions; \a flags O_RDONLY/O_RDWR/O_CREAT/
 * O_EXCL/O_TRUNC; \a cid and \a chunk_size 0 for defaults; \a value is a symlink target.
 */
int dfs_open(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode, int flags,
	     daos_oclass_id_t cid, daos_size_t chunk_size, const char *value, dfs_obj_t **obj);
int dfs_dup(dfs_t *dfs, dfs_obj_t *obj, int flags, dfs_obj_t **new_obj);
/** Serialise an open object; import with dfs_obj_global2local (flags 0 keeps its mode). */
int dfs_obj_local2global(dfs_t *dfs, dfs_obj_t *obj, d_iov_t *glob);
int dfs_obj_global2local(dfs_t *dfs, int flags, d_iov_t glob, dfs_obj_t **obj);
int dfs_release(dfs_obj_t *obj);

/* ---- file I/O ---- */

/** Read from \a off; \a *read_size is short at end of file. */
int dfs_read(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off,
	     daos_size_t *read_size, daos_event_t *ev);
/** Read the file ranges of \a iod into the memory of \a sgl. */
int dfs_readx(dfs_t *dfs, dfs_obj_t *obj, dfs_iod_t *iod, d_sg_list_t *sgl,
	      daos_size_t *read_size, daos_event_t *ev);
int dfs_write(dfs_t *dfs, dfs_obj_t *obj, d_sg_list_t *sgl, daos_off_t off, daos_event_t *ev);
int dfs_writex(dfs_t *dfs, dfs_obj_t *obj, dfs_iod_t *iod, d_sg_list_t *sgl, daos_event_t *ev);
int dfs_get_size(dfs_t *dfs, dfs_obj_t *obj, daos_size_t *size);
/** Size of the file with object ID \a oid (chunk_size 0 if created with the default). */
int dfs_get_size_by_oid(dfs_t *dfs, daos_obj_id_t oid, daos_size_t chunk_size, daos_size_t *size);
/** Punch \a len bytes at \a offset; len DFS_MAX_FSIZE truncates to \a offset. */
int dfs_punch(dfs_t *dfs, dfs_obj_t *obj, daos_off_t offset, daos_size_t len);

/* ---- directories ---- */

/** Read up to \a *nr entries (d_name only); \a anchor zeroed for the first call. */
int dfs_readdir(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr,
		struct dirent *dirs);
/** As dfs_readdir, also filling one struct stat per entry. */
int dfs_readdirplus(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr,
		    struct dirent *dirs, struct stat *stbufs);

/** Callback of dfs_iterate. */
typedef int (*dfs_filler_cb_t)(dfs_t *dfs, dfs_obj_t *obj, const char name[], void *arg);

int dfs_iterate(dfs_t *dfs, dfs_obj_t *obj, daos_anchor_t *anchor, uint32_t *nr, size_t size,
		dfs_filler_cb_t op, void *arg);
/** Split a directory enumeration into \a *nr parts (0: let the library choose). */
int dfs_obj_anchor_split(dfs_obj_t *obj, uint32_t *nr, daos_anchor_t *anchors);
/** Set \a anchor to part \a index of a split. */
int dfs_obj_anchor_set(dfs_obj_t *obj, uint32_t index, daos_anchor_t *anchor);
/** Set \a anchor to continue enumeration at entry \a name. */
int dfs_dir_anchor_set(dfs_obj_t *obj, const char name[], daos_anchor_t *anchor);
/** Create directory \a name; EEXIST if present. */
int dfs_mkdir(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode,
	      daos_oclass_id_t cid);
/** Remove \a name; a non-empty directory needs \a force (else ENOTEMPTY). */
int dfs_remove(dfs_t *dfs, dfs_obj_t *parent, const char *name, bool force, daos_obj_id_t *oid);
/** Rename, replacing an existing target. */
int dfs_move(dfs_t *dfs, dfs_obj_t *parent, const char *name, dfs_obj_t *new_parent,
	     const char *new_name, daos_obj_id_t *oid);
int dfs_exchange(dfs_t *dfs, dfs_obj_t *parent1, const char *name1, dfs_obj_t *parent2,
		 const char *name2);

/* ---- object attributes ---- */

int dfs_get_mode(dfs_obj_t *obj, mode_t *mode);
int dfs_obj_get_info(dfs_t *dfs, dfs_obj_t *obj, dfs_obj_info_t *info);
/** Default class for new entries of directory \a obj. */
int dfs_obj_set_oclass(dfs_t *dfs, dfs_obj_t *obj, int flags, daos_oclass_id_t cid);
/** Default chunk size for new files of directory \a obj. */
int dfs_obj_set_chunk_size(dfs_t *dfs, dfs_obj_t *obj, int flags, daos_size_t csize);
/** Class the library would use for hint string \a hint ("file:single", "dir:max"...). */
int dfs_suggest_oclass(dfs_t *dfs, const char *hint, daos_oclass_id_t *cid);
/** The array handle behind a file (do not close it). */
int dfs_get_file_oh(dfs_obj_t *obj, daos_handle_t *oh);
int dfs_get_chunk_size(dfs_obj_t *obj, daos_size_t *chunk_size);
/** Copy a symlink's target; \a *size in: capacity, out: length including the NUL. */
int dfs_get_symlink_value(dfs_obj_t *obj, char *buf, daos_size_t *size);
/** Give open handle \a obj the parent of \a src_obj (and optionally a new name). */
int dfs_update_parent(dfs_obj_t *obj, dfs_obj_t *src_obj, const char *name);
/** Stat entry \a name of \a parent (NULL name with root parent: the root). */
int dfs_stat(dfs_t *dfs, dfs_obj_t *parent, const char *name, struct stat *stbuf);
int dfs_ostat(dfs_t *dfs, dfs_obj_t *obj, struct stat *stbuf);

/** dfs_osetattr flags. */
#define DFS_SET_ATTR_MODE  (1 << 0)
#define DFS_SET_ATTR_ATIME (1 << 1)
#define DFS_SET_ATTR_MTIME (1 << 2)
#define DFS_SET_ATTR_SIZE  (1 << 3)
#define DFS_SET_ATTR_UID   (1 << 4)
#define DFS_SET_ATTR_GID   (1 << 5)

int dfs_osetattr(dfs_t *dfs, dfs_obj_t *obj, struct stat *stbuf, int flags);
/** access(2) on entry \a name (NULL only with the root as \a parent). */
int dfs_access(dfs_t *dfs, dfs_obj_t *parent, const char *name, int mask);
int dfs_chmod(dfs_t *dfs, dfs_obj_t *parent, const char *name, mode_t mode);
int dfs_chown(dfs_t *dfs, dfs_obj_t *parent, const char *name, uid_t uid, gid_t gid, int flags);
/** 0 on a read-write mount (data is already durable), EPERM read-only. */
int dfs_sync(dfs_t *dfs);

/* ---- extended attributes ---- */

int dfs_setxattr(dfs_t *dfs, dfs_obj_t *obj, const char *name, const void *value,
		 daos_size_t size, int flags);
int dfs_getxattr(dfs_t *dfs, dfs_obj_t *obj, const char *name, void *value, daos_size_t *size);
int dfs_removexattr(dfs_t *dfs, dfs_obj_t *obj, const char *name);
int dfs_listxattr(dfs_t *dfs, dfs_obj_t *obj, char *list, daos_size_t *size);

/* ---- container checking and maintenance ---- */

/** dfs_cont_check flags. */
enum {
	DFS_CHECK_PRINT     = (1 << 0),
	DFS_CHECK_REMOVE    = (1 << 1),
	DFS_CHECK_RELINK    = (1 << 2),
	DFS_CHECK_VERIFY    = (1 << 3),
	DFS_CHECK_EVICT_ALL = (1 << 4),
};

/** Find objects not linked in the namespace; remove them or relink them under \a name. */
int dfs_cont_check(daos_handle_t poh, const char *cont, uint64_t flags, const char *name);
/** Set the owner of a POSIX container and of its root directory. */
int dfs_cont_set_owner(daos_handle_t coh, d_string_t user, uid_t uid, d_string_t group,
		       gid_t gid);
/** Walk the namespace (or \a subdir) and print statistics. */
int dfs_cont_scan(daos_handle_t poh, const char *cont, uint64_t flags, const char *subdir);

/* ---- filtered directory reads ---- */

/** Filter built by dfs_pipeline_create. */
typedef struct dfs_pipeline dfs_pipeline_t;

/** Conditions of a filter (flags of dfs_pipeline_create). */
enum {
	DFS_FILTER_NAME         = (1 << 1),
	DFS_FILTER_NEWER        = (1 << 2),
	DFS_FILTER_INCLUDE_DIRS = (1 << 3),
};

/** Values tested by a filter. */
typedef struct {
	char   dp_name[DFS_MAX_NAME]; /**< name pattern (regular expression) */
	time_t dp_newer;              /**< modified after this time */
	size_t dp_size;               /**< unused */
} dfs_predicate_t;

int dfs_pipeline_create(dfs_t *dfs, dfs_predicate_t pred, uint64_t flags, dfs_pipeline_t **dpipe);
int dfs_pipeline_destroy(dfs_pipeline_t *dpipe);
/** As dfs_readdir, keeping entries that pass \a dpipe; optionally returns OIDs and chunk sizes. */
int dfs_readdir_with_filter(dfs_t *dfs, dfs_obj_t *obj, dfs_pipeline_t *dpipe,
			    daos_anchor_t *anchor, uint32_t *nr, struct dirent *dirs,
			    daos_obj_id_t *oids, daos_size_t *csizes, uint64_t *nr_scanned);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_FS_H */

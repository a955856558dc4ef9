/*
 * api_dfs: the DFS calls IOR and mdtest make and the ones ROMIO adds (events, list I/O,
 * truncation, UNS paths), checking results: init/fini reference counting, connect and
 * mount, container creation by label, lookup, open flags, I/O blocking and with events,
 * short reads, readx/writex, punch, stat, mkdir, readdir over 100 entries, remove, move,
 * query, sync, sharing mounts and open files through global handles, and duns_resolve_path.
 *
 * Environment: DAOS_POOL and DAOS_CONT (a POSIX container; defaults "ctest" and "posix").
 * Everything this test makes lives under a directory (and containers) named after its
 * process, so several instances can run at once.
 */
#include <daos.h>
#include <daos_fs.h>
#include <daos_uns.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "ctest_util.h"

static const char *pool_label;
static const char *cont_label;
static char        base[128]; /* "/dfs_<tag>" */

static int io(dfs_t *dfs, dfs_obj_t *obj, int write, daos_off_t off, void *buf, size_t len,
	      daos_size_t *read_size, daos_event_t *ev)
{
	d_iov_t     iov;
	d_sg_list_t sgl;

	d_iov_set(&iov, buf, len);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	if (write)
		return dfs_write(dfs, obj, &sgl, off, ev);
	return dfs_read(dfs, obj, &sgl, off, read_size, ev);
}

/* Blocking write of `len` pattern bytes of `seed` at `off` (pattern offset = off). */
static void write_pattern(dfs_t *dfs, dfs_obj_t *obj, daos_off_t off, size_t len, uint64_t seed)
{
	char *buf = malloc(len);

	CHECK(buf != NULL);
	ct_fill(buf, len, seed, off);
	CHECK_DFS(io(dfs, obj, 1, off, buf, len, NULL, NULL));
	free(buf);
}

/* Blocking read of [off, off+len): checks read_size == expect and the pattern. */
static void check_pattern(dfs_t *dfs, dfs_obj_t *obj, daos_off_t off, size_t len, uint64_t seed,
			  daos_size_t expect)
{
	char       *buf = malloc(len ? len : 1);
	daos_size_t got = 12345678;
	long        bad;

	CHECK(buf != NULL);
	memset(buf, 0, len);
	CHECK_DFS(io(dfs, obj, 0, off, buf, len, &got, NULL));
	CHECKF(got == expect, "read [%llu, +%zu): read_size %llu, expected %llu",
	       (unsigned long long)off, len, (unsigned long long)got, (unsigned long long)expect);
	bad = ct_verify(buf, expect, seed, off);
	CHECKF(bad < 0, "read [%llu, +%zu): byte %ld differs", (unsigned long long)off, len, bad);
	free(buf);
}

static daos_size_t size_of(dfs_t *dfs, dfs_obj_t *obj)
{
	daos_size_t size = 12345678;

	CHECK_DFS(dfs_get_size(dfs, obj, &size));
	return size;
}

/* Polls `eq` until `ev` comes back; returns its ev_error (a positive errno for DFS). */
static int wait_ev(daos_handle_t eq, daos_event_t *ev)
{
	daos_event_t *out[1] = {NULL};
	int           n;

	n = daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out);
	CHECKF(n == 1, "daos_eq_poll returned %d (%s)", n, n < 0 ? d_errstr(n) : "");
	CHECK(out[0] == ev);
	return ev->ev_error;
}

/* ------------------------------------------------------------------------------------- */

static void test_init_connect(void)
{
	dfs_t     *dfs = NULL;
	dfs_attr_t attr;
	char       label[160];

	ct_step("dfs_init/dfs_fini reference counting");
	CHECK_ERRNO(dfs_fini(), EINVAL);
	CHECK_ERRNO(dfs_connect(pool_label, NULL, cont_label, O_RDWR, NULL, &dfs), EACCES);
	CHECK_DFS(dfs_init());
	CHECK_DFS(dfs_init());
	CHECK_DFS(dfs_fini());
	CHECK_DFS(dfs_fini());
	CHECK_ERRNO(dfs_fini(), EINVAL);
	CHECK_DFS(dfs_init());

	ct_step("dfs_connect/dfs_disconnect");
	CHECK_DFS(dfs_connect(pool_label, NULL, cont_label, O_RDWR, NULL, &dfs));
	CHECK(dfs != NULL);
	memset(&attr, 0, sizeof(attr));
	CHECK_DFS(dfs_query(dfs, &attr));
	CHECK(attr.da_chunk_size > 0);
	CHECK_DFS(dfs_disconnect(dfs));

	/* O_CREAT creates a POSIX container of that label. */
	snprintf(label, sizeof(label), "dfsconn_%s", ct_tag());
	CHECK_ERRNO(dfs_connect(pool_label, NULL, label, O_RDWR, NULL, &dfs), ENOENT);
	CHECK_DFS(dfs_connect(pool_label, NULL, label, O_CREAT | O_RDWR, NULL, &dfs));
	CHECK_DFS(dfs_mkdir(dfs, NULL, "made_by_connect", 0755, 0));
	CHECK_DFS(dfs_disconnect(dfs));
	CHECK_DFS(dfs_connect(pool_label, NULL, label, O_RDONLY, NULL, &dfs));
	{
		struct stat st;

		CHECK_DFS(dfs_stat(dfs, NULL, "made_by_connect", &st));
		CHECK(S_ISDIR(st.st_mode));
	}
	CHECK_DFS(dfs_disconnect(dfs));
}

static void test_cont_create(daos_handle_t poh)
{
	daos_handle_t coh;
	dfs_t        *dfs;
	dfs_attr_t    attr;
	uuid_t        uuid;
	char          label[160];
	daos_prop_t  *prop;
	struct daos_prop_entry *e;

	ct_step("dfs_cont_create_with_label, dfs_mount, dfs_query");
	snprintf(label, sizeof(label), "dfslabel_%s", ct_tag());
	uuid_clear(uuid);
	CHECK_DFS(dfs_cont_create_with_label(poh, label, NULL, &uuid, &coh, NULL));
	CHECK(!uuid_is_null(uuid));
	CHECK(daos_handle_is_valid(coh));
	CHECK_ERRNO(dfs_cont_create_with_label(poh, label, NULL, NULL, NULL, NULL), EEXIST);

	/* the container has the POSIX layout and its label */
	prop = daos_prop_alloc(0);
	CHECK_OK(daos_cont_query(coh, NULL, prop, NULL));
	e = daos_prop_entry_get(prop, DAOS_PROP_CO_LAYOUT_TYPE);
	CHECK(e != NULL && e->dpe_val == DAOS_PROP_CO_LAYOUT_POSIX);
	e = daos_prop_entry_get(prop, DAOS_PROP_CO_LABEL);
	CHECK(e != NULL && e->dpe_str != NULL && strcmp(e->dpe_str, label) == 0);
	daos_prop_free(prop);

	CHECK_DFS(dfs_mount(poh, coh, O_RDWR, &dfs));
	memset(&attr, 0, sizeof(attr));
	CHECK_DFS(dfs_query(dfs, &attr));
	CHECKF(attr.da_chunk_size == DFS_DEFAULT_CHUNK_SIZE, "chunk size %llu",
	       (unsigned long long)attr.da_chunk_size);
	CHECK_DFS(dfs_mkdir(dfs, NULL, "d", 0755, 0));
	CHECK_DFS(dfs_umount(dfs));
	CHECK_OK(daos_cont_close(coh, NULL));

	/* and with a mounted dfs returned directly, chunk size from attr */
	snprintf(label, sizeof(label), "dfslabel2_%s", ct_tag());
	memset(&attr, 0, sizeof(attr));
	attr.da_chunk_size = 65536;
	CHECK_DFS(dfs_cont_create_with_label(poh, label, &attr, NULL, &coh, &dfs));
	memset(&attr, 0, sizeof(attr));
	CHECK_DFS(dfs_query(dfs, &attr));
	CHECKF(attr.da_chunk_size == 65536, "chunk size %llu",
	       (unsigned long long)attr.da_chunk_size);
	CHECK_DFS(dfs_umount(dfs));
	CHECK_OK(daos_cont_close(coh, NULL));
	CHECK_OK(daos_cont_destroy(poh, label, 0, NULL));
	snprintf(label, sizeof(label), "dfslabel_%s", ct_tag());
	CHECK_OK(daos_cont_destroy(poh, label, 0, NULL));
	snprintf(label, sizeof(label), "dfsconn_%s", ct_tag());
	CHECK_OK(daos_cont_destroy(poh, label, 0, NULL));

	ct_step("dfs_cont_create (UUID out, no label)");
	uuid_clear(uuid);
	CHECK_DFS(dfs_cont_create(poh, &uuid, NULL, &coh, &dfs));
	CHECK(!uuid_is_null(uuid));
	CHECK_DFS(dfs_mkdir(dfs, NULL, "d", 0755, 0));
	CHECK_DFS(dfs_umount(dfs));
	CHECK_OK(daos_cont_close(coh, NULL));
	uuid_unparse(uuid, label);
	CHECK_DFS(dfs_connect(pool_label, NULL, label, O_RDONLY, NULL, &dfs));
	{
		struct stat st;

		CHECK_DFS(dfs_stat(dfs, NULL, "d", &st));
		CHECK(S_ISDIR(st.st_mode));
	}
	CHECK_DFS(dfs_disconnect(dfs));
	CHECK_OK(daos_cont_destroy(poh, label, 0, NULL));
}

static void test_lookup(dfs_t *dfs, dfs_obj_t *dir)
{
	dfs_obj_t  *obj, *root;
	mode_t      mode = 0;
	struct stat st;
	char        path[256];

	ct_step("dfs_lookup");
	memset(&st, 0, sizeof(st));
	CHECK_DFS(dfs_lookup(dfs, "/", O_RDWR, &root, &mode, &st));
	CHECK(S_ISDIR(mode));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_DFS(dfs_access(dfs, root, NULL, R_OK | W_OK));

	CHECK_DFS(dfs_mkdir(dfs, dir, "a", 0755, 0));
	snprintf(path, sizeof(path), "%s/a", base);
	CHECK_DFS(dfs_lookup(dfs, path, O_RDWR, &obj, NULL, NULL));
	CHECK_DFS(dfs_mkdir(dfs, obj, "b", 0750, 0));
	CHECK_DFS(dfs_release(obj));
	snprintf(path, sizeof(path), "%s/a/b", base);
	mode = 0;
	CHECK_DFS(dfs_lookup(dfs, path, O_RDONLY, &obj, &mode, NULL));
	CHECK(S_ISDIR(mode));
	CHECKF((mode & 0777) == 0750, "mode 0%o", (unsigned)mode);
	CHECK_DFS(dfs_ostat(dfs, obj, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_DFS(dfs_release(obj));

	/* relative paths are refused; missing entries are ENOENT; a file is not a directory */
	CHECK_ERRNO(dfs_lookup(dfs, base + 1, O_RDWR, &obj, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_lookup(dfs, "a/b", O_RDWR, &obj, NULL, NULL), EINVAL);
	snprintf(path, sizeof(path), "%s/a/missing", base);
	CHECK_ERRNO(dfs_lookup(dfs, path, O_RDWR, &obj, NULL, NULL), ENOENT);
	CHECK_DFS(dfs_open(dfs, dir, "plain", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &obj));
	CHECK_DFS(dfs_release(obj));
	snprintf(path, sizeof(path), "%s/plain/x", base);
	CHECK_ERRNO(dfs_lookup(dfs, path, O_RDWR, &obj, NULL, NULL), ENOTDIR);
	snprintf(path, sizeof(path), "%s/plain", base);
	CHECK_DFS(dfs_lookup(dfs, path, O_RDWR, &obj, &mode, NULL));
	CHECK(S_ISREG(mode));
	CHECK_DFS(dfs_release(obj));
	CHECK_DFS(dfs_access(dfs, dir, "plain", R_OK | W_OK));
	CHECK_ERRNO(dfs_access(dfs, dir, "missing", R_OK), ENOENT);
	CHECK_DFS(dfs_release(root));
}

static void test_open_rw(dfs_t *dfs, dfs_obj_t *dir)
{
	dfs_obj_t  *f, *f2;
	char       *buf;
	daos_size_t rs;
	size_t      i;

	ct_step("dfs_open O_CREAT|O_EXCL, O_TRUNC");
	CHECK_DFS(dfs_open(dfs, dir, "f1", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL,
			   &f));
	CHECK_ERRNO(dfs_open(dfs, dir, "f1", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL,
			     &f2),
		    EEXIST);
	CHECK_ERRNO(dfs_open(dfs, dir, "nope", S_IFREG | 0644, O_RDWR, 0, 0, NULL, &f2), ENOENT);
	write_pattern(dfs, f, 0, 100000, 1);
	CHECK(size_of(dfs, f) == 100000);
	/* O_CREAT without O_EXCL opens the existing file */
	CHECK_DFS(dfs_open(dfs, dir, "f1", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f2));
	CHECK(size_of(dfs, f2) == 100000);
	check_pattern(dfs, f2, 0, 100000, 1, 100000);
	CHECK_DFS(dfs_release(f2));
	CHECK_DFS(dfs_open(dfs, dir, "f1", S_IFREG | 0644, O_RDWR | O_TRUNC, 0, 0, NULL, &f2));
	CHECK(size_of(dfs, f2) == 0);
	CHECK(size_of(dfs, f) == 0);
	CHECK_DFS(dfs_release(f2));
	CHECK_DFS(dfs_release(f));

	ct_step("dfs_write/dfs_read blocking across chunks, short reads, holes");
	/* 64 KiB chunks so 300000 bytes span five of them */
	CHECK_DFS(dfs_open(dfs, dir, "f2", S_IFREG | 0600, O_CREAT | O_EXCL | O_RDWR, OC_SX, 65536,
			   NULL, &f));
	write_pattern(dfs, f, 0, 300000, 2);
	CHECK(size_of(dfs, f) == 300000);
	check_pattern(dfs, f, 0, 300000, 2, 300000);
	check_pattern(dfs, f, 65000, 1000, 2, 1000);
	/* short read at EOF, read past EOF */
	check_pattern(dfs, f, 299500, 1000, 2, 500);
	check_pattern(dfs, f, 400000, 1000, 2, 0);
	/* a hole reads as zeros */
	write_pattern(dfs, f, 500000, 100, 2);
	CHECK(size_of(dfs, f) == 500100);
	buf = malloc(200000);
	CHECK(buf != NULL);
	memset(buf, 0xEE, 200000);
	rs = 0;
	CHECK_DFS(io(dfs, f, 0, 300000, buf, 200000, &rs, NULL));
	CHECK(rs == 200000);
	for (i = 0; i < 200000; i++)
		CHECKF(buf[i] == 0, "hole byte %zu is 0x%02x", 300000 + i, (unsigned char)buf[i]);
	free(buf);
	check_pattern(dfs, f, 500000, 200, 2, 100);
	/* zero-length I/O */
	rs = 77;
	CHECK_DFS(io(dfs, f, 0, 0, NULL, 0, &rs, NULL));
	CHECK(rs == 0);
	CHECK_DFS(dfs_release(f));
}

static void test_events(dfs_t *dfs, dfs_obj_t *dir)
{
	daos_handle_t eq;
	daos_event_t  ev, sev;
	dfs_obj_t    *f, *ro;
	char         *buf;
	daos_size_t   rs;
	bool          flag;
	int           rc, i, tries;

	ct_step("dfs_write/dfs_read with an event on an event queue");
	buf = malloc(200000);
	CHECK(buf != NULL);
	CHECK_OK(daos_eq_create(&eq));
	CHECK_OK(daos_event_init(&ev, eq, NULL));
	CHECK_DFS(dfs_open(dfs, dir, "ev", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL,
			   &f));
	/* several writes, one event reused without fini */
	for (i = 0; i < 4; i++) {
		ct_fill(buf, 50000, 3, (uint64_t)i * 50000);
		CHECK_DFS(io(dfs, f, 1, (daos_off_t)i * 50000, buf, 50000, NULL, &ev));
		CHECK_DFS(wait_ev(eq, &ev));
	}
	CHECK(size_of(dfs, f) == 200000);
	memset(buf, 0, 200000);
	rs = 0;
	CHECK_DFS(io(dfs, f, 0, 0, buf, 200000, &rs, &ev));
	CHECK_DFS(wait_ev(eq, &ev));
	CHECK(rs == 200000);
	CHECK(ct_verify(buf, 200000, 3, 0) < 0);
	/* short read through an event */
	rs = 0;
	CHECK_DFS(io(dfs, f, 0, 199000, buf, 5000, &rs, &ev));
	CHECK_DFS(wait_ev(eq, &ev));
	CHECK(rs == 1000);
	CHECK(ct_verify(buf, 1000, 3, 199000) < 0);
	/* zero-length read with an event completes at once */
	rs = 77;
	CHECK_DFS(io(dfs, f, 0, 0, buf, 0, &rs, &ev));
	CHECK_DFS(wait_ev(eq, &ev));
	CHECK(rs == 0);

	/* an error through an event is a positive errno: writing a read-only open */
	CHECK_DFS(dfs_open(dfs, dir, "ev", S_IFREG | 0644, O_RDONLY, 0, 0, NULL, &ro));
	rc = io(dfs, ro, 1, 0, buf, 100, NULL, &ev);
	if (rc == 0)
		rc = wait_ev(eq, &ev);
	CHECK_ERRNO(rc, EPERM);
	CHECK_DFS(dfs_release(ro));
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, (daos_event_t *[]){NULL}), 0);

	ct_step("dfs_read with a standalone event and daos_event_test (ROMIO)");
	CHECK_OK(daos_event_init(&sev, DAOS_HDL_INVAL, NULL));
	memset(buf, 0, 200000);
	rs = 0;
	CHECK_DFS(io(dfs, f, 0, 100000, buf, 100000, &rs, &sev));
	flag = false;
	for (tries = 0; !flag; tries++) {
		CHECK(tries < 1000000);
		CHECK_OK(daos_event_test(&sev, DAOS_EQ_NOWAIT, &flag));
		if (!flag)
			usleep(100);
	}
	CHECK_DFS(sev.ev_error);
	CHECK(rs == 100000);
	CHECK(ct_verify(buf, 100000, 3, 100000) < 0);
	/* reuse the standalone event for a write, wait without limit */
	ct_fill(buf, 1000, 4, 200000);
	CHECK_DFS(io(dfs, f, 1, 200000, buf, 1000, NULL, &sev));
	flag = false;
	CHECK_OK(daos_event_test(&sev, DAOS_EQ_WAIT, &flag));
	CHECK(flag);
	CHECK_DFS(sev.ev_error);
	CHECK(size_of(dfs, f) == 201000);
	check_pattern(dfs, f, 200000, 1000, 4, 1000);

	CHECK_DFS(dfs_release(f));
	CHECK_OK(daos_event_fini(&ev));
	CHECK_OK(daos_event_fini(&sev));
	CHECK_OK(daos_eq_destroy(eq, 0));
	free(buf);
}

/* dfs_writex with 4 file ranges from 5 memory segments; dfs_readx back into 8 segments. */
static void test_list_io(dfs_t *dfs, dfs_obj_t *dir)
{
	static const daos_range_t rgs[4] = {
	    {.rg_idx = 0, .rg_len = 1000},
	    {.rg_idx = 5000, .rg_len = 1000},
	    {.rg_idx = 10000, .rg_len = 1000},
	    {.rg_idx = 20000, .rg_len = 1000},
	};
	daos_range_t  ranges[4];
	dfs_iod_t     iod;
	d_iov_t       wiov[5], riov[8];
	d_sg_list_t   sgl;
	char          wbuf[4000], rbuf[4000], one[1000];
	dfs_obj_t    *f;
	daos_size_t   rs;
	daos_handle_t eq;
	daos_event_t  ev;
	int           i, r;

	ct_step("dfs_writex/dfs_readx: N file ranges vs M memory segments");
	memcpy(ranges, rgs, sizeof(rgs));
	CHECK_DFS(dfs_open(dfs, dir, "listio", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0,
			   NULL, &f));
	ct_fill(wbuf, sizeof(wbuf), 5, 0);
	iod.iod_nr  = 4;
	iod.iod_rgs = ranges;
	for (i = 0; i < 5; i++)
		d_iov_set(&wiov[i], wbuf + i * 800, 800);
	sgl.sg_nr     = 5;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = wiov;
	CHECK_DFS(dfs_writex(dfs, f, &iod, &sgl, NULL));
	CHECK(size_of(dfs, f) == 21000);

	memset(rbuf, 0, sizeof(rbuf));
	for (i = 0; i < 8; i++)
		d_iov_set(&riov[i], rbuf + i * 500, 500);
	sgl.sg_nr   = 8;
	sgl.sg_iovs = riov;
	rs          = 0;
	CHECK_DFS(dfs_readx(dfs, f, &iod, &sgl, &rs, NULL));
	CHECKF(rs == 4000, "read_size %llu", (unsigned long long)rs);
	CHECK(memcmp(rbuf, wbuf, sizeof(wbuf)) == 0);

	/* each file range holds its slice of the memory stream; the gaps read as zeros */
	for (r = 0; r < 4; r++) {
		memset(one, 0x55, sizeof(one));
		CHECK_DFS(io(dfs, f, 0, rgs[r].rg_idx, one, 1000, &rs, NULL));
		CHECK(rs == 1000);
		CHECK(memcmp(one, wbuf + r * 1000, 1000) == 0);
	}
	memset(one, 0x55, sizeof(one));
	CHECK_DFS(io(dfs, f, 0, 1000, one, 1000, &rs, NULL));
	CHECK(rs == 1000);
	for (i = 0; i < 1000; i++)
		CHECK(one[i] == 0);

	/* the same through an event, different segmentation again (3 x 1333 + 1) */
	CHECK_OK(daos_eq_create(&eq));
	CHECK_OK(daos_event_init(&ev, eq, NULL));
	ct_fill(wbuf, sizeof(wbuf), 6, 0);
	d_iov_set(&wiov[0], wbuf, 1333);
	d_iov_set(&wiov[1], wbuf + 1333, 1333);
	d_iov_set(&wiov[2], wbuf + 2666, 1333);
	d_iov_set(&wiov[3], wbuf + 3999, 1);
	sgl.sg_nr   = 4;
	sgl.sg_iovs = wiov;
	CHECK_DFS(dfs_writex(dfs, f, &iod, &sgl, &ev));
	CHECK_DFS(wait_ev(eq, &ev));
	memset(rbuf, 0, sizeof(rbuf));
	sgl.sg_nr   = 8;
	sgl.sg_iovs = riov;
	rs          = 0;
	CHECK_DFS(dfs_readx(dfs, f, &iod, &sgl, &rs, &ev));
	CHECK_DFS(wait_ev(eq, &ev));
	CHECK(rs == 4000);
	CHECK(memcmp(rbuf, wbuf, sizeof(wbuf)) == 0);
	CHECK_OK(daos_event_fini(&ev));
	CHECK_OK(daos_eq_destroy(eq, 0));
	CHECK_DFS(dfs_release(f));
}

static void test_punch_stat(dfs_t *dfs, dfs_obj_t *dir)
{
	dfs_obj_t  *f;
	struct stat st;
	char        buf[1000];
	daos_size_t rs;
	int         i;

	ct_step("dfs_punch truncation, dfs_stat/dfs_ostat");
	CHECK_DFS(dfs_open(dfs, dir, "punch", S_IFREG | 0640, O_CREAT | O_EXCL | O_RDWR, 0, 0,
			   NULL, &f));
	write_pattern(dfs, f, 0, 21000, 7);
	/* ROMIO's truncate */
	CHECK_DFS(dfs_punch(dfs, f, 5500, DFS_MAX_FSIZE));
	CHECK(size_of(dfs, f) == 5500);
	check_pattern(dfs, f, 5000, 1000, 7, 500);
	/* a hole in the middle keeps the size */
	CHECK_DFS(dfs_punch(dfs, f, 100, 200));
	CHECK(size_of(dfs, f) == 5500);
	memset(buf, 0xEE, sizeof(buf));
	CHECK_DFS(io(dfs, f, 0, 0, buf, 400, &rs, NULL));
	CHECK(rs == 400);
	CHECK(ct_verify(buf, 100, 7, 0) < 0);
	for (i = 100; i < 300; i++)
		CHECKF(buf[i] == 0, "punched byte %d is 0x%02x", i, (unsigned char)buf[i]);
	CHECK(ct_verify(buf + 300, 100, 7, 300) < 0);
	/* truncation to a larger size extends the file with zeros */
	CHECK_DFS(dfs_punch(dfs, f, 8000, DFS_MAX_FSIZE));
	CHECK(size_of(dfs, f) == 8000);
	memset(buf, 0xEE, sizeof(buf));
	CHECK_DFS(io(dfs, f, 0, 5000, buf, 1000, &rs, NULL));
	CHECK(rs == 1000);
	CHECK(ct_verify(buf, 500, 7, 5000) < 0);
	for (i = 500; i < 1000; i++)
		CHECKF(buf[i] == 0, "byte %d past the old size is 0x%02x", 5000 + i,
		       (unsigned char)buf[i]);
	/* and back */
	CHECK_DFS(dfs_punch(dfs, f, 5500, DFS_MAX_FSIZE));
	CHECK(size_of(dfs, f) == 5500);

	memset(&st, 0, sizeof(st));
	CHECK_DFS(dfs_stat(dfs, dir, "punch", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECKF((st.st_mode & 0777) == 0640, "mode 0%o", (unsigned)st.st_mode);
	CHECKF(st.st_size == 5500, "st_size %lld", (long long)st.st_size);
	memset(&st, 0, sizeof(st));
	CHECK_DFS(dfs_ostat(dfs, f, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK(st.st_size == 5500);
	CHECK_ERRNO(dfs_stat(dfs, dir, "no_such_file", &st), ENOENT);
	CHECK_DFS(dfs_release(f));
}

static void test_dirs(dfs_t *dfs, dfs_obj_t *dir)
{
	dfs_obj_t      *many, *f, *sub;
	struct dirent   ents[16];
	daos_anchor_t   anchor;
	uint32_t        nr;
	char            name[64], path[256];
	unsigned char   seen[100];
	int             i, n, rounds;
	struct stat     st;
	daos_obj_id_t   oid;

	ct_step("dfs_mkdir EEXIST");
	CHECK_DFS(dfs_mkdir(dfs, dir, "sub", 0755, 0));
	CHECK_ERRNO(dfs_mkdir(dfs, dir, "sub", 0755, 0), EEXIST);
	CHECK_ERRNO(dfs_mkdir(dfs, dir, "plain", 0755, 0), EEXIST);

	ct_step("dfs_readdir over 100 entries with an anchor");
	CHECK_DFS(dfs_mkdir(dfs, dir, "many", 0755, 0));
	snprintf(path, sizeof(path), "%s/many", base);
	CHECK_DFS(dfs_lookup(dfs, path, O_RDWR, &many, NULL, NULL));
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "entry_%03d", i);
		CHECK_DFS(dfs_open(dfs, many, name, S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0,
				   NULL, &f));
		CHECK_DFS(dfs_release(f));
	}
	memset(seen, 0, sizeof(seen));
	memset(&anchor, 0, sizeof(anchor));
	n      = 0;
	rounds = 0;
	while (!daos_anchor_is_eof(&anchor)) {
		CHECK(rounds++ < 1000);
		nr = 16;
		CHECK_DFS(dfs_readdir(dfs, many, &anchor, &nr, ents));
		CHECK(nr <= 16);
		for (i = 0; i < (int)nr; i++) {
			int k;

			CHECKF(sscanf(ents[i].d_name, "entry_%03d", &k) == 1 && k >= 0 && k < 100,
			       "unexpected entry \"%s\"", ents[i].d_name);
			CHECKF(!seen[k], "entry \"%s\" listed twice", ents[i].d_name);
			seen[k] = 1;
			n++;
		}
	}
	CHECKF(n == 100, "readdir returned %d entries", n);
	CHECK(rounds >= 7);

	ct_step("dfs_remove: ENOTEMPTY without force, then force");
	CHECK_ERRNO(dfs_remove(dfs, dir, "many", false, NULL), ENOTEMPTY);
	CHECK_DFS(dfs_release(many));
	CHECK_DFS(dfs_remove(dfs, dir, "many", true, NULL));
	CHECK_ERRNO(dfs_lookup(dfs, path, O_RDWR, &many, NULL, NULL), ENOENT);
	CHECK_ERRNO(dfs_remove(dfs, dir, "many", false, NULL), ENOENT);
	CHECK_DFS(dfs_open(dfs, dir, "victim", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL,
			   &f));
	CHECK_DFS(dfs_release(f));
	memset(&oid, 0, sizeof(oid));
	CHECK_DFS(dfs_remove(dfs, dir, "victim", false, &oid));
	CHECK(oid.lo != 0 || oid.hi != 0);
	CHECK_ERRNO(dfs_stat(dfs, dir, "victim", &st), ENOENT);

	ct_step("dfs_move");
	CHECK_DFS(dfs_open(dfs, dir, "m1", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL, &f));
	write_pattern(dfs, f, 0, 1234, 8);
	CHECK_DFS(dfs_release(f));
	CHECK_DFS(dfs_move(dfs, dir, "m1", dir, "m2", NULL));
	CHECK_ERRNO(dfs_stat(dfs, dir, "m1", &st), ENOENT);
	CHECK_DFS(dfs_stat(dfs, dir, "m2", &st));
	CHECK(st.st_size == 1234);
	/* over an existing file: replaces it */
	CHECK_DFS(dfs_open(dfs, dir, "m3", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0, NULL, &f));
	write_pattern(dfs, f, 0, 10, 9);
	CHECK_DFS(dfs_release(f));
	CHECK_DFS(dfs_move(dfs, dir, "m2", dir, "m3", NULL));
	CHECK_DFS(dfs_stat(dfs, dir, "m3", &st));
	CHECK(st.st_size == 1234);
	CHECK_ERRNO(dfs_stat(dfs, dir, "m2", &st), ENOENT);
	/* into another directory */
	snprintf(path, sizeof(path), "%s/sub", base);
	CHECK_DFS(dfs_lookup(dfs, path, O_RDWR, &sub, NULL, NULL));
	CHECK_DFS(dfs_move(dfs, dir, "m3", sub, "moved", NULL));
	CHECK_DFS(dfs_stat(dfs, sub, "moved", &st));
	CHECK(st.st_size == 1234);
	CHECK_DFS(dfs_open(dfs, sub, "moved", S_IFREG | 0644, O_RDONLY, 0, 0, NULL, &f));
	check_pattern(dfs, f, 0, 2000, 8, 1234);
	CHECK_DFS(dfs_release(f));
	CHECK_DFS(dfs_release(sub));
}

static void test_sharing(daos_handle_t poh, daos_handle_t coh, dfs_t *dfs, dfs_obj_t *dir)
{
	d_iov_t     g, og;
	dfs_t      *dfs2;
	dfs_obj_t  *f, *f2, *d2;
	char        path[256];
	struct stat st;

	ct_step("dfs_local2global/dfs_global2local, dfs_set_prefix");
	CHECK_DFS(dfs_open(dfs, dir, "shared", S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0, 0,
			   NULL, &f));
	write_pattern(dfs, f, 0, 5000, 10);

	memset(&g, 0, sizeof(g));
	CHECK_DFS(dfs_local2global(dfs, &g));
	CHECK(g.iov_buf_len > 0);
	g.iov_buf = calloc(1, g.iov_buf_len);
	CHECK(g.iov_buf != NULL);
	CHECK_DFS(dfs_local2global(dfs, &g));
	CHECK(g.iov_len == g.iov_buf_len);
	CHECK_DFS(dfs_global2local(poh, coh, 0, g, &dfs2));
	CHECK(dfs2 != NULL);
	snprintf(path, sizeof(path), "%s/shared", base);
	CHECK_DFS(dfs_lookup(dfs2, path, O_RDWR, &f2, NULL, NULL));
	check_pattern(dfs2, f2, 0, 6000, 10, 5000);
	CHECK_DFS(dfs_release(f2));

	/* a prefix on the imported mount: paths must start with it */
	CHECK_DFS(dfs_set_prefix(dfs2, "/mnt/ctest"));
	snprintf(path, sizeof(path), "/mnt/ctest%s/shared", base);
	CHECK_DFS(dfs_lookup(dfs2, path, O_RDONLY, &f2, NULL, NULL));
	CHECK_DFS(dfs_release(f2));
	snprintf(path, sizeof(path), "%s/shared", base);
	CHECK_ERRNO(dfs_lookup(dfs2, path, O_RDONLY, &f2, NULL, NULL), EINVAL);
	CHECK_DFS(dfs_set_prefix(dfs2, NULL));
	CHECK_DFS(dfs_lookup(dfs2, path, O_RDONLY, &d2, NULL, NULL));
	CHECK_DFS(dfs_release(d2));
	CHECK_DFS(dfs_umount(dfs2));
	free(g.iov_buf);

	ct_step("dfs_obj_local2global/dfs_obj_global2local");
	memset(&og, 0, sizeof(og));
	CHECK_DFS(dfs_obj_local2global(dfs, f, &og));
	CHECK(og.iov_buf_len > 0);
	og.iov_buf = calloc(1, og.iov_buf_len);
	CHECK(og.iov_buf != NULL);
	CHECK_DFS(dfs_obj_local2global(dfs, f, &og));
	CHECK(og.iov_len == og.iov_buf_len);
	CHECK_DFS(dfs_obj_global2local(dfs, 0, og, &f2));
	check_pattern(dfs, f2, 0, 6000, 10, 5000);
	/* writes through either handle are seen through the other */
	write_pattern(dfs, f2, 5000, 3000, 10);
	CHECK(size_of(dfs, f) == 8000);
	check_pattern(dfs, f, 0, 8000, 10, 8000);
	CHECK_DFS(dfs_ostat(dfs, f2, &st));
	CHECK(st.st_size == 8000);
	CHECK_DFS(dfs_release(f2));
	free(og.iov_buf);
	CHECK_DFS(dfs_release(f));
}

static void test_duns(void)
{
	struct duns_attr_t attr;
	char               path[512], tmpl[] = "/tmp/ctest_duns_XXXXXX";
	char              *dir;

	ct_step("duns_resolve_path on daos:// paths and on a plain directory");
	memset(&attr, 0, sizeof(attr));
	snprintf(path, sizeof(path), "daos://%s/%s/a/b", pool_label, cont_label);
	CHECK_DFS(duns_resolve_path(path, &attr));
	CHECKF(strcmp(attr.da_pool, pool_label) == 0, "da_pool \"%s\"", attr.da_pool);
	CHECKF(strcmp(attr.da_cont, cont_label) == 0, "da_cont \"%s\"", attr.da_cont);
	CHECK(attr.da_rel_path != NULL);
	CHECKF(strcmp(attr.da_rel_path, "/a/b") == 0, "da_rel_path \"%s\"", attr.da_rel_path);
	duns_destroy_attr(&attr);

	memset(&attr, 0, sizeof(attr));
	snprintf(path, sizeof(path), "daos://%s/%s", pool_label, cont_label);
	CHECK_DFS(duns_resolve_path(path, &attr));
	CHECK(strcmp(attr.da_pool, pool_label) == 0);
	CHECK(strcmp(attr.da_cont, cont_label) == 0);
	CHECKF(attr.da_rel_path == NULL, "da_rel_path \"%s\"", attr.da_rel_path);
	duns_destroy_attr(&attr);

	dir = mkdtemp(tmpl);
	CHECK(dir != NULL);
	memset(&attr, 0, sizeof(attr));
	CHECK_ERRNO(duns_resolve_path(dir, &attr), ENODATA);
	rmdir(dir);
}

int main(void)
{
	daos_handle_t poh, coh;
	dfs_t        *dfs;
	dfs_obj_t    *dir;
	dfs_attr_t    attr;
	mode_t        mode;

	pool_label = ct_env("DAOS_POOL", "ctest");
	cont_label = ct_env("DAOS_CONT", "posix");
	snprintf(base, sizeof(base), "/dfs_%s", ct_tag());

	test_init_connect();

	ct_step("pool connect, container open, dfs_mount");
	CHECK_OK(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, NULL));
	CHECK_OK(daos_cont_open(poh, cont_label, DAOS_COO_RW, &coh, NULL, NULL));
	CHECK_DFS(dfs_mount(poh, coh, O_RDWR, &dfs));
	memset(&attr, 0, sizeof(attr));
	CHECK_DFS(dfs_query(dfs, &attr));
	CHECKF(attr.da_chunk_size == DFS_DEFAULT_CHUNK_SIZE, "chunk size %llu",
	       (unsigned long long)attr.da_chunk_size);
	CHECK_DFS(dfs_mkdir(dfs, NULL, base + 1, 0755, 0));
	CHECK_DFS(dfs_lookup(dfs, base, O_RDWR, &dir, &mode, NULL));
	CHECK(S_ISDIR(mode));

	test_cont_create(poh);
	test_lookup(dfs, dir);
	test_open_rw(dfs, dir);
	test_events(dfs, dir);
	test_list_io(dfs, dir);
	test_punch_stat(dfs, dir);
	test_dirs(dfs, dir);
	test_sharing(poh, coh, dfs, dir);
	test_duns();

	ct_step("dfs_sync, cleanup, dfs_umount");
	CHECK_DFS(dfs_sync(dfs));
	CHECK_DFS(dfs_release(dir));
	CHECK_DFS(dfs_remove(dfs, NULL, base + 1, true, NULL));
	CHECK_DFS(dfs_umount(dfs));
	CHECK_OK(daos_cont_close(coh, NULL));
	CHECK_OK(daos_pool_disconnect(poh, NULL));
	CHECK_DFS(dfs_fini());
	printf("api_dfs: all checks passed\n");
	return 0;
}

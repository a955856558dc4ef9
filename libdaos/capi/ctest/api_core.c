/*
 * api_core: libdaos's L0/L1 calls and the KV and array APIs (with an open array shared
 * through daos_array_local2global/global2local), each in blocking mode (NULL event) and in
 * event mode (one event on one event queue, reused without daos_event_fini), checking
 * results and not only return codes; then the event-queue semantics (empty poll, query,
 * standalone events, parent barrier, completion callbacks, abort, destroy while busy) and
 * blocking calls from 8 threads at once.
 *
 * Environment: DAOS_POOL (pool label, default "ctest"); the agent socket comes from
 * DAOS_AGENT_DRPC_DIR. Every container and object this test makes is named after its
 * process, so several instances can run at once.
 */
#include <daos.h>
#include <dlfcn.h>
#include <gurt/common.h>
#include <gurt/hash.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <uuid/uuid.h>

#include "ctest_util.h"

static const char *pool_label;

/* Event mode: the one event queue and the one event every call reuses. */
static daos_handle_t eq;
static daos_event_t ev;
static int async_mode;

#define EVP (async_mode ? &ev : NULL)

/*
 * Completes a call made with EVP: in blocking mode returns its rc; in event mode, a
 * non-zero rc means the call was refused before launch, else polls the queue until our
 * event comes back and returns its ev_error.
 */
static int wait_op(int rc, const char *what)
{
	daos_event_t *out[1] = {NULL};
	int           n;

	if (!async_mode || rc != 0)
		return rc;
	n = daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out);
	CHECKF(n == 1, "%s: daos_eq_poll returned %d (%s)", what, n, n < 0 ? d_errstr(n) : "");
	CHECKF(out[0] == &ev, "%s: daos_eq_poll returned event %p, not %p", what,
	       (void *)out[0], (void *)&ev);
	return ev.ev_error;
}

#define OP(call) wait_op((call), #call)

static void set_key(daos_key_t *key, const char *s)
{
	d_iov_set(key, (void *)s, strlen(s));
}

static const char *mode_name(void)
{
	return async_mode ? "event" : "blocking";
}

/* ------------------------------------------------------------------------------------- */
/* Library init/fini, errors, object classes                                              */

static void test_init_fini(void)
{
	ct_step("daos_init/daos_fini reference counting");
	CHECK_OK(daos_init());
	CHECK_OK(daos_init());
	CHECK_OK(daos_fini());
	CHECK_OK(daos_fini());
	CHECK_RC(daos_fini(), -DER_UNINIT);
	CHECK_OK(daos_init());
}

static void test_errstr(void)
{
	ct_step("d_errstr/d_errdesc");
	CHECK(DER_NONEXIST == 1005);
	CHECK(DER_KEY2BIG == 2012);
	CHECK(strcmp(d_errstr(-DER_NONEXIST), "DER_NONEXIST") == 0);
	CHECK(strcmp(d_errstr(-DER_INVAL), "DER_INVAL") == 0);
	CHECK(strcmp(d_errstr(-DER_REC2BIG), "DER_REC2BIG") == 0);
	CHECK(strcmp(d_errstr(0), "DER_SUCCESS") == 0);
	CHECK(d_errdesc(-DER_NONEXIST) != NULL && d_errdesc(-DER_NONEXIST)[0] != '\0');
	CHECK(d_errstr(-123456) != NULL);
}

static void test_oclass(void)
{
	char name[MAX_OBJ_CLASS_NAME_LEN];

	ct_step("daos_oclass_name2id/id2name");
	CHECK(daos_oclass_name2id("SX") == OC_SX);
	CHECK(daos_oclass_name2id("S1") == OC_S1);
	CHECK(daos_oclass_name2id("S2") == OC_S2);
	CHECK(daos_oclass_name2id("RP_2GX") == OC_RP_2GX);
	CHECK(daos_oclass_name2id("RP_3G1") == OC_RP_3G1);
	CHECK(daos_oclass_name2id("EC_4P2G1") == OC_EC_4P2G1);
	CHECK(daos_oclass_name2id("EC_2P1GX") == OC_EC_2P1GX);
	CHECK(OC_SX == 0x0100FFFF);
	CHECK(OC_S1 == 0x01000001);
	CHECK(daos_oclass_name2id("sx") == OC_UNKNOWN);
	CHECK(daos_oclass_name2id("OC_SX") == OC_UNKNOWN);
	CHECK(daos_oclass_name2id("OC_UNKNOWN") == OC_UNKNOWN);
	CHECK(daos_oclass_name2id("no_such_class") == OC_UNKNOWN);
	CHECK(daos_oclass_name2id("") == OC_UNKNOWN);

	memset(name, 0, sizeof(name));
	CHECK_OK(daos_oclass_id2name(OC_SX, name));
	CHECKF(strcmp(name, "SX") == 0, "got \"%s\"", name);
	CHECK_OK(daos_oclass_id2name(OC_S1, name));
	CHECKF(strcmp(name, "S1") == 0, "got \"%s\"", name);
	CHECK_OK(daos_oclass_id2name(OC_RP_2G1, name));
	CHECKF(strcmp(name, "RP_2G1") == 0, "got \"%s\"", name);
	CHECK_OK(daos_oclass_id2name(OC_EC_4P2G1, name));
	CHECKF(strcmp(name, "EC_4P2G1") == 0, "got \"%s\"", name);
	CHECK(daos_oclass_id2name(0x7f00fff0, name) != 0);
}

/* ------------------------------------------------------------------------------------- */
/* gurt: hashing, the hash table as IOR and ROMIO use it, environment                      */

struct ht_rec {
	d_list_t link;
	char     key[32];
	int      ref;
	int      freed;
};

static struct ht_rec *link2rec(d_list_t *link)
{
	return container_of(link, struct ht_rec, link);
}

/* ROMIO compares keys as strings (its insert and lookup lengths differ by the NUL). */
static bool ht_key_cmp(struct d_hash_table *ht, d_list_t *link, const void *key,
		       unsigned int ksize)
{
	(void)ht;
	(void)ksize;
	return strcmp(link2rec(link)->key, (const char *)key) == 0;
}

static uint32_t ht_rec_hash(struct d_hash_table *ht, d_list_t *link)
{
	(void)ht;
	return d_hash_string_u32(link2rec(link)->key, strlen(link2rec(link)->key));
}

static void ht_rec_addref(struct d_hash_table *ht, d_list_t *link)
{
	(void)ht;
	link2rec(link)->ref++;
}

static bool ht_rec_decref(struct d_hash_table *ht, d_list_t *link)
{
	(void)ht;
	return --link2rec(link)->ref == 0;
}

static void ht_rec_free(struct d_hash_table *ht, d_list_t *link)
{
	(void)ht;
	link2rec(link)->freed++;
}

static void test_gurt(void)
{
	d_hash_table_ops_t   ops;
	struct d_hash_table *ht;
	struct ht_rec        recs[4];
	d_list_t            *l;
	uint32_t             djb2;
	bool                 b;
	int                  i, n;
	const char          *names[4] = {"alpha", "beta", "gamma", "pool_label"};
	d_iov_t              iov;
	char                 buf[8];

	ct_step("gurt: d_hash_string_u32 (DJB2), d_hash_murmur64, d_iov_set");
	djb2 = 5381;
	for (i = 0; i < 5; i++)
		djb2 = djb2 * 33 + (uint32_t)(unsigned char)"alpha"[i];
	CHECKF(d_hash_string_u32("alpha", 5) == djb2, "0x%x != 0x%x", d_hash_string_u32("alpha", 5),
	       djb2);
	CHECK(d_hash_murmur64((const unsigned char *)"alpha", 5, 7) ==
	      d_hash_murmur64((const unsigned char *)"alpha", 5, 7));
	CHECK(d_hash_murmur64((const unsigned char *)"alpha", 5, 7) !=
	      d_hash_murmur64((const unsigned char *)"alphb", 5, 7));
	d_iov_set(&iov, buf, sizeof(buf));
	CHECK(iov.iov_buf == buf && iov.iov_buf_len == sizeof(buf) && iov.iov_len == sizeof(buf));

	ct_step("gurt: hash table with IOR's flags");
	memset(&ops, 0, sizeof(ops));
	ops.hop_key_cmp    = ht_key_cmp;
	ops.hop_rec_hash   = ht_rec_hash;
	ops.hop_rec_addref = ht_rec_addref;
	ops.hop_rec_decref = ht_rec_decref;
	ops.hop_rec_free   = ht_rec_free;
	CHECK_OK(d_hash_table_create(D_HASH_FT_EPHEMERAL | D_HASH_FT_NOLOCK | D_HASH_FT_LRU, 4, NULL,
				     &ops, &ht));
	CHECK(ht != NULL);
	CHECK(d_hash_rec_first(ht) == NULL);
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 4; i++) {
		snprintf(recs[i].key, sizeof(recs[i].key), "%s", names[i]);
		recs[i].ref = 1; /* the caller's reference: ephemeral inserts take none */
		/* ROMIO inserts with strlen + 1 ... */
		CHECK_OK(d_hash_rec_insert(ht, recs[i].key, strlen(recs[i].key) + 1, &recs[i].link,
					   true));
		CHECK(!d_hash_rec_unlinked(&recs[i].link));
	}
	for (i = 0; i < 4; i++)
		CHECKF(recs[i].ref == 1, "ref %d after insert", recs[i].ref);
	{
		struct ht_rec dup;

		memset(&dup, 0, sizeof(dup));
		snprintf(dup.key, sizeof(dup.key), "beta");
		CHECK_RC(d_hash_rec_insert(ht, dup.key, 5, &dup.link, true), -DER_EXIST);
		CHECK(dup.ref == 0);
	}
	/* ... and looks up with strlen: the default DJB2 key hash puts both in one bucket */
	for (i = 0; i < 4; i++) {
		l = d_hash_rec_find(ht, names[i], strlen(names[i]));
		CHECKF(l == &recs[i].link, "\"%s\" not found", names[i]);
		CHECK(recs[i].ref == 2);
		d_hash_rec_decref(ht, l);
		CHECK(recs[i].ref == 1 && recs[i].freed == 0);
	}
	CHECK(d_hash_rec_find(ht, "missing", 7) == NULL);
	CHECK_RC(d_hash_table_destroy(ht, false), -DER_BUSY);
	/* IOR's teardown: decref the first record until the table is empty */
	for (n = 0; (l = d_hash_rec_first(ht)) != NULL; n++) {
		CHECK(n < 4);
		d_hash_rec_decref(ht, l);
	}
	CHECK(n == 4);
	for (i = 0; i < 4; i++) {
		CHECKF(recs[i].freed == 1, "record %d freed %d times", i, recs[i].freed);
		CHECK(d_hash_rec_unlinked(&recs[i].link));
	}
	CHECK_OK(d_hash_table_destroy(ht, false));

	/* Without EPHEMERAL the table holds a reference of its own. */
	CHECK_OK(d_hash_table_create(D_HASH_FT_MUTEX, 3, NULL, &ops, &ht));
	memset(recs, 0, sizeof(recs));
	snprintf(recs[0].key, sizeof(recs[0].key), "held");
	CHECK_OK(d_hash_rec_insert(ht, recs[0].key, 4, &recs[0].link, false));
	CHECK(recs[0].ref == 1);
	l = d_hash_rec_find(ht, "held", 4);
	CHECK(l == &recs[0].link && recs[0].ref == 2);
	d_hash_rec_decref(ht, l);
	CHECK(recs[0].ref == 1 && recs[0].freed == 0);
	CHECK(d_hash_rec_delete(ht, "held", 4));
	CHECK(recs[0].ref == 0 && recs[0].freed == 1);
	CHECK(!d_hash_rec_delete(ht, "held", 4));
	CHECK_OK(d_hash_table_destroy(ht, false));

	ct_step("gurt: d_getenv_bool");
	unsetenv("CTEST_BOOL");
	b = true;
	CHECK_RC(d_getenv_bool("CTEST_BOOL", &b), -DER_NONEXIST);
	CHECK(b == true);
	setenv("CTEST_BOOL", "0", 1);
	CHECK_OK(d_getenv_bool("CTEST_BOOL", &b));
	CHECK(b == false);
	setenv("CTEST_BOOL", "1", 1);
	CHECK_OK(d_getenv_bool("CTEST_BOOL", &b));
	CHECK(b == true);
	b = false;
	setenv("CTEST_BOOL", "yes", 1);
	CHECK_OK(d_getenv_bool("CTEST_BOOL", &b));
	CHECK(b == true);
	unsetenv("CTEST_BOOL");
}

/* The un-suffixed names exist for ctypes users (pydaos.raw) and behave like the ...2 ones. */
static void test_aliases(void)
{
	typedef int (*connect_fn)(const char *, const char *, unsigned int, daos_handle_t *,
				  daos_pool_info_t *, daos_event_t *);
	static const char *names[] = {
	    "daos_pool_connect",     "daos_pool_connect2", "daos_cont_open",
	    "daos_cont_open2",       "daos_cont_create",   "daos_cont_create2",
	    "daos_cont_destroy",     "daos_cont_destroy2", "daos_obj_generate_oid",
	    "daos_obj_generate_oid2"};
	connect_fn    connect;
	daos_handle_t poh;
	unsigned int  i;

	ct_step("exported aliases of the macro-renamed entry points");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECKF(dlsym(RTLD_DEFAULT, names[i]) != NULL, "%s is not exported", names[i]);
	*(void **)&connect = dlsym(RTLD_DEFAULT, "daos_pool_connect");
	CHECK_OK(connect(pool_label, NULL, DAOS_PC_RO, &poh, NULL, NULL));
	CHECK_OK(daos_pool_disconnect(poh, NULL));
}

/* After fork, the child re-initialises the library (pydaos' atfork handler) and works. */
static void test_reinit_after_fork(void)
{
	pid_t pid;
	int   status;

	ct_step("daos_reinit in a forked child");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		daos_handle_t    poh;
		daos_pool_info_t info;

		CHECK_OK(daos_reinit());
		CHECK_OK(daos_pool_connect(pool_label, NULL, DAOS_PC_RO, &poh, NULL, NULL));
		memset(&info, 0, sizeof(info));
		CHECK_OK(daos_pool_query(poh, NULL, &info, NULL, NULL));
		CHECK(!uuid_is_null(info.pi_uuid));
		CHECK_OK(daos_pool_disconnect(poh, NULL));
		fflush(stdout);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	/* the parent's library is untouched */
	{
		daos_handle_t poh;

		CHECK_OK(daos_pool_connect(pool_label, NULL, DAOS_PC_RO, &poh, NULL, NULL));
		CHECK_OK(daos_pool_disconnect(poh, NULL));
	}
}

/* ------------------------------------------------------------------------------------- */
/* Pools                                                                                 */

static void test_pool(uuid_t pool_uuid)
{
	daos_handle_t    poh, poh2;
	daos_pool_info_t info, info2;
	daos_prop_t     *prop;
	char             str[DAOS_UUID_STR_SIZE];
	uuid_t           random_uuid;

	ct_step("pool connect by label, query (%s)", mode_name());
	memset(&info, 0, sizeof(info));
	info.pi_bits = DPI_SPACE;
	CHECK_OK(OP(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, &info, EVP)));
	CHECK(daos_handle_is_valid(poh));
	CHECK(!uuid_is_null(info.pi_uuid));

	memset(&info, 0, sizeof(info));
	info.pi_bits = DPI_SPACE;
	CHECK_OK(OP(daos_pool_query(poh, NULL, &info, NULL, EVP)));
	CHECK(!uuid_is_null(info.pi_uuid));
	CHECKF(info.pi_ntargets >= 1, "pi_ntargets %u", info.pi_ntargets);
	CHECKF(info.pi_nnodes >= 1, "pi_nnodes %u", info.pi_nnodes);
	CHECK(info.pi_space.ps_space.s_total[DAOS_MEDIA_SCM] +
		  info.pi_space.ps_space.s_total[DAOS_MEDIA_NVME] >
	      0);
	CHECK(info.pi_space.ps_space.s_free[DAOS_MEDIA_SCM] <=
	      info.pi_space.ps_space.s_total[DAOS_MEDIA_SCM]);
	CHECK(info.pi_space.ps_space.s_free[DAOS_MEDIA_NVME] <=
	      info.pi_space.ps_space.s_total[DAOS_MEDIA_NVME]);
	uuid_copy(pool_uuid, info.pi_uuid);

	/* One typed property: the pool's label. */
	prop = daos_prop_alloc(1);
	CHECK(prop != NULL && prop->dpp_nr == 1);
	prop->dpp_entries[0].dpe_type = DAOS_PROP_PO_LABEL;
	CHECK_OK(OP(daos_pool_query(poh, NULL, NULL, prop, EVP)));
	CHECK(prop->dpp_entries[0].dpe_str != NULL);
	CHECKF(strcmp(prop->dpp_entries[0].dpe_str, pool_label) == 0, "label \"%s\"",
	       prop->dpp_entries[0].dpe_str);
	daos_prop_free(prop);

	ct_step("pool connect by UUID string (%s)", mode_name());
	uuid_unparse(info.pi_uuid, str);
	CHECK_OK(OP(daos_pool_connect(str, NULL, DAOS_PC_RO, &poh2, NULL, EVP)));
	memset(&info2, 0, sizeof(info2));
	CHECK_OK(OP(daos_pool_query(poh2, NULL, &info2, NULL, EVP)));
	CHECK(uuid_compare(info2.pi_uuid, info.pi_uuid) == 0);
	CHECK_OK(OP(daos_pool_disconnect(poh2, EVP)));

	ct_step("pool connect to unknown label/UUID (%s)", mode_name());
	CHECK_RC(OP(daos_pool_connect("ctest_no_such_pool", NULL, DAOS_PC_RW, &poh2, NULL, EVP)),
		 -DER_NONEXIST);
	uuid_generate(random_uuid);
	uuid_unparse(random_uuid, str);
	CHECK_RC(OP(daos_pool_connect(str, NULL, DAOS_PC_RW, &poh2, NULL, EVP)), -DER_NONEXIST);

	CHECK_OK(OP(daos_pool_disconnect(poh, EVP)));
}

/* ------------------------------------------------------------------------------------- */
/* Containers                                                                             */

/* Creates container `label` with layout HDF5 and opens it; checks query results. */
static void test_cont_create_open(daos_handle_t poh, const char *label, daos_handle_t *coh)
{
	daos_prop_t            *prop, *all, *one;
	struct daos_prop_entry *e;
	struct daos_prop_co_roots *roots;
	daos_cont_info_t        cinfo;
	uuid_t                  cuuid, cuuid2;
	char                    str[DAOS_UUID_STR_SIZE], label2[160];
	daos_handle_t           coh2;

	ct_step("container create with label property (%s)", mode_name());
	prop = daos_prop_alloc(2);
	CHECK(prop != NULL && prop->dpp_nr == 2 && prop->dpp_entries != NULL);
	prop->dpp_entries[0].dpe_type = DAOS_PROP_CO_LABEL;
	prop->dpp_entries[0].dpe_str  = strdup(label);
	prop->dpp_entries[1].dpe_type = DAOS_PROP_CO_LAYOUT_TYPE;
	prop->dpp_entries[1].dpe_val  = DAOS_PROP_CO_LAYOUT_HDF5;
	uuid_clear(cuuid);
	CHECK_OK(OP(daos_cont_create(poh, &cuuid, prop, EVP)));
	CHECK(!uuid_is_null(cuuid));
	/* A second container with the same label is refused. */
	CHECK_RC(OP(daos_cont_create(poh, &cuuid2, prop, EVP)), -DER_EXIST);
	daos_prop_free(prop); /* frees the strdup'd label too */

	ct_step("container open/query (%s)", mode_name());
	memset(&cinfo, 0, sizeof(cinfo));
	CHECK_OK(OP(daos_cont_open(poh, label, DAOS_COO_RW, coh, &cinfo, EVP)));
	CHECK(daos_handle_is_valid(*coh));
	CHECK(uuid_compare(cinfo.ci_uuid, cuuid) == 0);

	/* dpp_nr == 0: the library returns every property. */
	all = daos_prop_alloc(0);
	CHECK(all != NULL);
	memset(&cinfo, 0, sizeof(cinfo));
	CHECK_OK(OP(daos_cont_query(*coh, &cinfo, all, EVP)));
	CHECK(uuid_compare(cinfo.ci_uuid, cuuid) == 0);
	CHECKF(all->dpp_nr > 2, "dpp_nr %u", all->dpp_nr);
	e = daos_prop_entry_get(all, DAOS_PROP_CO_LABEL);
	CHECK(e != NULL && e->dpe_str != NULL);
	CHECKF(strcmp(e->dpe_str, label) == 0, "label \"%s\"", e->dpe_str);
	e = daos_prop_entry_get(all, DAOS_PROP_CO_LAYOUT_TYPE);
	CHECK(e != NULL);
	CHECKF(e->dpe_val == DAOS_PROP_CO_LAYOUT_HDF5, "layout %llu",
	       (unsigned long long)e->dpe_val);
	/* The library generated the root OIDs. */
	e = daos_prop_entry_get(all, DAOS_PROP_CO_ROOTS);
	CHECK(e != NULL && e->dpe_val_ptr != NULL);
	roots = (struct daos_prop_co_roots *)e->dpe_val_ptr;
	CHECK(roots->cr_oids[0].lo != 0 || roots->cr_oids[0].hi != 0);
	CHECKF(daos_obj_id2type(roots->cr_oids[0]) == DAOS_OT_MULTI_HASHED, "root oid type %d",
	       (int)daos_obj_id2type(roots->cr_oids[0]));
	daos_prop_free(all);

	/* Typed query of one entry. */
	one = daos_prop_alloc(1);
	one->dpp_entries[0].dpe_type = DAOS_PROP_CO_LAYOUT_TYPE;
	CHECK_OK(OP(daos_cont_query(*coh, NULL, one, EVP)));
	CHECK(one->dpp_entries[0].dpe_val == DAOS_PROP_CO_LAYOUT_HDF5);
	daos_prop_free(one);

	/* Open by UUID string, read-only. */
	uuid_unparse(cuuid, str);
	CHECK_OK(OP(daos_cont_open(poh, str, DAOS_COO_RO, &coh2, &cinfo, EVP)));
	CHECK(uuid_compare(cinfo.ci_uuid, cuuid) == 0);
	CHECK_OK(OP(daos_cont_close(coh2, EVP)));

	/* Unknown label. */
	snprintf(label2, sizeof(label2), "%s_missing", label);
	CHECK_RC(OP(daos_cont_open(poh, label2, DAOS_COO_RW, &coh2, NULL, EVP)), -DER_NONEXIST);

	/* daos_cont_create_with_label, then destroy by UUID string. */
	snprintf(label2, sizeof(label2), "%s_wl", label);
	uuid_clear(cuuid2);
	CHECK_OK(OP(daos_cont_create_with_label(poh, label2, NULL, &cuuid2, EVP)));
	CHECK(!uuid_is_null(cuuid2));
	CHECK_RC(OP(daos_cont_create_with_label(poh, label2, NULL, NULL, EVP)), -DER_EXIST);
	uuid_unparse(cuuid2, str);
	CHECK_OK(OP(daos_cont_open(poh, label2, DAOS_COO_RO, &coh2, &cinfo, EVP)));
	CHECK(uuid_compare(cinfo.ci_uuid, cuuid2) == 0);
	CHECK_OK(OP(daos_cont_close(coh2, EVP)));
	CHECK_OK(OP(daos_cont_destroy(poh, str, 0, EVP)));
	CHECK_RC(OP(daos_cont_open(poh, label2, DAOS_COO_RO, &coh2, NULL, EVP)), -DER_NONEXIST);
}

/* daos_cont_alloc_oids hands out disjoint ranges; daos_prop_from_str/daos_prop_fini. */
static void test_alloc_oids_props(daos_handle_t poh, daos_handle_t coh, const char *label)
{
	uint64_t                a = 0, b = 0;
	daos_prop_t            *prop, sq;
	struct daos_prop_entry *e;
	char                    str[200], label2[160];
	daos_handle_t           coh2;

	ct_step("daos_cont_alloc_oids (%s)", mode_name());
	CHECK_OK(OP(daos_cont_alloc_oids(coh, 10, &a, EVP)));
	CHECK_OK(OP(daos_cont_alloc_oids(coh, 10, &b, EVP)));
	CHECKF(b >= a + 10 || a >= b + 10, "ranges [%llu, +10) and [%llu, +10) overlap",
	       (unsigned long long)a, (unsigned long long)b);

	ct_step("daos_prop_from_str, daos_prop_fini (%s)", mode_name());
	snprintf(label2, sizeof(label2), "%s_str", label);
	snprintf(str, sizeof(str), "label:%s;", label2);
	prop = NULL;
	CHECK_OK(daos_prop_from_str(str, strlen(str), &prop));
	CHECK(prop != NULL);
	e = daos_prop_entry_get(prop, DAOS_PROP_CO_LABEL);
	CHECK(e != NULL && e->dpe_str != NULL && strcmp(e->dpe_str, label2) == 0);
	CHECK_OK(OP(daos_cont_create(poh, NULL, prop, EVP)));
	daos_prop_free(prop);
	CHECK_OK(OP(daos_cont_open(poh, label2, DAOS_COO_RO, &coh2, NULL, EVP)));
	/* a list on the stack: the library allocates all entries, daos_prop_fini frees them */
	memset(&sq, 0, sizeof(sq));
	CHECK_OK(OP(daos_cont_query(coh2, NULL, &sq, EVP)));
	CHECK(sq.dpp_nr > 0 && sq.dpp_entries != NULL);
	e = daos_prop_entry_get(&sq, DAOS_PROP_CO_LABEL);
	CHECK(e != NULL && e->dpe_str != NULL && strcmp(e->dpe_str, label2) == 0);
	daos_prop_fini(&sq);
	CHECK_OK(OP(daos_cont_close(coh2, EVP)));
	CHECK_OK(OP(daos_cont_destroy(poh, label2, 0, EVP)));
	prop = NULL;
	CHECK(daos_prop_from_str("no_such_property:1;", 19, &prop) != 0);
	CHECK(prop == NULL);
}

/* ------------------------------------------------------------------------------------- */
/* Objects                                                                                */

static void test_generate_oid(daos_handle_t coh, uint64_t lo)
{
	daos_obj_id_t    oid;
	daos_oclass_id_t cls;

	ct_step("daos_obj_generate_oid");
	oid.lo = lo;
	oid.hi = 0x12345678;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	CHECK(oid.lo == lo);
	CHECK((oid.hi & 0xffffffffULL) == 0x12345678);
	CHECK(daos_obj_id2type(oid) == DAOS_OT_MULTI_HASHED);
	cls = daos_obj_id2class(oid);
	CHECKF((cls >> OC_REDUN_SHIFT) == OR_RP_1, "class 0x%x", cls);
	CHECKF((cls & 0xffff) >= 1, "class 0x%x", cls);

	oid.lo = lo;
	oid.hi = 7;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_DKEY_UINT64, OC_S1, 0, 0));
	CHECK(daos_obj_id2type(oid) == DAOS_OT_DKEY_UINT64);
	CHECKF(daos_obj_id2class(oid) == OC_S1, "class 0x%x", daos_obj_id2class(oid));
	CHECK((oid.hi & 0xffffffffULL) == 7);

	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_KV_HASHED, OC_UNKNOWN, 0, 0));
	CHECK(daos_obj_id2type(oid) == DAOS_OT_KV_HASHED);
	CHECK(daos_obj_id2class(oid) != OC_UNKNOWN);

	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_ARRAY_BYTE, OC_S2, 0, 0));
	CHECK(daos_obj_id2type(oid) == DAOS_OT_ARRAY_BYTE);
	CHECKF(daos_obj_id2class(oid) == OC_S2, "class 0x%x", daos_obj_id2class(oid));
}

/* Single-value update of dkey/akey with `len` pattern bytes of `seed`. */
static int put_sv(daos_handle_t oh, uint64_t flags, const char *dkey_s, const char *akey_s,
		  size_t len, uint64_t seed)
{
	daos_key_t  dkey;
	daos_iod_t  iod;
	d_iov_t     iov;
	d_sg_list_t sgl;
	char       *buf = malloc(len ? len : 1);
	int         rc;

	CHECK(buf != NULL);
	ct_fill(buf, len, seed, 0);
	set_key(&dkey, dkey_s);
	memset(&iod, 0, sizeof(iod));
	set_key(&iod.iod_name, akey_s);
	iod.iod_type  = DAOS_IOD_SINGLE;
	iod.iod_size  = len;
	iod.iod_nr    = 1;
	iod.iod_recxs = NULL;
	d_iov_set(&iov, buf, len);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	rc            = OP(daos_obj_update(oh, DAOS_TX_NONE, flags, &dkey, 1, &iod, &sgl, EVP));
	free(buf);
	return rc;
}

/* Size of a single value (fetch with DAOS_REC_ANY and no buffer); 0 if absent. */
static daos_size_t sv_size(daos_handle_t oh, const char *dkey_s, const char *akey_s)
{
	daos_key_t dkey;
	daos_iod_t iod;

	set_key(&dkey, dkey_s);
	memset(&iod, 0, sizeof(iod));
	set_key(&iod.iod_name, akey_s);
	iod.iod_type = DAOS_IOD_SINGLE;
	iod.iod_size = DAOS_REC_ANY;
	iod.iod_nr   = 1;
	CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, NULL, NULL, EVP)));
	return iod.iod_size;
}

/* Collected key names of one listing. */
struct keyset {
	int  n;
	char names[128][64];
	int  seen[128];
};

static void keyset_add(struct keyset *ks, const char *s)
{
	CHECK(ks->n < 128);
	snprintf(ks->names[ks->n], sizeof(ks->names[0]), "%s", s);
	ks->seen[ks->n] = 0;
	ks->n++;
}

/* Marks key (not terminated, `len` bytes) as seen; fails on unknown or duplicate keys. */
static void keyset_mark(struct keyset *ks, const char *key, size_t len)
{
	int i;

	for (i = 0; i < ks->n; i++) {
		if (strlen(ks->names[i]) == len && memcmp(ks->names[i], key, len) == 0) {
			CHECKF(ks->seen[i] == 0, "key \"%s\" listed twice", ks->names[i]);
			ks->seen[i] = 1;
			return;
		}
	}
	CT_FAIL("unexpected key \"%.*s\" listed", (int)len, key);
}

static void keyset_check_all_seen(struct keyset *ks)
{
	int i;

	for (i = 0; i < ks->n; i++)
		CHECKF(ks->seen[i], "key \"%s\" not listed", ks->names[i]);
}

enum list_kind { LIST_DKEY, LIST_AKEY, LIST_KV };

/*
 * Lists all keys with at most `per_call` keys per call, resuming with the anchor until
 * daos_anchor_is_eof; checks the result equals `expect`.
 */
static void list_and_check(enum list_kind kind, daos_handle_t oh, const char *dkey_s,
			   uint32_t per_call, struct keyset *expect)
{
	daos_anchor_t   anchor;
	daos_key_desc_t kds[16];
	char            buf[2048];
	d_iov_t         iov;
	d_sg_list_t     sgl;
	daos_key_t      dkey;
	int             rounds = 0, i;

	CHECK(per_call <= 16);
	memset(&anchor, 0, sizeof(anchor));
	if (dkey_s != NULL)
		set_key(&dkey, dkey_s);
	while (!daos_anchor_is_eof(&anchor)) {
		uint32_t nr = per_call;
		char    *p  = buf;

		CHECKF(rounds++ < 200, "listing does not reach EOF");
		memset(kds, 0, sizeof(kds));
		d_iov_set(&iov, buf, sizeof(buf));
		sgl.sg_nr     = 1;
		sgl.sg_nr_out = 0;
		sgl.sg_iovs   = &iov;
		if (kind == LIST_DKEY)
			CHECK_OK(OP(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &sgl, &anchor,
						       EVP)));
		else if (kind == LIST_AKEY)
			CHECK_OK(OP(daos_obj_list_akey(oh, DAOS_TX_NONE, &dkey, &nr, kds, &sgl,
						       &anchor, EVP)));
		else
			CHECK_OK(OP(daos_kv_list(oh, DAOS_TX_NONE, &nr, kds, &sgl, &anchor, EVP)));
		CHECKF(nr <= per_call, "nr %u > %u", nr, per_call);
		for (i = 0; i < (int)nr; i++) {
			CHECK(kds[i].kd_key_len > 0);
			CHECK(p + kds[i].kd_key_len <= buf + sizeof(buf));
			keyset_mark(expect, p, kds[i].kd_key_len);
			p += kds[i].kd_key_len; /* keys are packed back to back */
		}
	}
	keyset_check_all_seen(expect);
}

static void test_object_io(daos_handle_t coh, uint64_t lo, daos_obj_id_t *written_oid)
{
	daos_obj_id_t      oid;
	daos_handle_t      oh;
	daos_key_t         dkey, akey;
	daos_iod_t         iod;
	daos_recx_t        recx, recxs[16];
	daos_epoch_range_t eprs[16];
	d_iov_t            iov;
	d_sg_list_t        sgl;
	daos_anchor_t      anchor;
	daos_key_desc_t    kds[4];
	daos_size_t        size;
	uint32_t           nr;
	struct keyset     *ks;
	char               sv[300], buf[512], arr[100], arr2[20], name[32];
	uint64_t           covered;
	int                i, j;

	ct_step("object open/update/fetch single value (%s)", mode_name());
	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	*written_oid = oid;
	CHECK_OK(OP(daos_obj_open(coh, oid, DAOS_OO_RW, &oh, EVP)));
	CHECK(daos_handle_is_valid(oh));

	CHECK_OK(put_sv(oh, 0, "dkey_sv", "sv", sizeof(sv), 1));
	/* Size query: DAOS_REC_ANY and no buffer. */
	CHECK(sv_size(oh, "dkey_sv", "sv") == sizeof(sv));
	/* Fetch into a larger buffer: iod_size and iov_len tell the size. */
	set_key(&dkey, "dkey_sv");
	memset(&iod, 0, sizeof(iod));
	set_key(&iod.iod_name, "sv");
	iod.iod_type = DAOS_IOD_SINGLE;
	iod.iod_size = DAOS_REC_ANY;
	iod.iod_nr   = 1;
	memset(buf, 0, sizeof(buf));
	d_iov_set(&iov, buf, sizeof(buf));
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)));
	CHECKF(iod.iod_size == sizeof(sv), "iod_size %llu", (unsigned long long)iod.iod_size);
	CHECKF(iov.iov_len == sizeof(sv), "iov_len %zu", iov.iov_len);
	CHECK(ct_verify(buf, sizeof(sv), 1, 0) < 0);
	/* Too small a buffer: -DER_REC2BIG. */
	iod.iod_size = DAOS_REC_ANY;
	d_iov_set(&iov, buf, sizeof(sv) - 1);
	CHECK_RC(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)),
		 -DER_REC2BIG);
	/* Overwrite with a shorter value. */
	CHECK_OK(put_sv(oh, 0, "dkey_sv", "sv", 10, 2));
	CHECK(sv_size(oh, "dkey_sv", "sv") == 10);
	/* A missing dkey or akey fetches as size 0 without a condition. */
	CHECK(sv_size(oh, "dkey_absent", "sv") == 0);
	CHECK(sv_size(oh, "dkey_sv", "absent") == 0);

	ct_step("object array extents (%s)", mode_name());
	ct_fill(arr, sizeof(arr), 3, 10);
	ct_fill(arr2, sizeof(arr2), 4, 50);
	set_key(&dkey, "dkey_arr");
	memset(&iod, 0, sizeof(iod));
	set_key(&iod.iod_name, "arr");
	iod.iod_type  = DAOS_IOD_ARRAY;
	iod.iod_size  = 1;
	iod.iod_nr    = 1;
	iod.iod_recxs = &recx;
	recx.rx_idx   = 10;
	recx.rx_nr    = sizeof(arr);
	d_iov_set(&iov, arr, sizeof(arr));
	CHECK_OK(OP(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, EVP)));
	recx.rx_idx = 50;
	recx.rx_nr  = sizeof(arr2);
	d_iov_set(&iov, arr2, sizeof(arr2));
	CHECK_OK(OP(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, EVP)));
	/* Fetch [10, 110). */
	recx.rx_idx  = 10;
	recx.rx_nr   = 100;
	iod.iod_size = 1;
	memset(buf, 0, sizeof(buf));
	d_iov_set(&iov, buf, 100);
	CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)));
	CHECKF(iov.iov_len == 100, "iov_len %zu", iov.iov_len);
	CHECK(ct_verify(buf, 40, 3, 10) < 0);
	CHECK(ct_verify(buf + 40, 20, 4, 50) < 0);
	CHECK(ct_verify(buf + 60, 40, 3, 70) < 0);
	/* The same with the record size unknown: the size is returned with the data. */
	iod.iod_size = DAOS_REC_ANY;
	memset(buf, 0, sizeof(buf));
	d_iov_set(&iov, buf, 100);
	CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)));
	CHECKF(iod.iod_size == 1, "iod_size %llu", (unsigned long long)iod.iod_size);
	CHECKF(iov.iov_len == 100, "iov_len %zu", iov.iov_len);
	CHECK(ct_verify(buf, 40, 3, 10) < 0);
	CHECK(ct_verify(buf + 40, 20, 4, 50) < 0);
	CHECK(ct_verify(buf + 60, 40, 3, 70) < 0);
	/* Two recxs in one iod, two iovs in the sgl of different sizes. */
	{
		daos_recx_t two[2] = {{.rx_idx = 20, .rx_nr = 10}, {.rx_idx = 100, .rx_nr = 10}};
		d_iov_t     iovs[2];
		char        b1[5], b2[15];

		iod.iod_nr    = 2;
		iod.iod_recxs = two;
		iod.iod_size  = 1;
		d_iov_set(&iovs[0], b1, sizeof(b1));
		d_iov_set(&iovs[1], b2, sizeof(b2));
		sgl.sg_nr   = 2;
		sgl.sg_iovs = iovs;
		CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)));
		CHECK(ct_verify(b1, 5, 3, 20) < 0);
		CHECK(ct_verify(b2, 5, 3, 25) < 0);
		CHECK(ct_verify(b2 + 5, 10, 3, 100) < 0);
		sgl.sg_nr   = 1;
		sgl.sg_iovs = &iov;
		iod.iod_nr  = 1;
		iod.iod_recxs = &recx;
	}

	ct_step("conditional update/fetch (%s)", mode_name());
	CHECK_RC(put_sv(oh, DAOS_COND_DKEY_INSERT, "dkey_sv", "sv", 8, 5), -DER_EXIST);
	CHECK_OK(put_sv(oh, DAOS_COND_DKEY_INSERT, "dkey_new", "sv", 8, 5));
	CHECK(sv_size(oh, "dkey_new", "sv") == 8);
	CHECK_RC(put_sv(oh, DAOS_COND_DKEY_UPDATE, "dkey_absent", "sv", 8, 5), -DER_NONEXIST);
	CHECK_OK(put_sv(oh, DAOS_COND_DKEY_UPDATE, "dkey_new", "sv", 9, 6));
	set_key(&dkey, "dkey_absent");
	memset(&iod, 0, sizeof(iod));
	set_key(&iod.iod_name, "sv");
	iod.iod_type = DAOS_IOD_SINGLE;
	iod.iod_size = DAOS_REC_ANY;
	iod.iod_nr   = 1;
	CHECK_RC(OP(daos_obj_fetch(oh, DAOS_TX_NONE, DAOS_COND_DKEY_FETCH, &dkey, 1, &iod, NULL,
				   NULL, EVP)),
		 -DER_NONEXIST);
	set_key(&dkey, "dkey_new");
	iod.iod_size = DAOS_REC_ANY;
	CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, DAOS_COND_DKEY_FETCH, &dkey, 1, &iod, NULL,
				   NULL, EVP)));
	CHECK(iod.iod_size == 9);

	ct_step("list dkeys/akeys/recxs (%s)", mode_name());
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "list_%02d", i);
		CHECK_OK(put_sv(oh, 0, name, "a", 16, (uint64_t)i));
	}
	CHECK_OK(put_sv(oh, 0, "dkey_mix", "a1", 4, 1));
	CHECK_OK(put_sv(oh, 0, "dkey_mix", "a2", 4, 2));
	CHECK_OK(put_sv(oh, 0, "dkey_mix", "akey_three", 4, 3));

	ks = calloc(1, sizeof(*ks));
	CHECK(ks != NULL);
	keyset_add(ks, "dkey_sv");
	keyset_add(ks, "dkey_arr");
	keyset_add(ks, "dkey_new");
	keyset_add(ks, "dkey_mix");
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "list_%02d", i);
		keyset_add(ks, name);
	}
	list_and_check(LIST_DKEY, oh, NULL, 5, ks);
	memset(ks->seen, 0, sizeof(ks->seen));
	list_and_check(LIST_DKEY, oh, NULL, 16, ks);

	/* A 1-byte key buffer: -DER_KEY2BIG, kd_key_len tells the size needed. */
	memset(&anchor, 0, sizeof(anchor));
	memset(kds, 0, sizeof(kds));
	nr = 1;
	d_iov_set(&iov, buf, 1);
	sgl.sg_nr   = 1;
	sgl.sg_iovs = &iov;
	CHECK_RC(OP(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &sgl, &anchor, EVP)),
		 -DER_KEY2BIG);
	CHECKF(kds[0].kd_key_len >= 7, "kd_key_len %llu", (unsigned long long)kds[0].kd_key_len);

	memset(ks, 0, sizeof(*ks));
	keyset_add(ks, "a1");
	keyset_add(ks, "a2");
	keyset_add(ks, "akey_three");
	list_and_check(LIST_AKEY, oh, "dkey_mix", 2, ks);

	/* Extents of dkey_arr/arr: exactly [10, 110), record size 1. */
	set_key(&dkey, "dkey_arr");
	set_key(&akey, "arr");
	memset(&anchor, 0, sizeof(anchor));
	covered = 0;
	for (j = 0; !daos_anchor_is_eof(&anchor); j++) {
		CHECK(j < 100);
		nr   = 16;
		size = 0;
		CHECK_OK(OP(daos_obj_list_recx(oh, DAOS_TX_NONE, &dkey, &akey, &size, &nr, recxs,
					       eprs, &anchor, true, EVP)));
		CHECK(nr <= 16);
		for (i = 0; i < (int)nr; i++) {
			CHECKF(recxs[i].rx_idx >= 10 && recxs[i].rx_idx + recxs[i].rx_nr <= 110,
			       "recx [%llu, +%llu)", (unsigned long long)recxs[i].rx_idx,
			       (unsigned long long)recxs[i].rx_nr);
			covered += recxs[i].rx_nr;
		}
		if (nr > 0)
			CHECKF(size == 1, "record size %llu", (unsigned long long)size);
	}
	CHECKF(covered == 100, "recxs cover %llu records", (unsigned long long)covered);

	ct_step("punch akeys/dkeys/object (%s)", mode_name());
	set_key(&dkey, "dkey_mix");
	set_key(&akey, "a1");
	CHECK_OK(OP(daos_obj_punch_akeys(oh, DAOS_TX_NONE, 0, &dkey, 1, &akey, EVP)));
	CHECK(sv_size(oh, "dkey_mix", "a1") == 0);
	CHECK(sv_size(oh, "dkey_mix", "a2") == 4);
	memset(ks, 0, sizeof(*ks));
	keyset_add(ks, "a2");
	keyset_add(ks, "akey_three");
	list_and_check(LIST_AKEY, oh, "dkey_mix", 4, ks);

	set_key(&dkey, "list_00");
	CHECK_OK(OP(daos_obj_punch_dkeys(oh, DAOS_TX_NONE, 0, 1, &dkey, EVP)));
	CHECK(sv_size(oh, "list_00", "a") == 0);
	CHECK(sv_size(oh, "list_01", "a") == 16);
	memset(ks, 0, sizeof(*ks));
	keyset_add(ks, "dkey_sv");
	keyset_add(ks, "dkey_arr");
	keyset_add(ks, "dkey_new");
	keyset_add(ks, "dkey_mix");
	for (i = 1; i < 20; i++) {
		snprintf(name, sizeof(name), "list_%02d", i);
		keyset_add(ks, name);
	}
	list_and_check(LIST_DKEY, oh, NULL, 8, ks);

	/* Keep the single value the handle-sharing test reads: it lives in another object. */
	CHECK_OK(OP(daos_obj_punch(oh, DAOS_TX_NONE, 0, EVP)));
	CHECK(sv_size(oh, "list_01", "a") == 0);
	CHECK(sv_size(oh, "dkey_sv", "sv") == 0);
	memset(ks, 0, sizeof(*ks));
	list_and_check(LIST_DKEY, oh, NULL, 8, ks);
	free(ks);

	/* The object again holds one value for the handle-sharing test. */
	CHECK_OK(put_sv(oh, 0, "shared", "v", 64, 77));
	CHECK_OK(OP(daos_obj_close(oh, EVP)));
}

/* ------------------------------------------------------------------------------------- */
/* local2global / global2local                                                            */

static void test_handle_sharing(daos_handle_t poh, daos_handle_t coh, daos_obj_id_t oid)
{
	d_iov_t          pglob, cglob;
	daos_handle_t    poh2, coh2, oh;
	daos_pool_info_t info, info2;
	daos_cont_info_t ci, ci2;
	size_t           need;

	ct_step("pool/container local2global/global2local (%s)", mode_name());
	/* Pass 1: size only. */
	memset(&pglob, 0, sizeof(pglob));
	CHECK_OK(daos_pool_local2global(poh, &pglob));
	CHECK(pglob.iov_buf_len > 0);
	need = pglob.iov_buf_len;
	/* Short buffer: -DER_TRUNC. */
	pglob.iov_buf     = calloc(1, need);
	pglob.iov_buf_len = need - 1;
	pglob.iov_len     = 0;
	CHECK_RC(daos_pool_local2global(poh, &pglob), -DER_TRUNC);
	pglob.iov_buf_len = need;
	CHECK_OK(daos_pool_local2global(poh, &pglob));
	CHECK(pglob.iov_len == need);

	memset(&cglob, 0, sizeof(cglob));
	CHECK_OK(daos_cont_local2global(coh, &cglob));
	CHECK(cglob.iov_buf_len > 0);
	need              = cglob.iov_buf_len;
	cglob.iov_buf     = calloc(1, need);
	cglob.iov_buf_len = need - 1;
	CHECK_RC(daos_cont_local2global(coh, &cglob), -DER_TRUNC);
	cglob.iov_buf_len = need;
	CHECK_OK(daos_cont_local2global(coh, &cglob));
	CHECK(cglob.iov_len == need);

	CHECK_OK(daos_pool_global2local(pglob, &poh2));
	CHECK(daos_handle_is_valid(poh2));
	CHECK_OK(daos_cont_global2local(poh2, cglob, &coh2));
	CHECK(daos_handle_is_valid(coh2));

	/* The imported handles work: same pool, same container, same data. */
	memset(&info, 0, sizeof(info));
	memset(&info2, 0, sizeof(info2));
	CHECK_OK(OP(daos_pool_query(poh, NULL, &info, NULL, EVP)));
	CHECK_OK(OP(daos_pool_query(poh2, NULL, &info2, NULL, EVP)));
	CHECK(uuid_compare(info.pi_uuid, info2.pi_uuid) == 0);
	CHECK_OK(OP(daos_cont_query(coh, &ci, NULL, EVP)));
	CHECK_OK(OP(daos_cont_query(coh2, &ci2, NULL, EVP)));
	CHECK(uuid_compare(ci.ci_uuid, ci2.ci_uuid) == 0);

	CHECK_OK(OP(daos_obj_open(coh2, oid, DAOS_OO_RW, &oh, EVP)));
	{
		daos_key_t  dkey;
		daos_iod_t  iod;
		d_iov_t     iov;
		d_sg_list_t sgl;
		char        buf[64];

		set_key(&dkey, "shared");
		memset(&iod, 0, sizeof(iod));
		set_key(&iod.iod_name, "v");
		iod.iod_type = DAOS_IOD_SINGLE;
		iod.iod_size = DAOS_REC_ANY;
		iod.iod_nr   = 1;
		d_iov_set(&iov, buf, sizeof(buf));
		sgl.sg_nr     = 1;
		sgl.sg_nr_out = 0;
		sgl.sg_iovs   = &iov;
		CHECK_OK(OP(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, EVP)));
		CHECK(iod.iod_size == 64);
		CHECK(ct_verify(buf, 64, 77, 0) < 0);
		/* And writes through them land in the same container. */
		CHECK_OK(put_sv(oh, 0, "shared2", "v", 32, 78));
	}
	CHECK_OK(OP(daos_obj_close(oh, EVP)));
	CHECK_OK(OP(daos_cont_close(coh2, EVP)));
	CHECK_OK(OP(daos_pool_disconnect(poh2, EVP)));

	/* Closing the imported handles left the originals working. */
	CHECK_OK(OP(daos_obj_open(coh, oid, DAOS_OO_RW, &oh, EVP)));
	CHECK(sv_size(oh, "shared2", "v") == 32);
	CHECK_OK(OP(daos_obj_close(oh, EVP)));
	CHECK_OK(OP(daos_pool_query(poh, NULL, &info, NULL, EVP)));

	free(pglob.iov_buf);
	free(cglob.iov_buf);
}

/* ------------------------------------------------------------------------------------- */
/* KV                                                                                     */

static void test_kv(daos_handle_t coh, uint64_t lo)
{
	daos_obj_id_t  oid;
	daos_handle_t  kh;
	daos_size_t    size;
	char           buf[64], key[32];
	struct keyset *ks;
	int            i;

	ct_step("daos_kv_* (%s)", mode_name());
	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_KV_HASHED, OC_SX, 0, 0));
	CHECK_OK(OP(daos_kv_open(coh, oid, DAOS_OO_RW, &kh, EVP)));

	CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, 0, "key1", 7, "value-1", EVP)));
	/* buf NULL: size only. */
	size = 0;
	CHECK_OK(OP(daos_kv_get(kh, DAOS_TX_NONE, 0, "key1", &size, NULL, EVP)));
	CHECKF(size == 7, "size %llu", (unsigned long long)size);
	/* Buffer too small. */
	size = 3;
	CHECK_RC(OP(daos_kv_get(kh, DAOS_TX_NONE, 0, "key1", &size, buf, EVP)), -DER_REC2BIG);
	size = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	CHECK_OK(OP(daos_kv_get(kh, DAOS_TX_NONE, 0, "key1", &size, buf, EVP)));
	CHECK(size == 7 && memcmp(buf, "value-1", 7) == 0);

	/* Conditional put and get. */
	CHECK_RC(OP(daos_kv_put(kh, DAOS_TX_NONE, DAOS_COND_KEY_INSERT, "key1", 3, "abc", EVP)),
		 -DER_EXIST);
	CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, DAOS_COND_KEY_INSERT, "key2", 3, "abc", EVP)));
	CHECK_RC(OP(daos_kv_put(kh, DAOS_TX_NONE, DAOS_COND_KEY_UPDATE, "nokey", 3, "abc", EVP)),
		 -DER_NONEXIST);
	CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, DAOS_COND_KEY_UPDATE, "key2", 4, "abcd", EVP)));
	size = sizeof(buf);
	CHECK_RC(OP(daos_kv_get(kh, DAOS_TX_NONE, DAOS_COND_KEY_GET, "nokey", &size, buf, EVP)),
		 -DER_NONEXIST);
	size = sizeof(buf);
	CHECK_OK(OP(daos_kv_get(kh, DAOS_TX_NONE, DAOS_COND_KEY_GET, "key2", &size, buf, EVP)));
	CHECK(size == 4 && memcmp(buf, "abcd", 4) == 0);
	/* Unconditional get of a missing key: size 0. */
	size = sizeof(buf);
	CHECK_OK(OP(daos_kv_get(kh, DAOS_TX_NONE, 0, "nokey", &size, buf, EVP)));
	CHECK(size == 0);
	/* Zero-length values are legal. */
	CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, 0, "empty", 0, NULL, EVP)));

	/* Remove. */
	CHECK_OK(OP(daos_kv_remove(kh, DAOS_TX_NONE, 0, "key2", EVP)));
	size = sizeof(buf);
	CHECK_RC(OP(daos_kv_get(kh, DAOS_TX_NONE, DAOS_COND_KEY_GET, "key2", &size, buf, EVP)),
		 -DER_NONEXIST);
	CHECK_RC(OP(daos_kv_remove(kh, DAOS_TX_NONE, DAOS_COND_KEY_REMOVE, "key2", EVP)),
		 -DER_NONEXIST);
	CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, 0, "key3", 1, "x", EVP)));
	CHECK_OK(OP(daos_kv_remove(kh, DAOS_TX_NONE, DAOS_COND_KEY_REMOVE, "key3", EVP)));

	/* List. */
	ks = calloc(1, sizeof(*ks));
	CHECK(ks != NULL);
	keyset_add(ks, "key1");
	keyset_add(ks, "empty");
	for (i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "kv_%02d", i);
		snprintf(buf, sizeof(buf), "value of %d", i);
		CHECK_OK(OP(daos_kv_put(kh, DAOS_TX_NONE, 0, key, strlen(buf), buf, EVP)));
		keyset_add(ks, key);
	}
	list_and_check(LIST_KV, kh, NULL, 7, ks);
	free(ks);
	size = sizeof(buf);
	CHECK_OK(OP(daos_kv_get(kh, DAOS_TX_NONE, 0, "kv_17", &size, buf, EVP)));
	CHECK(size == strlen("value of 17") && memcmp(buf, "value of 17", size) == 0);

	CHECK_OK(OP(daos_kv_destroy(kh, DAOS_TX_NONE, EVP)));
	CHECK_OK(OP(daos_kv_close(kh, EVP)));
}

/* ------------------------------------------------------------------------------------- */
/* Arrays                                                                                 */

static int array_io(daos_handle_t ah, int write, daos_off_t off, void *buf, daos_size_t len)
{
	daos_array_iod_t iod;
	daos_range_t     rg;
	d_iov_t          iov;
	d_sg_list_t      sgl;

	memset(&iod, 0, sizeof(iod));
	rg.rg_idx    = off;
	rg.rg_len    = len;
	iod.arr_nr   = 1;
	iod.arr_rgs  = &rg;
	d_iov_set(&iov, buf, len);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	if (write)
		return OP(daos_array_write(ah, DAOS_TX_NONE, &iod, &sgl, EVP));
	return OP(daos_array_read(ah, DAOS_TX_NONE, &iod, &sgl, EVP));
}

/*
 * daos_array_get_attr, and sharing an open array: daos_array_local2global (two-pass size
 * protocol), daos_array_global2local, then I/O through the imported handle. The array `ah`
 * holds `n` bytes of pattern 11, in chunks of `chunk` bytes.
 */
static void test_array_global(daos_handle_t coh, daos_handle_t ah, daos_size_t n,
			      daos_size_t chunk)
{
	d_iov_t        glob, bad;
	daos_handle_t  ah2;
	daos_size_t    csize, cell, size;
	size_t         need;
	unsigned char *buf;
	const size_t   len = 8192;

	ct_step("daos_array_get_attr, daos_array_local2global/global2local (%s)", mode_name());
	buf = malloc(len);
	CHECK(buf != NULL);
	csize = 0;
	cell  = 0;
	CHECK_OK(daos_array_get_attr(ah, &csize, &cell)); /* (oh, chunk_size, cell_size) */
	CHECKF(csize == chunk && cell == 1, "chunk size %llu, cell size %llu",
	       (unsigned long long)csize, (unsigned long long)cell);

	/* Pass 1: no buffer, the size only. */
	memset(&glob, 0, sizeof(glob));
	CHECK_OK(daos_array_local2global(ah, &glob));
	CHECK(glob.iov_buf == NULL);
	CHECK(glob.iov_buf_len > 0);
	need = glob.iov_buf_len;
	/* A short buffer: -DER_TRUNC. */
	glob.iov_buf     = calloc(1, need);
	glob.iov_buf_len = need - 1;
	glob.iov_len     = 0;
	CHECK(glob.iov_buf != NULL);
	CHECK_RC(daos_array_local2global(ah, &glob), -DER_TRUNC);
	/* Pass 2. */
	glob.iov_buf_len = need;
	CHECK_OK(daos_array_local2global(ah, &glob));
	CHECKF(glob.iov_len == need, "iov_len %zu, iov_buf_len %zu", glob.iov_len, need);

	/* mode 0: the mode of the original open */
	CHECK_OK(daos_array_global2local(coh, glob, 0, &ah2));
	CHECK(daos_handle_is_valid(ah2));
	CHECK(ah2.cookie != ah.cookie);
	csize = 0;
	cell  = 0;
	CHECK_OK(daos_array_get_attr(ah2, &csize, &cell));
	CHECKF(csize == chunk && cell == 1, "imported: chunk size %llu, cell size %llu",
	       (unsigned long long)csize, (unsigned long long)cell);
	CHECK_OK(OP(daos_array_get_size(ah2, DAOS_TX_NONE, &size, EVP)));
	CHECKF(size == n, "imported: size %llu", (unsigned long long)size);

	/* Reads through the imported handle see the data written through the original ... */
	memset(buf, 0, len);
	CHECK_OK(array_io(ah2, 0, chunk - len / 2, buf, len));
	CHECK(ct_verify(buf, len, 11, chunk - len / 2) < 0);
	memset(buf, 0, len);
	CHECK_OK(array_io(ah2, 0, n - len, buf, len));
	CHECK(ct_verify(buf, len, 11, n - len) < 0);
	/* ... and writes through it land in the same array. */
	ct_fill(buf, 100, 12, 0);
	CHECK_OK(array_io(ah2, 1, n - 100, buf, 100));
	memset(buf, 0, 100);
	CHECK_OK(array_io(ah, 0, n - 100, buf, 100));
	CHECK(ct_verify(buf, 100, 12, 0) < 0);
	ct_fill(buf, 100, 11, n - 100); /* put the pattern back */
	CHECK_OK(array_io(ah2, 1, n - 100, buf, 100));
	CHECK_OK(OP(daos_array_close(ah2, EVP)));

	/* Closing the imported handle left the original working. */
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECK(size == n);
	memset(buf, 0, 100);
	CHECK_OK(array_io(ah, 0, n - 100, buf, 100));
	CHECK(ct_verify(buf, 100, 11, n - 100) < 0);

	/* Bytes that are not a global array handle. */
	bad.iov_buf = malloc(need);
	CHECK(bad.iov_buf != NULL);
	memcpy(bad.iov_buf, glob.iov_buf, need);
	bad.iov_buf_len = need;
	bad.iov_len     = need;
	((unsigned char *)bad.iov_buf)[0] ^= 0xff;
	ah2 = DAOS_HDL_INVAL;
	CHECK_RC(daos_array_global2local(coh, bad, 0, &ah2), -DER_INVAL);
	CHECK(daos_handle_is_inval(ah2));
	free(bad.iov_buf);
	memset(&bad, 0, sizeof(bad));
	CHECK_RC(daos_array_global2local(coh, bad, 0, &ah2), -DER_INVAL);

	free(glob.iov_buf);
	free(buf);
}

static void test_array(daos_handle_t coh, uint64_t lo)
{
	const daos_size_t  n     = (5u << 20) / 2; /* 2.5 MiB: spans three 1 MiB chunks */
	const daos_size_t  chunk = 1u << 20;
	daos_obj_id_t      oid;
	daos_handle_t      ah;
	daos_size_t        size, cell, csize;
	daos_array_stbuf_t st;
	daos_array_iod_t   iod;
	daos_range_t       rg;
	unsigned char     *data, *back;
	long               bad;
	daos_size_t        i;

	ct_step("daos_array_* (%s)", mode_name());
	data = malloc(n);
	back = malloc(n);
	CHECK(data != NULL && back != NULL);
	ct_fill(data, n, 11, 0);

	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_ARRAY, OC_SX, 0, 0));
	CHECK_OK(OP(daos_array_create(coh, oid, DAOS_TX_NONE, 1, chunk, &ah, EVP)));
	CHECK_OK(array_io(ah, 1, 0, data, n));
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECKF(size == n, "size %llu", (unsigned long long)size);
	memset(back, 0, n);
	CHECK_OK(array_io(ah, 0, 0, back, n));
	bad = ct_verify(back, n, 11, 0);
	CHECKF(bad < 0, "array byte %ld differs", bad);
	/* A read straddling a chunk boundary. */
	memset(back, 0, 4096);
	CHECK_OK(array_io(ah, 0, chunk - 2048, back, 4096));
	CHECK(ct_verify(back, 4096, 11, chunk - 2048) < 0);

	test_array_global(coh, ah, n, chunk);

	/* stat */
	memset(&st, 0, sizeof(st));
	CHECK_OK(OP(daos_array_stat(ah, DAOS_TX_NONE, &st, EVP)));
	CHECK(st.st_size == n);

	/* punch [100, 300): reads back as zeros */
	memset(&iod, 0, sizeof(iod));
	rg.rg_idx   = 100;
	rg.rg_len   = 200;
	iod.arr_nr  = 1;
	iod.arr_rgs = &rg;
	CHECK_OK(OP(daos_array_punch(ah, DAOS_TX_NONE, &iod, EVP)));
	memset(back, 0xEE, 400);
	CHECK_OK(array_io(ah, 0, 0, back, 400));
	CHECK(ct_verify(back, 100, 11, 0) < 0);
	for (i = 100; i < 300; i++)
		CHECKF(back[i] == 0, "punched byte %llu is 0x%02x", (unsigned long long)i, back[i]);
	CHECK(ct_verify(back + 300, 100, 11, 300) < 0);
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECK(size == n);

	/* set_size: shrink, then extend (the extension reads as zeros) */
	CHECK_OK(OP(daos_array_set_size(ah, DAOS_TX_NONE, chunk + 10, EVP)));
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECKF(size == chunk + 10, "size %llu", (unsigned long long)size);
	CHECK_OK(OP(daos_array_set_size(ah, DAOS_TX_NONE, 3 * chunk, EVP)));
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECKF(size == 3 * chunk, "size %llu", (unsigned long long)size);
	memset(back, 0xEE, 100);
	CHECK_OK(array_io(ah, 0, chunk, back, 100));
	CHECK(ct_verify(back, 10, 11, chunk) < 0);
	for (i = 10; i < 100; i++)
		CHECKF(back[i] == 0, "byte %llu past the old size is 0x%02x",
		       (unsigned long long)(chunk + i), back[i]);
	CHECK_OK(OP(daos_array_stat(ah, DAOS_TX_NONE, &st, EVP)));
	CHECK(st.st_size == 3 * chunk);
	CHECK_OK(OP(daos_array_close(ah, EVP)));

	/* open reports the cell and chunk sizes given at create */
	cell  = 0;
	csize = 0;
	CHECK_OK(OP(daos_array_open(coh, oid, DAOS_TX_NONE, DAOS_OO_RW, &cell, &csize, &ah, EVP)));
	CHECKF(cell == 1 && csize == chunk, "cell %llu chunk %llu", (unsigned long long)cell,
	       (unsigned long long)csize);
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECK(size == 3 * chunk);
	CHECK_OK(OP(daos_array_destroy(ah, DAOS_TX_NONE, EVP)));
	CHECK_OK(OP(daos_array_close(ah, EVP)));

	/* open_with_attr on a byte array: nothing stored, attributes given by the caller */
	oid.lo = lo + 1;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_ARRAY_BYTE, OC_SX, 0, 0));
	CHECK_OK(OP(daos_array_open_with_attr(coh, oid, DAOS_TX_NONE, DAOS_OO_RW, 1, 4096, &ah,
					      EVP)));
	cell  = 0;
	csize = 0;
	CHECK_OK(daos_array_get_attr(ah, &csize, &cell));
	CHECKF(csize == 4096 && cell == 1, "chunk size %llu, cell size %llu",
	       (unsigned long long)csize, (unsigned long long)cell);
	CHECK_OK(array_io(ah, 1, 5000, data, 10000));
	CHECK_OK(OP(daos_array_get_size(ah, DAOS_TX_NONE, &size, EVP)));
	CHECKF(size == 15000, "size %llu", (unsigned long long)size);
	memset(back, 0, 10000);
	CHECK_OK(array_io(ah, 0, 5000, back, 10000));
	CHECK(ct_verify(back, 10000, 11, 0) < 0);
	CHECK_OK(OP(daos_array_close(ah, EVP)));

	free(data);
	free(back);
}

/* ------------------------------------------------------------------------------------- */
/* Event queues                                                                           */

/* Launches a 4 KiB update of dkey `d` (static buffer: it may outlive the call). */
static int launch_update(daos_handle_t oh, const char *d, daos_event_t *e)
{
	static char  data[4096];
	static daos_iod_t  iods[64];
	static daos_key_t  dkeys[64];
	static d_iov_t     iovs[64];
	static d_sg_list_t sgls[64];
	static int         next;
	int                k = next++ % 64;

	ct_fill(data, sizeof(data), 21, 0);
	d_iov_set(&dkeys[k], (void *)d, strlen(d));
	memset(&iods[k], 0, sizeof(iods[k]));
	set_key(&iods[k].iod_name, "ev");
	iods[k].iod_type = DAOS_IOD_SINGLE;
	iods[k].iod_size = sizeof(data);
	iods[k].iod_nr   = 1;
	d_iov_set(&iovs[k], data, sizeof(data));
	sgls[k].sg_nr     = 1;
	sgls[k].sg_nr_out = 0;
	sgls[k].sg_iovs   = &iovs[k];
	return daos_obj_update(oh, DAOS_TX_NONE, 0, &dkeys[k], 1, &iods[k], &sgls[k], e);
}

static int comp_cb_calls;
static int comp_cb_rc = -1;
static void *comp_cb_arg;

static int comp_cb(void *arg, daos_event_t *e, int rc)
{
	(void)e;
	comp_cb_calls++;
	comp_cb_rc  = rc;
	comp_cb_arg = arg;
	return 0;
}

static void test_events(daos_handle_t coh, uint64_t lo)
{
	daos_obj_id_t  oid;
	daos_handle_t  oh, eq2;
	daos_event_t   evs[3], sev, parent, child[4], cbev, aev;
	/* static: its operation may still be finishing after the forced queue destroy */
	static daos_event_t bev;
	daos_event_t  *out[8], *e;
	bool           flag;
	int            n, i, got, tries;
	static const char *dk[] = {"ev0", "ev1", "ev2", "ev3"};

	oid.lo = lo;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	CHECK_OK(daos_obj_open(coh, oid, DAOS_OO_RW, &oh, NULL));

	ct_step("daos_eq_poll with nothing in flight returns 0 at once");
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out), 0);
	CHECK_RC(daos_eq_poll(eq, 0, DAOS_EQ_NOWAIT, 8, out), 0);
	CHECK_RC(daos_eq_query(eq, DAOS_EQR_ALL, 0, NULL), 0);

	ct_step("daos_eq_query with three events in flight");
	for (i = 0; i < 3; i++) {
		CHECK_OK(daos_event_init(&evs[i], eq, NULL));
		CHECK_OK(launch_update(oh, dk[i], &evs[i]));
	}
	n = daos_eq_query(eq, DAOS_EQR_ALL, 8, out);
	CHECKF(n == 3, "daos_eq_query returned %d", n);
	for (i = 0; i < 3; i++)
		CHECK(out[i] == &evs[0] || out[i] == &evs[1] || out[i] == &evs[2]);
	CHECK(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
	got = 0;
	for (tries = 0; got < 3 && tries < 100000; tries++) {
		n = daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 8, out);
		CHECKF(n >= 0, "daos_eq_poll: %s", d_errstr(n));
		for (i = 0; i < n; i++) {
			CHECK(out[i] == &evs[0] || out[i] == &evs[1] || out[i] == &evs[2]);
			CHECK_OK(out[i]->ev_error);
		}
		got += n;
	}
	CHECK(got == 3);
	CHECK_RC(daos_eq_query(eq, DAOS_EQR_ALL, 0, NULL), 0);
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out), 0);
	/* completed events are reusable without fini/init */
	CHECK_OK(launch_update(oh, dk[0], &evs[0]));
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out), 1);
	CHECK(out[0] == &evs[0] && evs[0].ev_error == 0);
	for (i = 0; i < 3; i++)
		CHECK_OK(daos_event_fini(&evs[i]));

	ct_step("standalone event progressed by daos_event_test");
	CHECK_OK(daos_event_init(&sev, DAOS_HDL_INVAL, NULL));
	CHECK_OK(launch_update(oh, "standalone", &sev));
	flag = false;
	for (tries = 0; !flag; tries++) {
		CHECK(tries < 1000000);
		CHECK_OK(daos_event_test(&sev, DAOS_EQ_NOWAIT, &flag));
		if (!flag)
			usleep(100);
	}
	CHECK_OK(sev.ev_error);
	/* reused; tested with an infinite and with a finite (µs) timeout */
	CHECK_OK(launch_update(oh, "standalone", &sev));
	flag = false;
	CHECK_OK(daos_event_test(&sev, DAOS_EQ_WAIT, &flag));
	CHECK(flag);
	CHECK_OK(sev.ev_error);
	CHECK_OK(launch_update(oh, "standalone", &sev));
	flag = false;
	for (tries = 0; !flag; tries++) {
		CHECK(tries < 600);
		CHECK_OK(daos_event_test(&sev, 100000, &flag));
	}
	CHECK_OK(sev.ev_error);
	CHECK(sv_size(oh, "standalone", "ev") == 4096);
	CHECK_OK(daos_event_fini(&sev));

	ct_step("parent event with children: daos_event_next, daos_event_parent_barrier");
	CHECK_OK(daos_event_init(&parent, eq, NULL));
	for (i = 0; i < 4; i++)
		CHECK_OK(daos_event_init(&child[i], eq, &parent));
	n = 0;
	for (e = daos_event_next(&parent, NULL); e != NULL; e = daos_event_next(&parent, e)) {
		CHECK(n < 4);
		CHECK(e == &child[0] || e == &child[1] || e == &child[2] || e == &child[3]);
		n++;
	}
	CHECKF(n == 4, "daos_event_next walked %d children", n);
	for (i = 0; i < 4; i++)
		CHECK_OK(launch_update(oh, dk[i], &child[i]));
	CHECK_OK(daos_event_parent_barrier(&parent));
	n = daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 8, out);
	CHECKF(n == 1, "daos_eq_poll returned %d", n);
	CHECK(out[0] == &parent); /* children are never returned by poll */
	CHECK_OK(parent.ev_error);
	for (i = 0; i < 4; i++)
		CHECK_OK(child[i].ev_error);
	CHECK_RC(daos_eq_poll(eq, 0, DAOS_EQ_NOWAIT, 8, out), 0);
	for (i = 0; i < 4; i++)
		CHECK_OK(daos_event_fini(&child[i]));
	CHECK_OK(daos_event_fini(&parent));
	for (i = 0; i < 4; i++)
		CHECK(sv_size(oh, dk[i], "ev") == 4096);

	ct_step("daos_event_register_comp_cb");
	CHECK_OK(daos_event_init(&cbev, eq, NULL));
	CHECK_OK(daos_event_register_comp_cb(&cbev, comp_cb, &cbev));
	CHECK_OK(launch_update(oh, "cb", &cbev));
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out), 1);
	CHECK(out[0] == &cbev);
	CHECK(comp_cb_calls == 1);
	CHECK(comp_cb_rc == 0);
	CHECK(comp_cb_arg == &cbev);
	CHECK_OK(daos_event_fini(&cbev));

	ct_step("daos_event_abort");
	CHECK_OK(daos_event_init(&aev, eq, NULL));
	CHECK_OK(launch_update(oh, "abort", &aev));
	CHECK_OK(daos_event_abort(&aev));
	CHECK_RC(daos_eq_poll(eq, 1, DAOS_EQ_WAIT, 1, out), 1);
	CHECK(out[0] == &aev);
	CHECKF(aev.ev_error == 0 || aev.ev_error == -DER_CANCELED, "ev_error %d (%s)",
	       aev.ev_error, d_errstr(aev.ev_error));
	CHECK_OK(daos_event_fini(&aev));

	ct_step("daos_eq_destroy with an event in flight: -DER_BUSY, then FORCE");
	CHECK_OK(daos_eq_create(&eq2));
	CHECK_OK(daos_event_init(&bev, eq2, NULL));
	CHECK_OK(launch_update(oh, "busy", &bev));
	CHECK_RC(daos_eq_destroy(eq2, 0), -DER_BUSY);
	CHECK_OK(daos_eq_destroy(eq2, DAOS_EQ_DESTROY_FORCE));
	CHECK_RC2(daos_eq_poll(eq2, 0, DAOS_EQ_NOWAIT, 1, out), -DER_NO_HDL, -DER_NONEXIST);

	CHECK_OK(daos_obj_close(oh, NULL));
}

/* ------------------------------------------------------------------------------------- */
/* Blocking calls from many threads                                                       */

struct thread_arg {
	daos_handle_t coh;
	uint64_t      lo;
	int           idx;
};

static void *io_thread(void *p)
{
	struct thread_arg *a = p;
	daos_obj_id_t      oid;
	daos_handle_t      oh;
	daos_key_t         dkey;
	daos_iod_t         iod;
	d_iov_t            iov;
	d_sg_list_t        sgl;
	char               dk[32], buf[1000];
	int                it;

	oid.lo = a->lo;
	oid.hi = (uint64_t)a->idx;
	CHECK_OK(daos_obj_generate_oid(a->coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	CHECK_OK(daos_obj_open(a->coh, oid, DAOS_OO_RW, &oh, NULL));
	for (it = 0; it < 40; it++) {
		uint64_t seed = (uint64_t)a->idx * 1000 + (uint64_t)it;
		size_t   len  = 100 + (size_t)(it * 17 % 900);

		snprintf(dk, sizeof(dk), "t%d_%d", a->idx, it);
		set_key(&dkey, dk);
		memset(&iod, 0, sizeof(iod));
		set_key(&iod.iod_name, "val");
		iod.iod_type = DAOS_IOD_SINGLE;
		iod.iod_size = len;
		iod.iod_nr   = 1;
		ct_fill(buf, len, seed, 0);
		d_iov_set(&iov, buf, len);
		sgl.sg_nr     = 1;
		sgl.sg_nr_out = 0;
		sgl.sg_iovs   = &iov;
		CHECK_OK(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL));
		memset(buf, 0, sizeof(buf));
		iod.iod_size = DAOS_REC_ANY;
		d_iov_set(&iov, buf, sizeof(buf));
		CHECK_OK(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL, NULL));
		CHECKF(iod.iod_size == len, "thread %d iteration %d: size %llu", a->idx, it,
		       (unsigned long long)iod.iod_size);
		CHECKF(ct_verify(buf, len, seed, 0) < 0, "thread %d iteration %d: data", a->idx,
		       it);
	}
	CHECK_OK(daos_obj_close(oh, NULL));
	return NULL;
}

static void test_threads(daos_handle_t coh, uint64_t lo)
{
	pthread_t         th[8];
	struct thread_arg args[8];
	int               i;

	ct_step("blocking calls from 8 threads at once");
	for (i = 0; i < 8; i++) {
		args[i].coh = coh;
		args[i].lo  = lo;
		args[i].idx = i + 1;
		CHECK(pthread_create(&th[i], NULL, io_thread, &args[i]) == 0);
	}
	for (i = 0; i < 8; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
}

/* ------------------------------------------------------------------------------------- */

/* Every call of the data path, in the current mode (blocking or event). */
static void run_mode(void)
{
	daos_handle_t poh, coh;
	daos_obj_id_t oid;
	uuid_t        pool_uuid;
	char          label[128];
	uint64_t      lo = ct_unique64() + (async_mode ? 0x8000 : 0);

	test_pool(pool_uuid);

	CHECK_OK(OP(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, EVP)));
	snprintf(label, sizeof(label), "core_%s_%s", ct_tag(), mode_name());
	test_cont_create_open(poh, label, &coh);

	/* a pool handle with an open container cannot be disconnected */
	if (!async_mode)
		CHECK_RC(daos_pool_disconnect(poh, NULL), -DER_BUSY);

	test_alloc_oids_props(poh, coh, label);
	test_generate_oid(coh, lo);
	test_object_io(coh, lo + 1, &oid);
	test_handle_sharing(poh, coh, oid);
	test_kv(coh, lo + 2);
	test_array(coh, lo + 3);
	if (async_mode)
		test_events(coh, lo + 10);
	else
		test_threads(coh, lo + 20);

	ct_step("container close/destroy (%s)", mode_name());
	CHECK_OK(OP(daos_cont_close(coh, EVP)));
	CHECK_OK(OP(daos_cont_destroy(poh, label, 0, EVP)));
	CHECK_RC(OP(daos_cont_open(poh, label, DAOS_COO_RW, &coh, NULL, EVP)), -DER_NONEXIST);
	CHECK_RC(OP(daos_cont_destroy(poh, label, 0, EVP)), -DER_NONEXIST);
	CHECK_OK(OP(daos_pool_disconnect(poh, EVP)));

	if (async_mode)
		CHECK_RC(daos_eq_query(eq, DAOS_EQR_ALL, 0, NULL), 0);
}

int main(void)
{
	pool_label = ct_env("DAOS_POOL", "ctest");

	test_init_fini();
	test_errstr();
	test_oclass();
	test_gurt();
	test_aliases();

	CHECK_OK(daos_eq_create(&eq));
	CHECK(daos_handle_is_valid(eq));
	CHECK_OK(daos_event_init(&ev, eq, NULL));

	for (async_mode = 0; async_mode <= 1; async_mode++)
		run_mode();

	CHECK_OK(daos_event_fini(&ev));
	CHECK_OK(daos_eq_destroy(eq, 0));
	test_reinit_after_fork();
	CHECK_OK(daos_fini());
	printf("api_core: all checks passed\n");
	return 0;
}

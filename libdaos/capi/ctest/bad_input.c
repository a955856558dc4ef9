/*
 * bad_input: hostile and careless calls. NULL pointers, zero lengths, malformed and unknown
 * labels, foreign and stale handles (double close, use after close), oversize keys, broken
 * global-handle blobs. Each must return its DER code (daos_*) or errno (dfs_*, duns_*) and
 * never crash; after all of them the library still works.
 *
 * Environment: DAOS_POOL and DAOS_CONT (defaults "ctest" and "posix").
 */
#include <daos.h>
#include <daos_fs.h>
#include <daos_uns.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "ctest_util.h"

/* DAOS-rs's longest dkey/akey (crates/daos-proto KEY_SIZE_MAX). */
#define KEY_MAX 4096

static const char *pool_label;
static const char *cont_label;

static void set_key(daos_key_t *key, const char *s)
{
	d_iov_set(key, (void *)s, strlen(s));
}

static int update_sv(daos_handle_t oh, daos_key_t *dkey, daos_key_t *akey, void *buf,
		     size_t len)
{
	daos_iod_t  iod;
	d_iov_t     iov;
	d_sg_list_t sgl;

	memset(&iod, 0, sizeof(iod));
	iod.iod_name = *akey;
	iod.iod_type = DAOS_IOD_SINGLE;
	iod.iod_size = len;
	iod.iod_nr   = 1;
	d_iov_set(&iov, buf, len);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	return daos_obj_update(oh, DAOS_TX_NONE, 0, dkey, 1, &iod, &sgl, NULL);
}

static void test_uninit(void)
{
	daos_handle_t poh, eq;

	ct_step("calls before daos_init: -DER_UNINIT");
	CHECK_RC(daos_fini(), -DER_UNINIT);
	CHECK_RC(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, NULL), -DER_UNINIT);
	CHECK_RC(daos_eq_create(&eq), -DER_UNINIT);
}

static void test_misc(void)
{
	char         name[MAX_OBJ_CLASS_NAME_LEN];
	daos_prop_t *p;

	ct_step("errors, object classes, properties");
	CHECK(d_errstr(-999999) != NULL);
	CHECK(d_errstr(INT_MIN) != NULL);
	CHECK(d_errstr(12345) != NULL);
	CHECK(d_errdesc(-999999) != NULL);
	CHECK(daos_oclass_name2id(NULL) == OC_UNKNOWN);
	CHECK(daos_oclass_id2name(OC_SX, NULL) != 0);
	CHECK(daos_oclass_id2name(OC_UNKNOWN, name) != 0);

	daos_prop_free(NULL);
	CHECK(daos_prop_alloc(DAOS_PROP_ENTRIES_MAX_NR + 1) == NULL);
	p = daos_prop_alloc(0);
	CHECK(p != NULL && p->dpp_nr == 0);
	CHECK(daos_prop_entry_get(p, DAOS_PROP_CO_LABEL) == NULL);
	daos_prop_free(p);
	CHECK(daos_prop_entry_get(NULL, DAOS_PROP_CO_LABEL) == NULL);
	/* a label entry left unset is freed without trouble */
	p = daos_prop_alloc(3);
	CHECK(p != NULL);
	p->dpp_entries[0].dpe_type = DAOS_PROP_CO_LABEL;
	daos_prop_free(p);
}

static void test_pool(daos_handle_t *poh_out)
{
	daos_handle_t    poh, h;
	daos_handle_t    forged = {.cookie = 0x7eadbeef12345ULL};
	daos_pool_info_t info;
	char             longlabel[300];
	d_iov_t          glob, empty;
	unsigned char    garbage[64];
	uuid_t           u;
	char             ustr[DAOS_UUID_STR_SIZE];

	ct_step("pool: NULL, malformed, unknown, foreign");
	CHECK_RC(daos_pool_connect(NULL, NULL, DAOS_PC_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, NULL, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_pool_connect("", NULL, DAOS_PC_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_pool_connect("bad label!", NULL, DAOS_PC_RW, &h, NULL, NULL), -DER_INVAL);
	memset(longlabel, 'a', sizeof(longlabel));
	longlabel[sizeof(longlabel) - 1] = '\0';
	CHECK_RC(daos_pool_connect(longlabel, NULL, DAOS_PC_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_pool_connect("ctest_no_such_pool", NULL, DAOS_PC_RW, &h, NULL, NULL),
		 -DER_NONEXIST);
	uuid_generate(u);
	uuid_unparse(u, ustr);
	CHECK_RC(daos_pool_connect(ustr, NULL, DAOS_PC_RW, &h, NULL, NULL), -DER_NONEXIST);
	CHECK_RC(daos_pool_connect(pool_label, NULL, 0, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_pool_connect(pool_label, NULL, DAOS_PC_RO | DAOS_PC_RW, &h, NULL, NULL),
		 -DER_INVAL);
	CHECK_RC(daos_pool_query(DAOS_HDL_INVAL, NULL, &info, NULL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_pool_query(forged, NULL, &info, NULL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_pool_disconnect(DAOS_HDL_INVAL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_pool_disconnect(forged, NULL), -DER_NO_HDL);

	CHECK_OK(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, NULL));

	ct_step("pool: broken global handles");
	CHECK_RC(daos_pool_local2global(poh, NULL), -DER_INVAL);
	memset(&glob, 0, sizeof(glob));
	CHECK_RC(daos_pool_local2global(DAOS_HDL_INVAL, &glob), -DER_NO_HDL);
	memset(&empty, 0, sizeof(empty));
	CHECK_RC(daos_pool_global2local(empty, &h), -DER_INVAL);
	memset(garbage, 0xA5, sizeof(garbage));
	d_iov_set(&glob, garbage, sizeof(garbage));
	CHECK_RC(daos_pool_global2local(glob, &h), -DER_INVAL);
	/* a valid blob, truncated */
	memset(&glob, 0, sizeof(glob));
	CHECK_OK(daos_pool_local2global(poh, &glob));
	glob.iov_buf = malloc(glob.iov_buf_len);
	CHECK(glob.iov_buf != NULL);
	CHECK_OK(daos_pool_local2global(poh, &glob));
	CHECK_RC(daos_pool_global2local(glob, NULL), -DER_INVAL);
	glob.iov_len /= 2;
	CHECK_RC(daos_pool_global2local(glob, &h), -DER_INVAL);
	free(glob.iov_buf);
	*poh_out = poh;
}

static void test_cont(daos_handle_t poh, const char *label, daos_handle_t *coh_out)
{
	daos_handle_t    coh, h;
	daos_cont_info_t ci;
	daos_pool_info_t pi;
	daos_prop_t     *prop;
	d_iov_t          glob, empty;
	unsigned char    garbage[64];

	ct_step("container: NULL, malformed, unknown, foreign handles");
	CHECK_RC(daos_cont_open(poh, NULL, DAOS_COO_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_open(poh, cont_label, DAOS_COO_RW, NULL, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_open(poh, "", DAOS_COO_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_open(poh, "bad label!", DAOS_COO_RW, &h, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_open(poh, "ctest_no_such_cont", DAOS_COO_RW, &h, NULL, NULL),
		 -DER_NONEXIST);
	CHECK_RC(daos_cont_open(DAOS_HDL_INVAL, cont_label, DAOS_COO_RW, &h, NULL, NULL),
		 -DER_NO_HDL);
	CHECK_RC(daos_cont_create_with_label(poh, NULL, NULL, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_create_with_label(poh, "bad label!", NULL, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_create_with_label(DAOS_HDL_INVAL, label, NULL, NULL, NULL), -DER_NO_HDL);
	prop = daos_prop_alloc(1);
	prop->dpp_entries[0].dpe_type = DAOS_PROP_CO_LABEL;
	prop->dpp_entries[0].dpe_str  = strdup("bad label!");
	CHECK_RC(daos_cont_create(poh, NULL, prop, NULL), -DER_INVAL);
	daos_prop_free(prop);
	CHECK_RC(daos_cont_destroy(poh, NULL, 0, NULL), -DER_INVAL);
	CHECK_RC(daos_cont_destroy(poh, "ctest_no_such_cont", 0, NULL), -DER_NONEXIST);
	CHECK_RC(daos_cont_query(DAOS_HDL_INVAL, &ci, NULL, NULL), -DER_NO_HDL);
	/* a pool handle is not a container handle */
	CHECK_RC(daos_cont_query(poh, &ci, NULL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_cont_close(poh, NULL), -DER_NO_HDL);

	CHECK_OK(daos_cont_create_with_label(poh, label, NULL, NULL, NULL));
	CHECK_RC(daos_cont_create_with_label(poh, label, NULL, NULL, NULL), -DER_EXIST);
	CHECK_OK(daos_cont_open(poh, label, DAOS_COO_RW, &coh, NULL, NULL));
	/* and a container handle is not a pool handle */
	CHECK_RC(daos_pool_query(coh, NULL, &pi, NULL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_pool_disconnect(coh, NULL), -DER_NO_HDL);

	ct_step("container: broken global handles");
	CHECK_RC(daos_cont_local2global(coh, NULL), -DER_INVAL);
	memset(&glob, 0, sizeof(glob));
	CHECK_RC(daos_cont_local2global(poh, &glob), -DER_NO_HDL);
	memset(&empty, 0, sizeof(empty));
	CHECK_RC(daos_cont_global2local(poh, empty, &h), -DER_INVAL);
	memset(garbage, 0x5A, sizeof(garbage));
	d_iov_set(&glob, garbage, sizeof(garbage));
	CHECK_RC(daos_cont_global2local(poh, glob, &h), -DER_INVAL);
	*coh_out = coh;
}

static void test_obj(daos_handle_t poh, daos_handle_t coh)
{
	daos_obj_id_t   oid, bad;
	daos_handle_t   oh, h;
	daos_key_t      dkey, akey, keys[1];
	daos_iod_t      iod;
	d_iov_t         iov;
	d_sg_list_t     sgl;
	daos_key_desc_t kds[4];
	daos_anchor_t   anchor;
	uint32_t        nr;
	char           *big, val[16] = "value";
	char            buf[64];
	daos_recx_t     recx = {.rx_idx = 0, .rx_nr = 4};

	ct_step("objects: generate_oid and open");
	oid.lo = ct_unique64() + 1;
	oid.hi = 0;
	CHECK_RC(daos_obj_generate_oid(coh, NULL, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0), -DER_INVAL);
	bad = oid;
	CHECK_RC(daos_obj_generate_oid(coh, &bad, (enum daos_otype_t)99, OC_SX, 0, 0), -DER_INVAL);
	bad = oid;
	CHECK_RC(daos_obj_generate_oid(coh, &bad, DAOS_OT_MULTI_HASHED, 0x7f00fff0, 0, 0),
		 -DER_INVAL);
	bad = oid;
	CHECK_RC(daos_obj_generate_oid(DAOS_HDL_INVAL, &bad, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0),
		 -DER_NO_HDL);
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	CHECK_RC(daos_obj_open(coh, oid, DAOS_OO_RW, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_open(DAOS_HDL_INVAL, oid, DAOS_OO_RW, &h, NULL), -DER_NO_HDL);
	CHECK_RC(daos_obj_open(poh, oid, DAOS_OO_RW, &h, NULL), -DER_NO_HDL);
	CHECK_OK(daos_obj_open(coh, oid, DAOS_OO_RW, &oh, NULL));

	ct_step("objects: NULL and zero-length keys, descriptors and buffers");
	set_key(&dkey, "d");
	set_key(&akey, "a");
	CHECK_RC(update_sv(oh, NULL, &akey, val, 5), -DER_INVAL);
	d_iov_set(&iov, NULL, 0);
	CHECK_RC(update_sv(oh, &iov, &akey, val, 5), -DER_INVAL); /* empty dkey */
	d_iov_set(&iov, val, 0);
	CHECK_RC(update_sv(oh, &iov, &akey, val, 5), -DER_INVAL); /* zero-length dkey */
	CHECK_RC(update_sv(oh, &dkey, &iov, val, 5), -DER_INVAL); /* zero-length akey */
	CHECK_RC(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, NULL, NULL, NULL), -DER_INVAL);
	memset(&iod, 0, sizeof(iod));
	iod.iod_name = akey;
	iod.iod_type = DAOS_IOD_SINGLE;
	iod.iod_size = 5;
	iod.iod_nr   = 1;
	CHECK_RC(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, NULL, NULL), -DER_INVAL);
	/* an array iod without its extents */
	iod.iod_type  = DAOS_IOD_ARRAY;
	iod.iod_size  = 1;
	iod.iod_recxs = NULL;
	d_iov_set(&iov, val, 4);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	CHECK_RC(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL), -DER_INVAL);
	/* an unknown iod type */
	iod.iod_type  = (daos_iod_type_t)7;
	iod.iod_recxs = &recx;
	CHECK_RC(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL), -DER_INVAL);
	/* an sgl claiming iovs it does not have */
	iod.iod_type = DAOS_IOD_ARRAY;
	sgl.sg_iovs  = NULL;
	CHECK_RC(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL), -DER_INVAL);
	sgl.sg_iovs = &iov;
	CHECK_OK(daos_obj_update(oh, DAOS_TX_NONE, 0, &dkey, 1, &iod, &sgl, NULL));
	CHECK_RC(daos_obj_fetch(oh, DAOS_TX_NONE, 0, NULL, 1, &iod, &sgl, NULL, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &dkey, 1, NULL, &sgl, NULL, NULL), -DER_INVAL);

	ct_step("objects: oversize keys (limit %d bytes)", KEY_MAX);
	big = malloc(KEY_MAX + 2);
	CHECK(big != NULL);
	memset(big, 'k', KEY_MAX + 1);
	d_iov_set(&iov, big, KEY_MAX);
	CHECK_OK(update_sv(oh, &iov, &akey, val, 5));
	d_iov_set(&iov, big, KEY_MAX + 1);
	CHECK_RC(update_sv(oh, &iov, &akey, val, 5), -DER_KEY2BIG);
	CHECK_RC(update_sv(oh, &dkey, &iov, val, 5), -DER_KEY2BIG);
	{
		daos_iod_t fiod;

		memset(&fiod, 0, sizeof(fiod));
		fiod.iod_name = akey;
		fiod.iod_type = DAOS_IOD_SINGLE;
		fiod.iod_size = DAOS_REC_ANY;
		fiod.iod_nr   = 1;
		CHECK_RC(daos_obj_fetch(oh, DAOS_TX_NONE, 0, &iov, 1, &fiod, NULL, NULL, NULL),
			 -DER_KEY2BIG);
	}
	/* the KEY_MAX-byte dkey lists back whole */
	memset(&anchor, 0, sizeof(anchor));
	{
		char       *kbuf = malloc(2 * KEY_MAX);
		d_iov_t     kiov;
		d_sg_list_t ksgl;
		int         found = 0, i, rounds = 0;

		CHECK(kbuf != NULL);
		while (!daos_anchor_is_eof(&anchor)) {
			char *p = kbuf;

			CHECK(rounds++ < 100);
			nr = 4;
			d_iov_set(&kiov, kbuf, 2 * KEY_MAX);
			ksgl.sg_nr     = 1;
			ksgl.sg_nr_out = 0;
			ksgl.sg_iovs   = &kiov;
			CHECK_OK(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &ksgl, &anchor, NULL));
			for (i = 0; i < (int)nr; i++) {
				if (kds[i].kd_key_len == KEY_MAX && memcmp(p, big, KEY_MAX) == 0)
					found++;
				p += kds[i].kd_key_len;
			}
		}
		CHECK(found == 1);
		free(kbuf);
	}

	ct_step("objects: listing and punching with missing arguments");
	memset(&anchor, 0, sizeof(anchor));
	d_iov_set(&iov, buf, sizeof(buf));
	sgl.sg_nr   = 1;
	sgl.sg_iovs = &iov;
	nr          = 4;
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, NULL, kds, &sgl, &anchor, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, NULL, &sgl, &anchor, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, NULL, &anchor, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &sgl, NULL, NULL), -DER_INVAL);
	nr = 0;
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &sgl, &anchor, NULL), -DER_INVAL);
	nr = 4;
	CHECK_RC(daos_obj_list_akey(oh, DAOS_TX_NONE, NULL, &nr, kds, &sgl, &anchor, NULL),
		 -DER_INVAL);
	CHECK_RC(daos_obj_punch_dkeys(oh, DAOS_TX_NONE, 0, 1, NULL, NULL), -DER_INVAL);
	keys[0] = dkey;
	CHECK_RC(daos_obj_punch_dkeys(oh, DAOS_TX_NONE, 0, 0, keys, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_punch_akeys(oh, DAOS_TX_NONE, 0, NULL, 1, &akey, NULL), -DER_INVAL);
	CHECK_RC(daos_obj_punch_akeys(oh, DAOS_TX_NONE, 0, &dkey, 1, NULL, NULL), -DER_INVAL);

	ct_step("objects: double close, use after close, foreign handles");
	CHECK_RC(update_sv(coh, &dkey, &akey, val, 5), -DER_NO_HDL);
	CHECK_OK(daos_obj_close(oh, NULL));
	CHECK_RC(daos_obj_close(oh, NULL), -DER_NO_HDL);
	CHECK_RC(update_sv(oh, &dkey, &akey, val, 5), -DER_NO_HDL);
	CHECK_RC(daos_obj_punch(oh, DAOS_TX_NONE, 0, NULL), -DER_NO_HDL);
	nr = 4;
	CHECK_RC(daos_obj_list_dkey(oh, DAOS_TX_NONE, &nr, kds, &sgl, &anchor, NULL), -DER_NO_HDL);
	free(big);
}

static void test_kv_array(daos_handle_t coh)
{
	daos_obj_id_t    oid;
	daos_handle_t    kh, ah;
	daos_size_t      size, cell, chunk;
	char            *big;
	daos_key_desc_t  kds[4];
	daos_anchor_t    anchor;
	uint32_t         nr;
	d_iov_t          iov;
	d_sg_list_t      sgl;
	char             buf[64];
	daos_array_iod_t aiod;
	daos_range_t     rg;

	ct_step("KV: NULL, empty and oversize keys, use after close");
	oid.lo = ct_unique64() + 2;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_KV_HASHED, OC_SX, 0, 0));
	CHECK_RC(daos_kv_open(coh, oid, DAOS_OO_RW, NULL, NULL), -DER_INVAL);
	CHECK_OK(daos_kv_open(coh, oid, DAOS_OO_RW, &kh, NULL));
	CHECK_RC(daos_kv_put(kh, DAOS_TX_NONE, 0, NULL, 1, "x", NULL), -DER_INVAL);
	CHECK_RC(daos_kv_put(kh, DAOS_TX_NONE, 0, "", 1, "x", NULL), -DER_INVAL);
	CHECK_RC(daos_kv_put(kh, DAOS_TX_NONE, 0, "k", 5, NULL, NULL), -DER_INVAL);
	big = malloc(KEY_MAX + 2);
	CHECK(big != NULL);
	memset(big, 'q', KEY_MAX + 1);
	big[KEY_MAX + 1] = '\0';
	CHECK_RC(daos_kv_put(kh, DAOS_TX_NONE, 0, big, 1, "x", NULL), -DER_KEY2BIG);
	big[KEY_MAX] = '\0';
	CHECK_OK(daos_kv_put(kh, DAOS_TX_NONE, 0, big, 1, "x", NULL));
	size = sizeof(buf);
	CHECK_OK(daos_kv_get(kh, DAOS_TX_NONE, 0, big, &size, buf, NULL));
	CHECK(size == 1 && buf[0] == 'x');
	/* zero-length value */
	CHECK_OK(daos_kv_put(kh, DAOS_TX_NONE, 0, "zero", 0, NULL, NULL));
	CHECK_RC(daos_kv_get(kh, DAOS_TX_NONE, 0, "zero", NULL, buf, NULL), -DER_INVAL);
	CHECK_RC(daos_kv_get(kh, DAOS_TX_NONE, 0, NULL, &size, buf, NULL), -DER_INVAL);
	CHECK_RC(daos_kv_remove(kh, DAOS_TX_NONE, 0, NULL, NULL), -DER_INVAL);
	memset(&anchor, 0, sizeof(anchor));
	d_iov_set(&iov, buf, sizeof(buf));
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	CHECK_RC(daos_kv_list(kh, DAOS_TX_NONE, NULL, kds, &sgl, &anchor, NULL), -DER_INVAL);
	nr = 4;
	CHECK_RC(daos_kv_list(kh, DAOS_TX_NONE, &nr, kds, &sgl, NULL, NULL), -DER_INVAL);
	CHECK_OK(daos_kv_close(kh, NULL));
	CHECK_RC(daos_kv_close(kh, NULL), -DER_NO_HDL);
	CHECK_RC(daos_kv_put(kh, DAOS_TX_NONE, 0, "k", 1, "x", NULL), -DER_NO_HDL);
	size = sizeof(buf);
	CHECK_RC(daos_kv_get(kh, DAOS_TX_NONE, 0, "k", &size, buf, NULL), -DER_NO_HDL);
	free(big);

	ct_step("arrays: bad attributes, missing arguments, use after close");
	oid.lo = ct_unique64() + 3;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0));
	/* not an array object id */
	CHECK_RC(daos_array_create(coh, oid, DAOS_TX_NONE, 1, 1024, &ah, NULL), -DER_INVAL);
	oid.lo = ct_unique64() + 4;
	oid.hi = 0;
	CHECK_OK(daos_obj_generate_oid(coh, &oid, DAOS_OT_ARRAY, OC_SX, 0, 0));
	CHECK_RC(daos_array_create(coh, oid, DAOS_TX_NONE, 0, 1024, &ah, NULL), -DER_INVAL);
	CHECK_RC(daos_array_create(coh, oid, DAOS_TX_NONE, 1, 0, &ah, NULL), -DER_INVAL);
	CHECK_RC(daos_array_create(coh, oid, DAOS_TX_NONE, 1, 1024, NULL, NULL), -DER_INVAL);
	/* never created */
	CHECK_RC(daos_array_open(coh, oid, DAOS_TX_NONE, DAOS_OO_RW, &cell, &chunk, &ah, NULL),
		 -DER_NONEXIST);
	CHECK_OK(daos_array_create(coh, oid, DAOS_TX_NONE, 1, 1024, &ah, NULL));
	CHECK_RC(daos_array_read(ah, DAOS_TX_NONE, NULL, &sgl, NULL), -DER_INVAL);
	memset(&aiod, 0, sizeof(aiod));
	rg.rg_idx    = 0;
	rg.rg_len    = sizeof(buf);
	aiod.arr_nr  = 1;
	aiod.arr_rgs = &rg;
	CHECK_RC(daos_array_write(ah, DAOS_TX_NONE, &aiod, NULL, NULL), -DER_INVAL);
	aiod.arr_rgs = NULL;
	CHECK_RC(daos_array_write(ah, DAOS_TX_NONE, &aiod, &sgl, NULL), -DER_INVAL);
	aiod.arr_rgs = &rg;
	CHECK_RC(daos_array_get_size(ah, DAOS_TX_NONE, NULL, NULL), -DER_INVAL);
	/* zero-length I/O is fine */
	aiod.arr_nr = 0;
	sgl.sg_nr   = 0;
	CHECK_OK(daos_array_write(ah, DAOS_TX_NONE, &aiod, &sgl, NULL));
	CHECK_OK(daos_array_get_size(ah, DAOS_TX_NONE, &size, NULL));
	CHECK(size == 0);
	sgl.sg_nr = 1;
	CHECK_OK(daos_array_close(ah, NULL));
	CHECK_RC(daos_array_close(ah, NULL), -DER_NO_HDL);
	CHECK_RC(daos_array_get_size(ah, DAOS_TX_NONE, &size, NULL), -DER_NO_HDL);
}

static void test_events(void)
{
	daos_handle_t eq, stale;
	daos_event_t  ev, parent, child, grandchild, *out[2];
	bool          flag;

	ct_step("events: NULL, stale queues, nesting");
	CHECK_RC(daos_eq_create(NULL), -DER_INVAL);
	/* DAOS answers a bad event queue handle with -DER_NONEXIST; daos-rs may say NO_HDL */
	CHECK_RC2(daos_eq_destroy(DAOS_HDL_INVAL, 0), -DER_NO_HDL, -DER_NONEXIST);
	CHECK_OK(daos_eq_create(&eq));
	CHECK_RC(daos_eq_poll(eq, 0, DAOS_EQ_NOWAIT, 0, out), -DER_INVAL);
	CHECK_RC(daos_eq_poll(eq, 0, DAOS_EQ_NOWAIT, 2, NULL), -DER_INVAL);
	/* no array: the count only (nothing in flight) */
	CHECK_RC(daos_eq_query(eq, DAOS_EQR_ALL, 2, NULL), 0);
	CHECK_RC(daos_event_init(NULL, eq, NULL), -DER_INVAL);
	CHECK_RC(daos_event_test(NULL, DAOS_EQ_NOWAIT, &flag), -DER_INVAL);
	CHECK_RC(daos_event_fini(NULL), -DER_INVAL);
	CHECK_RC(daos_event_parent_barrier(NULL), -DER_INVAL);
	CHECK_OK(daos_event_init(&parent, eq, NULL));
	CHECK_RC(daos_event_parent_barrier(&parent), -DER_INVAL); /* no children */
	CHECK_OK(daos_event_fini(&parent));
	CHECK_RC(daos_event_abort(NULL), -DER_INVAL);
	CHECK_OK(daos_event_init(&ev, eq, NULL));
	CHECK_RC(daos_event_test(&ev, DAOS_EQ_NOWAIT, NULL), -DER_INVAL);
	CHECK_OK(daos_event_fini(&ev));
	/* no nesting */
	CHECK_OK(daos_event_init(&parent, eq, NULL));
	CHECK_OK(daos_event_init(&child, eq, &parent));
	CHECK_RC(daos_event_init(&grandchild, eq, &child), -DER_NO_PERM);
	CHECK_RC(daos_event_test(&child, DAOS_EQ_NOWAIT, &flag), -DER_NO_PERM);
	CHECK_OK(daos_event_fini(&child));
	CHECK_OK(daos_event_fini(&parent));
	/* a destroyed queue is a stale handle */
	CHECK_OK(daos_eq_create(&stale));
	CHECK_OK(daos_eq_destroy(stale, 0));
	CHECK_RC2(daos_eq_destroy(stale, 0), -DER_NO_HDL, -DER_NONEXIST);
	CHECK_RC2(daos_eq_poll(stale, 0, DAOS_EQ_NOWAIT, 1, out), -DER_NO_HDL, -DER_NONEXIST);
	CHECK_RC2(daos_eq_query(stale, DAOS_EQR_ALL, 0, NULL), -DER_NO_HDL, -DER_NONEXIST);
	CHECK_RC2(daos_event_init(&ev, stale, NULL), -DER_NO_HDL, -DER_NONEXIST);
	CHECK_OK(daos_eq_destroy(eq, 0));
}

static void test_dfs(daos_handle_t poh, daos_handle_t coh_plain)
{
	dfs_t             *dfs, *ro, *tmp;
	dfs_obj_t         *f, *obj, *junk;
	daos_handle_t      coh;
	struct stat        st;
	d_iov_t            iov, glob;
	d_sg_list_t        sgl;
	daos_size_t        rs, size;
	daos_anchor_t      anchor;
	uint32_t           nr;
	struct dirent      ents[2];
	dfs_attr_t         attr;
	dfs_iod_t          diod;
	char               name[300], *path, buf[64], dirname[128];
	int                rc;
	unsigned char      garbage[64];
	struct duns_attr_t dattr;

	ct_step("dfs: connect and mount with bad arguments");
	CHECK_DFS(dfs_init());
	CHECK_ERRNO(dfs_connect(NULL, NULL, cont_label, O_RDWR, NULL, &dfs), EINVAL);
	CHECK_ERRNO(dfs_connect(pool_label, NULL, NULL, O_RDWR, NULL, &dfs), EINVAL);
	CHECK_ERRNO(dfs_connect(pool_label, NULL, cont_label, O_RDWR, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_connect("ctest_no_such_pool", NULL, cont_label, O_RDWR, NULL, &dfs), ENOENT);
	CHECK_ERRNO(dfs_connect(pool_label, NULL, "ctest_no_such_cont", O_RDWR, NULL, &dfs), ENOENT);
	CHECK_ERRNO(dfs_disconnect(NULL), EINVAL);
	CHECK_OK(daos_cont_open(poh, cont_label, DAOS_COO_RW, &coh, NULL, NULL));
	CHECK_ERRNO(dfs_mount(poh, coh, O_RDWR, NULL), EINVAL);
	CHECK_ERRNO(dfs_mount(DAOS_HDL_INVAL, coh, O_RDWR, &tmp), EINVAL);
	CHECK_ERRNO(dfs_mount(poh, DAOS_HDL_INVAL, O_RDWR, &tmp), EINVAL);
	/* a container without the POSIX layout cannot be mounted */
	CHECK_ERRNO(dfs_mount(poh, coh_plain, O_RDWR, &tmp), EINVAL);
	CHECK_ERRNO(dfs_umount(NULL), EINVAL);
	CHECK_DFS(dfs_mount(poh, coh, O_RDWR, &dfs));
	snprintf(dirname, sizeof(dirname), "bad_%s", ct_tag());
	CHECK_DFS(dfs_mkdir(dfs, NULL, dirname, 0755, 0));
	CHECK_DFS(dfs_lookup(dfs, "/", O_RDWR, &obj, NULL, NULL));
	CHECK_DFS(dfs_release(obj));

	ct_step("dfs: lookup, open, names");
	CHECK_ERRNO(dfs_lookup(NULL, "/", O_RDWR, &junk, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_lookup(dfs, NULL, O_RDWR, &junk, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_lookup(dfs, "/", O_RDWR, NULL, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_lookup(dfs, "", O_RDWR, &junk, NULL, NULL), EINVAL);
	path = malloc(PATH_MAX + 10);
	CHECK(path != NULL);
	memset(path, 'p', PATH_MAX + 9);
	path[0]            = '/';
	path[PATH_MAX + 9] = '\0';
	CHECK_ERRNO(dfs_lookup(dfs, path, O_RDWR, &junk, NULL, NULL), EINVAL);
	free(path);
	CHECK_ERRNO(dfs_open(dfs, NULL, NULL, S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f),
		    EINVAL);
	CHECK_ERRNO(dfs_open(dfs, NULL, "", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f),
		    EINVAL);
	CHECK_ERRNO(dfs_open(dfs, NULL, "a/b", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f),
		    EINVAL);
	memset(name, 'n', sizeof(name));
	name[DFS_MAX_NAME + 1] = '\0'; /* 256 characters */
	CHECK_ERRNO(dfs_open(dfs, NULL, name, S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f),
		    EINVAL);
	CHECK_ERRNO(dfs_mkdir(dfs, NULL, name, 0755, 0), EINVAL);
	CHECK_ERRNO(dfs_open(dfs, NULL, dirname, S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, NULL),
		    EINVAL);
	CHECK_DFS(dfs_lookup(dfs, "/", O_RDWR, &obj, NULL, NULL));
	CHECK_DFS(dfs_release(obj));
	snprintf(name, sizeof(name), "/%s", dirname);
	CHECK_DFS(dfs_lookup(dfs, name, O_RDWR, &obj, NULL, NULL));
	CHECK_ERRNO(dfs_open(dfs, obj, "missing", S_IFREG | 0644, O_RDWR, 0, 0, NULL, &junk),
		    ENOENT);
	CHECK_DFS(dfs_open(dfs, obj, "file", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL, &f));

	ct_step("dfs: I/O, stat, directory calls with missing arguments");
	CHECK_ERRNO(dfs_read(dfs, f, NULL, 0, &rs, NULL), EINVAL);
	d_iov_set(&iov, buf, sizeof(buf));
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	CHECK_ERRNO(dfs_read(dfs, f, &sgl, 0, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_read(dfs, NULL, &sgl, 0, &rs, NULL), EINVAL);
	/* DAOS treats a NULL sgl as an empty write */
	rc = dfs_write(dfs, f, NULL, 0, NULL);
	CHECKF(rc == 0 || rc == EINVAL, "dfs_write(NULL sgl) returned %d", rc);
	CHECK_ERRNO(dfs_write(NULL, f, &sgl, 0, NULL), EINVAL);
	CHECK_ERRNO(dfs_readx(dfs, f, NULL, &sgl, &rs, NULL), EINVAL);
	CHECK_ERRNO(dfs_writex(dfs, f, NULL, &sgl, NULL), EINVAL);
	diod.iod_nr  = 1;
	diod.iod_rgs = NULL;
	CHECK_ERRNO(dfs_writex(dfs, f, &diod, &sgl, NULL), EINVAL);
	/* zero lengths: legal, nothing happens */
	d_iov_set(&iov, buf, 0);
	CHECK_DFS(dfs_write(dfs, f, &sgl, 0, NULL));
	rs = 99;
	CHECK_DFS(dfs_read(dfs, f, &sgl, 0, &rs, NULL));
	CHECK(rs == 0);
	sgl.sg_nr = 0;
	CHECK_DFS(dfs_write(dfs, f, &sgl, 0, NULL));
	sgl.sg_nr = 1;
	CHECK_DFS(dfs_get_size(dfs, f, &size));
	CHECK(size == 0);
	CHECK_ERRNO(dfs_get_size(dfs, f, NULL), EINVAL);
	CHECK_ERRNO(dfs_get_size(dfs, NULL, &size), EINVAL);
	CHECK_ERRNO(dfs_punch(dfs, NULL, 0, DFS_MAX_FSIZE), EINVAL);
	CHECK_ERRNO(dfs_stat(dfs, obj, "missing", &st), ENOENT);
	CHECK_ERRNO(dfs_stat(dfs, obj, "file", NULL), EINVAL);
	CHECK_ERRNO(dfs_ostat(dfs, NULL, &st), EINVAL);
	CHECK_ERRNO(dfs_ostat(dfs, f, NULL), EINVAL);
	CHECK_ERRNO(dfs_mkdir(dfs, obj, NULL, 0755, 0), EINVAL);
	CHECK_ERRNO(dfs_mkdir(dfs, obj, "file", 0755, 0), EEXIST);
	CHECK_ERRNO(dfs_remove(dfs, obj, NULL, false, NULL), EINVAL);
	CHECK_ERRNO(dfs_remove(dfs, obj, "missing", false, NULL), ENOENT);
	CHECK_ERRNO(dfs_move(dfs, obj, NULL, obj, "x", NULL), EINVAL);
	CHECK_ERRNO(dfs_move(dfs, obj, "file", obj, NULL, NULL), EINVAL);
	CHECK_ERRNO(dfs_move(dfs, obj, "missing", obj, "x", NULL), ENOENT);
	memset(&anchor, 0, sizeof(anchor));
	nr = 2;
	CHECK_ERRNO(dfs_readdir(dfs, obj, &anchor, NULL, ents), EINVAL);
	CHECK_ERRNO(dfs_readdir(dfs, obj, NULL, &nr, ents), EINVAL);
	CHECK_ERRNO(dfs_readdir(dfs, obj, &anchor, &nr, NULL), EINVAL);
	/* readdir of a file */
	CHECK_ERRNO(dfs_readdir(dfs, f, &anchor, &nr, ents), ENOTDIR);
	CHECK_ERRNO(dfs_query(dfs, NULL), EINVAL);
	CHECK_ERRNO(dfs_query(NULL, &attr), EINVAL);
	CHECK_ERRNO(dfs_sync(NULL), EINVAL);
	CHECK_ERRNO(dfs_release(NULL), EINVAL);

	ct_step("dfs: broken global handles");
	CHECK_ERRNO(dfs_local2global(dfs, NULL), EINVAL);
	CHECK_ERRNO(dfs_local2global(NULL, &glob), EINVAL);
	CHECK_ERRNO(dfs_obj_local2global(dfs, NULL, &glob), EINVAL);
	CHECK_ERRNO(dfs_obj_local2global(dfs, f, NULL), EINVAL);
	memset(garbage, 0x3C, sizeof(garbage));
	d_iov_set(&glob, garbage, sizeof(garbage));
	CHECK_ERRNO(dfs_global2local(poh, coh, 0, glob, &tmp), EINVAL);
	CHECK_ERRNO(dfs_obj_global2local(dfs, 0, glob, &junk), EINVAL);
	memset(&glob, 0, sizeof(glob));
	CHECK_ERRNO(dfs_global2local(poh, coh, 0, glob, &tmp), EINVAL);
	CHECK_ERRNO(dfs_obj_global2local(dfs, 0, glob, &junk), EINVAL);

	ct_step("dfs: read-only mount refuses changes");
	CHECK_DFS(dfs_mount(poh, coh, O_RDONLY, &ro));
	CHECK_ERRNO(dfs_mkdir(ro, NULL, "ro_dir", 0755, 0), EPERM);
	CHECK_ERRNO(dfs_open(ro, NULL, "ro_file", S_IFREG | 0644, O_CREAT | O_RDWR, 0, 0, NULL,
			     &junk),
		    EPERM);
	CHECK_ERRNO(dfs_sync(ro), EPERM);
	CHECK_DFS(dfs_umount(ro));

	CHECK_DFS(dfs_release(f));
	CHECK_DFS(dfs_release(obj));
	CHECK_DFS(dfs_remove(dfs, NULL, dirname, true, NULL));
	CHECK_DFS(dfs_umount(dfs));
	CHECK_OK(daos_cont_close(coh, NULL));

	ct_step("duns: NULL and malformed paths");
	memset(&dattr, 0, sizeof(dattr));
	CHECK_ERRNO(duns_resolve_path(NULL, &dattr), EINVAL);
	CHECK_ERRNO(duns_resolve_path("daos://ctest/posix", NULL), EINVAL);
	CHECK_ERRNO(duns_resolve_path("daos://", &dattr), EINVAL);
	CHECK_ERRNO(duns_resolve_path("daos://pool_only", &dattr), EINVAL);
	CHECK_ERRNO(duns_resolve_path("/nonexistent_ctest_dir/x/y", &dattr), ENOENT);
	duns_destroy_attr(NULL);
	CHECK_DFS(dfs_fini());
}

int main(void)
{
	daos_handle_t poh, coh, h;
	char          label[160];

	pool_label = ct_env("DAOS_POOL", "ctest");
	cont_label = ct_env("DAOS_CONT", "posix");

	test_uninit();
	CHECK_OK(daos_init());
	test_misc();
	test_pool(&poh);
	snprintf(label, sizeof(label), "bad_%s", ct_tag());
	test_cont(poh, label, &coh);
	test_obj(poh, coh);
	test_kv_array(coh);
	test_events();
	test_dfs(poh, coh);

	ct_step("double close and use after close of container and pool handles");
	CHECK_RC(daos_pool_disconnect(poh, NULL), -DER_BUSY);
	CHECK_OK(daos_cont_close(coh, NULL));
	CHECK_RC(daos_cont_close(coh, NULL), -DER_NO_HDL);
	CHECK_RC(daos_cont_query(coh, NULL, NULL, NULL), -DER_NO_HDL);
	{
		daos_obj_id_t oid = {.lo = 1, .hi = 0};

		CHECK_RC(daos_obj_open(coh, oid, DAOS_OO_RW, &h, NULL), -DER_NO_HDL);
		CHECK_RC(daos_obj_generate_oid(coh, &oid, DAOS_OT_MULTI_HASHED, OC_SX, 0, 0),
			 -DER_NO_HDL);
	}
	CHECK_OK(daos_cont_destroy(poh, label, 0, NULL));
	CHECK_OK(daos_pool_disconnect(poh, NULL));
	CHECK_RC(daos_pool_disconnect(poh, NULL), -DER_NO_HDL);
	CHECK_RC(daos_pool_query(poh, NULL, NULL, NULL, NULL), -DER_NO_HDL);
	CHECK_RC(daos_cont_open(poh, cont_label, DAOS_COO_RW, &h, NULL, NULL), -DER_NO_HDL);

	ct_step("the library still works");
	CHECK_OK(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, NULL));
	CHECK_OK(daos_cont_open(poh, cont_label, DAOS_COO_RW, &coh, NULL, NULL));
	CHECK_OK(daos_cont_close(coh, NULL));
	CHECK_OK(daos_pool_disconnect(poh, NULL));
	CHECK_OK(daos_fini());
	CHECK_RC(daos_fini(), -DER_UNINIT);
	CHECK_RC(daos_pool_connect(pool_label, NULL, DAOS_PC_RW, &poh, NULL, NULL), -DER_UNINIT);
	printf("bad_input: all checks passed\n");
	return 0;
}

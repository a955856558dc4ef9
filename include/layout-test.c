/*
 * layout-test.c -- checks that the headers in this directory have DAOS API 2.8's
 * ABI: struct sizes and field offsets (x86_64), enumerator and macro values, and
 * the behaviour of the inline helpers.  Compile as C and as C++ and run:
 *
 *   gcc -std=c11 -Wall -Wextra -Werror -I include include/layout-test.c -o /tmp/lt && /tmp/lt
 *   g++ -std=c++17 -Wall -Wextra -Werror -I include -x c++ include/layout-test.c -o /tmp/ltxx && /tmp/ltxx
 *
 * It only uses inline functions and macros, so it needs no library.
 */
#include <daos.h>
#include <daos_task.h>
#include <daos_fs.h>
#include <daos_uns.h>
#include <daos/tse.h>
#include <daos/common.h>
#include <gurt/common.h>
#include <gurt/hash.h>
#include <gurt/list.h>
#include <gurt/debug.h>
#include <cart/types.h>

#include <stddef.h>
#include <stdio.h>

#if defined(__cplusplus)
#define STATIC_CHECK(cond) static_assert(cond, #cond)
#else
#define STATIC_CHECK(cond) _Static_assert(cond, #cond)
#endif

#define SIZE(type, n)         STATIC_CHECK(sizeof(type) == (n))
#define OFF(type, field, n)   STATIC_CHECK(offsetof(type, field) == (n))

/* ---- buffers, handles, ids ---- */
SIZE(d_iov_t, 24);
OFF(d_iov_t, iov_buf, 0);
OFF(d_iov_t, iov_buf_len, 8);
OFF(d_iov_t, iov_len, 16);
SIZE(d_sg_list_t, 16);
OFF(d_sg_list_t, sg_nr, 0);
OFF(d_sg_list_t, sg_nr_out, 4);
OFF(d_sg_list_t, sg_iovs, 8);
SIZE(d_rank_list_t, 16);
OFF(d_rank_list_t, rl_ranks, 0);
OFF(d_rank_list_t, rl_nr, 8);
SIZE(daos_handle_t, 8);
SIZE(daos_obj_id_t, 16);
OFF(daos_obj_id_t, lo, 0);
OFF(daos_obj_id_t, hi, 8);
SIZE(daos_anchor_t, 120);
OFF(daos_anchor_t, da_type, 0);
OFF(daos_anchor_t, da_shard, 2);
OFF(daos_anchor_t, da_flags, 4);
OFF(daos_anchor_t, da_sub_anchors, 8);
OFF(daos_anchor_t, da_buf, 16);
SIZE(daos_epoch_range_t, 16);
SIZE(daos_cont_info_t, 48);
OFF(daos_cont_info_t, ci_lsnapshot, 16);
OFF(daos_cont_info_t, ci_nhandles, 24);
OFF(daos_cont_info_t, ci_md_otime, 32);
OFF(daos_cont_info_t, ci_md_mtime, 40);

/* ---- events ---- */
SIZE(daos_event_t, 176);
OFF(daos_event_t, ev_error, 0);
OFF(daos_event_t, ev_private, 8);
OFF(daos_event_t, ev_debug, 168);

/* ---- object I/O ---- */
SIZE(daos_recx_t, 16);
SIZE(daos_iod_t, 64);
OFF(daos_iod_t, iod_name, 0);
OFF(daos_iod_t, iod_type, 24);
OFF(daos_iod_t, iod_size, 32);
OFF(daos_iod_t, iod_flags, 40);
OFF(daos_iod_t, iod_nr, 48);
OFF(daos_iod_t, iod_recxs, 56);
SIZE(daos_key_desc_t, 16);
OFF(daos_key_desc_t, kd_val_type, 8);
SIZE(daos_iom_t, 64);
OFF(daos_iom_t, iom_size, 16);
OFF(daos_iom_t, iom_recx_lo, 24);
OFF(daos_iom_t, iom_recx_hi, 40);
OFF(daos_iom_t, iom_recxs, 56);
SIZE(daos_range_t, 16);
SIZE(daos_array_iod_t, 32);
SIZE(daos_array_stbuf_t, 16);

/* ---- properties, pools ---- */
SIZE(struct daos_prop_entry, 16);
OFF(struct daos_prop_entry, dpe_type, 0);
OFF(struct daos_prop_entry, dpe_flags, 4);
OFF(struct daos_prop_entry, dpe_val, 8);
OFF(struct daos_prop_entry, dpe_str, 8);
OFF(struct daos_prop_entry, dpe_val_ptr, 8);
SIZE(daos_prop_t, 16);
OFF(daos_prop_t, dpp_entries, 8);
SIZE(struct daos_prop_co_roots, 64);
SIZE(struct daos_space, 32);
SIZE(struct daos_pool_space, 88);
SIZE(struct daos_rebuild_status, 56);
SIZE(daos_pool_info_t, 192);
OFF(daos_pool_info_t, pi_ntargets, 16);
OFF(daos_pool_info_t, pi_leader, 32);
OFF(daos_pool_info_t, pi_bits, 40);
OFF(daos_pool_info_t, pi_space, 48);
OFF(daos_pool_info_t, pi_rebuild_st, 136);
SIZE(struct daos_oclass_attr, 24);

/* ---- DFS, UNS ---- */
SIZE(dfs_attr_t, 176);
OFF(dfs_attr_t, da_chunk_size, 8);
OFF(dfs_attr_t, da_oclass_id, 16);
OFF(dfs_attr_t, da_props, 24);
OFF(dfs_attr_t, da_mode, 32);
OFF(dfs_attr_t, da_dir_oclass_id, 36);
OFF(dfs_attr_t, da_file_oclass_id, 40);
OFF(dfs_attr_t, da_hints, 44);
SIZE(dfs_iod_t, 16);
SIZE(dfs_obj_info_t, 40);
OFF(dfs_obj_info_t, doi_chunk_size, 8);
OFF(dfs_obj_info_t, doi_dir_oclass_id, 16);
OFF(dfs_obj_info_t, doi_file_oclass_id, 20);
OFF(dfs_obj_info_t, doi_oid, 24);
SIZE(struct duns_attr_t, 480);
OFF(struct duns_attr_t, da_type, 0);
OFF(struct duns_attr_t, da_oclass_id, 4);
OFF(struct duns_attr_t, da_chunk_size, 8);
OFF(struct duns_attr_t, da_props, 16);
OFF(struct duns_attr_t, da_flags, 24);
OFF(struct duns_attr_t, da_pool, 28);
OFF(struct duns_attr_t, da_cont, 156);
OFF(struct duns_attr_t, da_sys, 288);
OFF(struct duns_attr_t, da_rel_path, 296);
OFF(struct duns_attr_t, da_on_lustre, 304);
OFF(struct duns_attr_t, da_no_prefix, 305);
OFF(struct duns_attr_t, da_puuid, 306);
OFF(struct duns_attr_t, da_cuuid, 322);
OFF(struct duns_attr_t, da_dir_oclass_id, 340);
OFF(struct duns_attr_t, da_file_oclass_id, 344);
OFF(struct duns_attr_t, da_hints, 348);

/* ---- task arguments and TSE ---- */
SIZE(daos_pool_connect_t, 56);
OFF(daos_pool_connect_t, grp, 16);
OFF(daos_pool_connect_t, flags, 24);
OFF(daos_pool_connect_t, poh, 32);
OFF(daos_pool_connect_t, info, 40);
OFF(daos_pool_connect_t, pool, 48);
SIZE(daos_pool_disconnect_t, 8);
SIZE(daos_cont_create_t, 40);
OFF(daos_cont_create_t, uuid, 8);
OFF(daos_cont_create_t, prop, 24);
OFF(daos_cont_create_t, cuuid, 32);
SIZE(daos_cont_open_t, 56);
OFF(daos_cont_open_t, uuid, 8);
OFF(daos_cont_open_t, flags, 24);
OFF(daos_cont_open_t, coh, 32);
OFF(daos_cont_open_t, info, 40);
OFF(daos_cont_open_t, cont, 48);
SIZE(daos_cont_destroy_t, 40);
OFF(daos_cont_destroy_t, force, 24);
OFF(daos_cont_destroy_t, cont, 32);
SIZE(daos_cont_query_t, 24);
SIZE(daos_cont_alloc_oids_t, 24);
SIZE(daos_obj_open_t, 40);
OFF(daos_obj_open_t, oid, 8);
OFF(daos_obj_open_t, mode, 24);
OFF(daos_obj_open_t, oh, 32);
SIZE(daos_obj_rw_t, 80);
OFF(daos_obj_rw_t, flags, 16);
OFF(daos_obj_rw_t, dkey, 24);
OFF(daos_obj_rw_t, nr, 32);
OFF(daos_obj_rw_t, extra_flags, 36);
OFF(daos_obj_rw_t, iods, 40);
OFF(daos_obj_rw_t, sgls, 48);
OFF(daos_obj_rw_t, ioms, 56);
OFF(daos_obj_rw_t, csum_iov, 72);
SIZE(daos_obj_punch_t, 48);
OFF(daos_obj_punch_t, akeys, 24);
OFF(daos_obj_punch_t, flags, 32);
OFF(daos_obj_punch_t, akey_nr, 40);
SIZE(daos_obj_list_t, 136);
OFF(daos_obj_list_t, nr, 32);
OFF(daos_obj_list_t, kds, 40);
OFF(daos_obj_list_t, sgl, 48);
OFF(daos_obj_list_t, type, 64);
OFF(daos_obj_list_t, anchor, 88);
OFF(daos_obj_list_t, dkey_anchor, 96);
OFF(daos_obj_list_t, akey_anchor, 104);
OFF(daos_obj_list_t, incr_order, 128);
SIZE(daos_tx_open_t, 24);
SIZE(daos_tx_commit_t, 16);
SIZE(daos_tx_abort_t, 8);
SIZE(tse_task_t, 1024);
OFF(tse_task_t, dt_result, 0);
OFF(tse_task_t, dt_private, 8);
SIZE(tse_sched_t, 400);
OFF(tse_sched_t, ds_result, 0);
OFF(tse_sched_t, ds_udata, 8);
OFF(tse_sched_t, ds_private, 16);

/* ---- gurt ---- */
SIZE(d_list_t, 16);
SIZE(struct d_hash_table, 96);
OFF(d_hash_table_ops_t, hop_key_cmp, 0);
OFF(d_hash_table_ops_t, hop_key_init, 8);
OFF(d_hash_table_ops_t, hop_key_hash, 16);
OFF(d_hash_table_ops_t, hop_rec_hash, 24);
OFF(d_hash_table_ops_t, hop_rec_addref, 32);
OFF(d_hash_table_ops_t, hop_rec_decref, 40);
OFF(d_hash_table_ops_t, hop_rec_ndecref, 48);
OFF(d_hash_table_ops_t, hop_rec_free, 56);
STATIC_CHECK(D_HASH_FT_NOLOCK == 1 && D_HASH_FT_MUTEX == 2 && D_HASH_FT_RWLOCK == 4);
STATIC_CHECK(D_HASH_FT_EPHEMERAL == 8 && D_HASH_FT_LRU == 16 && D_HASH_FT_GLOCK == 32768);

/* ---- versions ---- */
STATIC_CHECK(DAOS_API_VERSION_MAJOR == 2 && DAOS_API_VERSION_MINOR == 8 && DAOS_API_VERSION_FIX == 0);

/* ---- error numbers ---- */
STATIC_CHECK(DER_SUCCESS == 0);
STATIC_CHECK(DER_ERR_GURT_BASE == 1000 && DER_ERR_DAOS_BASE == 2000);
STATIC_CHECK(DER_NO_PERM == 1001);
STATIC_CHECK(DER_NONEXIST == 1005);
STATIC_CHECK(DER_TRUNC == 1016);
STATIC_CHECK(DER_EXCLUDED == 1032 && DER_EVICTED == DER_EXCLUDED);
STATIC_CHECK(DER_QUOTA_LIMIT == 1046);
STATIC_CHECK(DER_IO == 2001);
STATIC_CHECK(DER_KEY2BIG == 2012 && DER_REC2BIG == 2013);
STATIC_CHECK(DER_NOTSUPPORTED == 2037);
STATIC_CHECK(DER_IGNORE == 2052);
STATIC_CHECK(DER_UNKNOWN == 501000);

/* ---- object classes, types, flags ---- */
STATIC_CHECK(OC_UNKNOWN == 0 && OR_RP_1 == 1 && OR_RP_2 == 8 && OR_RP_128 == 20);
STATIC_CHECK(OR_RS_2P1 == 32 && OR_RS_16P3 == 42);
STATIC_CHECK(OC_BACK_COMPAT == 50 && OC_TINY == 51 && OC_MAX == 54);
STATIC_CHECK(OC_RP_TINY == 60 && OC_RP_SF_TINY == 70 && OC_RP_XSF == 80 && OC_EC_TINY == 100);
STATIC_CHECK(OC_S1 == 0x01000001);
STATIC_CHECK(OC_S2 == 0x01000002);
STATIC_CHECK(OC_SX == 0x0100FFFF);
STATIC_CHECK(OC_RP_2G1 == 0x08000001);
STATIC_CHECK(OC_RP_2GX == 0x0800FFFF);
STATIC_CHECK(OC_RP_3G1 == 0x09000001);
STATIC_CHECK(OC_EC_2P1G1 == 0x20000001);
STATIC_CHECK(OC_EC_2P1GX == 0x2000FFFF);
STATIC_CHECK(OC_EC_4P2G1 == 0x23000001);
STATIC_CHECK(OC_EC_16P3GX == 0x2A00FFFF);
STATIC_CHECK(OC_RESERVED == (1 << 30));
STATIC_CHECK(MAX_OBJ_CLASS_NAME_LEN == 24 && OC_REDUN_SHIFT == 24);
STATIC_CHECK(OID_FMT_TYPE_SHIFT == 56 && OID_FMT_CLASS_SHIFT == 48 && OID_FMT_META_SHIFT == 32);
STATIC_CHECK(DAOS_OT_MULTI_HASHED == 0 && DAOS_OT_KV_HASHED == 8 && DAOS_OT_ARRAY == 11);
STATIC_CHECK(DAOS_OT_ARRAY_BYTE == 13 && DAOS_OT_MAX == 14);
STATIC_CHECK(DAOS_COND_PUNCH == 1 && DAOS_COND_DKEY_INSERT == 2 && DAOS_COND_DKEY_UPDATE == 4);
STATIC_CHECK(DAOS_COND_DKEY_FETCH == 8 && DAOS_COND_AKEY_INSERT == 16);
STATIC_CHECK(DAOS_COND_AKEY_UPDATE == 32 && DAOS_COND_AKEY_FETCH == 64 && DAOS_COND_PER_AKEY == 128);
STATIC_CHECK(DAOS_COND_KEY_INSERT == 2 && DAOS_COND_KEY_UPDATE == 4);
STATIC_CHECK(DAOS_COND_KEY_GET == 8 && DAOS_COND_KEY_REMOVE == 1);
STATIC_CHECK(DAOS_OO_RO == 2 && DAOS_OO_RW == 4 && DAOS_OO_EXCL == 8);
STATIC_CHECK(DAOS_OO_IO_RAND == 16 && DAOS_OO_IO_SEQ == 32);
STATIC_CHECK(DAOS_IOD_NONE == 0 && DAOS_IOD_SINGLE == 1 && DAOS_IOD_ARRAY == 2 && DAOS_REC_ANY == 0);
STATIC_CHECK(DAOS_OCH_RDD_DEF == 1 && DAOS_OCH_SHD_DEF == 16 && DAOS_OCH_SHD_MAX == 512);
STATIC_CHECK(DAOS_PC_RO == 1 && DAOS_PC_RW == 2 && DAOS_PC_EX == 4);
STATIC_CHECK(DAOS_COO_RO == 1 && DAOS_COO_RW == 2 && DAOS_COO_EX == 4 && DAOS_COO_FORCE == 8);
STATIC_CHECK(DAOS_COO_RO_MDSTATS == 16 && DAOS_COO_EVICT == 32 && DAOS_COO_EVICT_ALL == 64);
STATIC_CHECK(DAOS_COO_NEW_LAYOUT == 128);
STATIC_CHECK(DAOS_TF_RDONLY == 1 && DAOS_TF_ZERO_COPY == 2);
STATIC_CHECK(DAOS_SNAP_OPT_CR == 1 && DAOS_SNAP_OPT_OIT == 2);
STATIC_CHECK(DAOS_EQ_WAIT == -1 && DAOS_EQ_NOWAIT == 0 && DAOS_EQ_DESTROY_FORCE == 1);
STATIC_CHECK(DAOS_EQR_COMPLETED == 1 && DAOS_EQR_WAITING == 2 && DAOS_EQR_ALL == 3);
STATIC_CHECK(DAOS_ANCHOR_TYPE_EOF == 3 && DAOS_ANCHOR_BUF_MAX == 104);
STATIC_CHECK(DAOS_SYS_NAME_MAX == 15 && DAOS_UUID_STR_SIZE == 37);

/* ---- pool info bits, media ---- */
STATIC_CHECK(DPI_SPACE == 1 && DPI_REBUILD_STATUS == 2 && DPI_ENGINES_ENABLED == 4);
STATIC_CHECK(DPI_ENGINES_DISABLED == 8 && DPI_ENGINES_DEAD == 16);
STATIC_CHECK(DPI_REBUILD_MAX_LAYOUT_VER == 32 && DPI_SELF_HEAL_POLICY == 64 && DPI_ALL == -1);
STATIC_CHECK(DAOS_MEDIA_SCM == 0 && DAOS_MEDIA_NVME == 1 && DAOS_MEDIA_MAX == 2);

/* ---- properties ---- */
STATIC_CHECK(DAOS_PROP_PO_LABEL == 1 && DAOS_PROP_PO_ACL == 2 && DAOS_PROP_PO_MAX == 28);
STATIC_CHECK(DAOS_PROP_CO_MIN == 0x1000);
STATIC_CHECK(DAOS_PROP_CO_LABEL == 4097 && DAOS_PROP_CO_LAYOUT_TYPE == 4098);
STATIC_CHECK(DAOS_PROP_CO_REDUN_FAC == 4103 && DAOS_PROP_CO_REDUN_LVL == 4104);
STATIC_CHECK(DAOS_PROP_CO_ACL == 4106 && DAOS_PROP_CO_OWNER == 4109);
STATIC_CHECK(DAOS_PROP_CO_ROOTS == 4113 && DAOS_PROP_CO_STATUS == 4114);
STATIC_CHECK(DAOS_PROP_CO_MAX == 4123);
STATIC_CHECK(DAOS_PROP_CO_LAYOUT_UNKNOWN == 0 && DAOS_PROP_CO_LAYOUT_UNKOWN == 0);
STATIC_CHECK(DAOS_PROP_CO_LAYOUT_POSIX == 1 && DAOS_PROP_CO_LAYOUT_HDF5 == 2);
STATIC_CHECK(DAOS_PROP_CO_LAYOUT_PYTHON == 3);
STATIC_CHECK(DAOS_PROP_ENTRY_NOT_SET == 1 && DAOS_PROP_ENTRIES_MAX_NR == 128);
STATIC_CHECK(DAOS_PROP_LABEL_MAX_LEN == 127 && DAOS_PROP_MAX_LABEL_BUF_LEN == 128);

/* ---- task opcodes ---- */
STATIC_CHECK(DAOS_OPC_INVALID == -1 && DAOS_OPC_MGMT_LIST_POOLS == 2);
STATIC_CHECK(DAOS_OPC_POOL_CONNECT == 5 && DAOS_OPC_POOL_LIST_CONT == 17);
STATIC_CHECK(DAOS_OPC_CONT_CREATE == 18 && DAOS_OPC_CONT_DESTROY_SNAP == 36);
STATIC_CHECK(DAOS_OPC_TX_OPEN == 37 && DAOS_OPC_TX_RESTART == 42);
STATIC_CHECK(DAOS_OPC_OBJ_QUERY_CLASS == 44 && DAOS_OPC_OBJ_FETCH == 54);
STATIC_CHECK(DAOS_OPC_OBJ_UPDATE == 55 && DAOS_OPC_OBJ_LIST_DKEY == 56);
STATIC_CHECK(DAOS_OPC_OBJ_LIST_AKEY == 57 && DAOS_OPC_OBJ_LIST_OBJ == 59);
STATIC_CHECK(DAOS_OPC_ARRAY_CREATE == 60 && DAOS_OPC_ARRAY_STAT == 69);
STATIC_CHECK(DAOS_OPC_KV_OPEN == 70 && DAOS_OPC_KV_LIST == 76);
STATIC_CHECK(DAOS_OPC_POOL_FILTER_CONT == 77 && DAOS_OPC_CONT_SNAP_OIT_DESTROY == 80);
STATIC_CHECK(DAOS_OPC_PIPELINE_RUN == 81 && DAOS_OPC_MAX == 82);

/* ---- DFS, UNS constants ---- */
STATIC_CHECK(DAOS_SUPER_MAGIC == 0xDA05AD10);
STATIC_CHECK(DFS_DEFAULT_CHUNK_SIZE == 1048576);
STATIC_CHECK(DFS_MAX_NAME == 255 && DFS_MAX_XATTR_NAME == 255 && DFS_MAX_XATTR_LEN == 65536);
STATIC_CHECK(DFS_MAX_FSIZE == ~0ULL);
STATIC_CHECK(DFS_BALANCED == 4 && DFS_RELAXED == 0);
STATIC_CHECK(DFS_SET_ATTR_MODE == 1 && DFS_SET_ATTR_GID == 32);
STATIC_CHECK(DFS_CHECK_PRINT == 1 && DFS_CHECK_EVICT_ALL == 16);
STATIC_CHECK(DAOS_CONT_HINT_MAX_LEN == 128);
STATIC_CHECK(DUNS_NO_PREFIX == 1 && DUNS_NO_REVERSE_LOOKUP == 2 && DUNS_NO_CHECK_PATH == 4);
STATIC_CHECK(DUNS_MAX_XATTR_LEN == 170);

static int failures;

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                         \
		}                                                                           \
	} while (0)

struct item {
	int      value;
	d_list_t link;
};

int
main(void)
{
	/* OID helpers on a hand-built ID: type ARRAY_BYTE, class SX, user bits 0x1234 / 42. */
	daos_obj_id_t oid;
	uint64_t      hi = ((uint64_t)DAOS_OT_ARRAY_BYTE << 56) | ((uint64_t)OR_RP_1 << 48) |
		      ((uint64_t)0xFFFF << 32) | 0x1234;

	oid.lo = 42;
	oid.hi = hi;
	CHECK(hi == 0x0D01FFFF00001234ULL);
	CHECK(daos_obj_id2type(oid) == DAOS_OT_ARRAY_BYTE);
	CHECK(daos_obj_id2ord(oid) == OR_RP_1);
	CHECK(daos_obj_id2grp_nr(oid) == 0xFFFF);
	CHECK(daos_obj_id2class(oid) == OC_SX);
	CHECK(daos_is_array(oid) && daos_is_dkey_uint64(oid));
	CHECK(!daos_is_kv(oid) && !daos_is_akey_uint64(oid) && !daos_is_dkey_lexical(oid));
	CHECK(!daos_obj_id_is_nil(oid));

	/* EC 4+2, one group, KV type */
	oid.hi = ((uint64_t)DAOS_OT_KV_HASHED << 56) | ((uint64_t)OR_RS_4P2 << 48) | (1ULL << 32);
	CHECK(daos_obj_id2class(oid) == OC_EC_4P2G1);
	CHECK(daos_obj_id2type(oid) == DAOS_OT_KV_HASHED && daos_is_kv(oid));
	CHECK(daos_obj_id2grp_nr(oid) == 1);

	/* RP_3 over 16 groups, multi-lexical */
	oid.hi = ((uint64_t)DAOS_OT_MULTI_LEXICAL << 56) | ((uint64_t)OR_RP_3 << 48) | (16ULL << 32);
	CHECK(daos_obj_id2class(oid) == OC_RP_3G16);
	CHECK(daos_is_dkey_lexical(oid) && daos_is_akey_lexical(oid));

	oid.hi = 0;
	oid.lo = 0;
	CHECK(daos_obj_id_is_nil(oid));
	daos_obj_oid_cycle(&oid);
	CHECK(oid.hi != 0 && oid.hi <= 0xFFFFFFFFULL);

	/* iov */
	char    buf[16];
	d_iov_t iov;

	d_iov_set(&iov, buf, sizeof(buf));
	CHECK(iov.iov_buf == buf && iov.iov_buf_len == 16 && iov.iov_len == 16);

	/* anchors */
	daos_anchor_t anchor = DAOS_ANCHOR_INIT;

	CHECK(!daos_anchor_is_eof(&anchor));
	anchor.da_type = DAOS_ANCHOR_TYPE_EOF;
	CHECK(daos_anchor_is_eof(&anchor));
	daos_anchor_init(&anchor, 0);
	CHECK(!daos_anchor_is_eof(&anchor) && anchor.da_type == 0);
	daos_anchor_fini(&anchor);

	/* handles */
	daos_handle_t h = DAOS_HDL_INVAL;

	CHECK(daos_handle_is_inval(h) && !daos_handle_is_valid(h));
	h.cookie = 7;
	CHECK(daos_handle_is_valid(h));
	h = DAOS_TX_NONE;
	CHECK(daos_handle_is_inval(h));

	/* labels and UUID strings */
	CHECK(daos_label_is_valid("pool_1.a:b-c"));
	CHECK(!daos_label_is_valid(""));
	CHECK(!daos_label_is_valid("bad/label"));
	CHECK(!daos_label_is_valid("12345678-1234-1234-1234-123456789abc"));
	CHECK(daos_is_valid_uuid_string("12345678-1234-1234-1234-123456789abc"));
	CHECK(!daos_is_valid_uuid_string("12345678-1234-1234-1234-123456789ab"));
	CHECK(!daos_is_valid_uuid_string("12345678x1234-1234-1234-123456789abc"));

	daos_cont_layout_t layout;
	char               name[16];

	daos_parse_ctype("posix", &layout);
	CHECK(layout == DAOS_PROP_CO_LAYOUT_POSIX);
	daos_unparse_ctype(DAOS_PROP_CO_LAYOUT_PYTHON, name);
	CHECK(strcmp(name, "PYTHON") == 0);

	/* DER <-> errno */
	CHECK(daos_der2errno(0) == 0);
	CHECK(daos_der2errno(-DER_NONEXIST) == ENOENT);
	CHECK(daos_der2errno(-DER_NO_HDL) == EINVAL);
	CHECK(daos_der2errno(-DER_REC2BIG) == E2BIG);
	CHECK(daos_der2errno(-DER_CSUM) == EIO);
	CHECK(daos_der2errno(-DER_TX_RESTART) == ERESTART);
	CHECK(daos_errno2der(EBADF) == -DER_NO_HDL);
	CHECK(daos_errno2der(ENOTSUP) == -DER_NOTSUPPORTED);
	CHECK(daos_errno2der(12345) == -DER_MISC);

	/* the X-macros list 46 + 52 codes */
	static const char *const names[] = {D_FOREACH_GURT_ERR(D_DEFINE_ERRSTR)
						    D_FOREACH_DAOS_ERR(D_DEFINE_ERRSTR)};
	static const char *const descs[] = {D_FOREACH_GURT_ERR(D_DEFINE_ERRDESC)
						    D_FOREACH_DAOS_ERR(D_DEFINE_ERRDESC)};

	CHECK(sizeof(names) / sizeof(names[0]) == 98);
	CHECK(strcmp(names[4], "DER_NONEXIST") == 0);
	CHECK(strcmp(names[46], "DER_IO") == 0);
	CHECK(descs[97] != NULL && descs[97][0] != '\0');

	/* gurt allocation and list macros */
	struct item *it;
	struct item *tmp;
	int         *arr;
	int         *grown;
	char        *dup;
	D_LIST_HEAD(head);
	int          sum = 0;
	int          i;

	for (i = 1; i <= 3; i++) {
		D_ALLOC_PTR(it);
		CHECK(it != NULL && it->value == 0);
		if (it == NULL)
			return 1;
		it->value = i;
		d_list_add_tail(&it->link, &head);
	}
	d_list_for_each_entry(it, &head, link)
		sum += it->value;
	CHECK(sum == 6);
	d_list_for_each_entry_safe(it, tmp, &head, link) {
		d_list_del(&it->link);
		D_FREE(it);
		CHECK(it == NULL);
	}
	CHECK(d_list_empty(&head));

	D_ALLOC_ARRAY(arr, 4);
	CHECK(arr != NULL);
	if (arr == NULL)
		return 1;
	arr[3] = 9;
	D_REALLOC_ARRAY(grown, arr, 4, 8);
	CHECK(grown != NULL && arr == NULL && grown[3] == 9 && grown[7] == 0);
	D_FREE(grown);
	D_STRNDUP(dup, "abcdef", 3);
	CHECK(dup != NULL && strcmp(dup, "abc") == 0);
	D_FREE(dup);
	CHECK(container_of(&iov, d_iov_t, iov_buf) == &iov);
	D_DEBUG(DB_ANY, "quiet %d\n", 1);

	if (failures != 0) {
		fprintf(stderr, "layout-test: %d check(s) failed\n", failures);
		return 1;
	}
	printf("layout-test: all checks passed (%s)\n",
#if defined(__cplusplus)
	       "C++"
#else
	       "C"
#endif
	);
	return 0;
}

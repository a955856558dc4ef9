//! The C layouts of DAOS API 2.8 that cross this ABI (`daos_types.h`, `gurt/types.h`,
//! `daos_obj.h`, `daos_prop.h`, `daos_pool.h`, `daos_fs.h`, `daos_uns.h`). Field order,
//! types and sizes equal DAOS's; the size tests at the bottom pin them (the C side pins the
//! same figures in `include/layout-test.c`).
#![allow(non_camel_case_types, missing_docs)]

use std::ffi::{c_char, c_int, c_void};

/// `daos_handle_t`: a cookie, 0 = invalid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct daos_handle_t {
    pub cookie: u64,
}

/// `d_iov_t`: note `iov_buf_len` (capacity) comes before `iov_len` (bytes used).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct d_iov_t {
    pub iov_buf: *mut c_void,
    pub iov_buf_len: usize,
    pub iov_len: usize,
}

/// `d_sg_list_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct d_sg_list_t {
    pub sg_nr: u32,
    pub sg_nr_out: u32,
    pub sg_iovs: *mut d_iov_t,
}

/// `d_rank_list_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct d_rank_list_t {
    pub rl_ranks: *mut u32,
    pub rl_nr: u32,
}

/// `daos_obj_id_t`: `lo` first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct daos_obj_id_t {
    pub lo: u64,
    pub hi: u64,
}

/// `daos_recx_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_recx_t {
    pub rx_idx: u64,
    pub rx_nr: u64,
}

/// `daos_iod_type_t` values.
pub const DAOS_IOD_NONE: c_int = 0;
pub const DAOS_IOD_SINGLE: c_int = 1;
pub const DAOS_IOD_ARRAY: c_int = 2;

/// `daos_iod_t` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_iod_t {
    pub iod_name: d_iov_t,
    pub iod_type: c_int,
    pub iod_size: u64,
    pub iod_flags: u64,
    pub iod_nr: u32,
    pub iod_recxs: *mut daos_recx_t,
}

/// `daos_key_desc_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_key_desc_t {
    pub kd_key_len: u64,
    pub kd_val_type: u32,
}

/// `daos_iom_t` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_iom_t {
    pub iom_type: c_int,
    pub iom_nr: u32,
    pub iom_nr_out: u32,
    pub iom_flags: u32,
    pub iom_size: u64,
    pub iom_recx_lo: daos_recx_t,
    pub iom_recx_hi: daos_recx_t,
    pub iom_recxs: *mut daos_recx_t,
}

/// `DAOS_ANCHOR_TYPE_EOF`: what `daos_anchor_is_eof` (a header inline) tests for.
pub const DAOS_ANCHOR_TYPE_EOF: u16 = 3;
/// Our anchor type for "enumeration under way" (opaque to users).
pub const ANCHOR_TYPE_POSITION: u16 = 1;
/// Bytes of engine position an anchor carries.
pub const ANCHOR_BUF: usize = 104;

/// `daos_anchor_t` (120 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_anchor_t {
    pub da_type: u16,
    pub da_shard: u16,
    pub da_flags: u32,
    pub da_sub_anchors: u64,
    pub da_buf: [u8; ANCHOR_BUF],
}

/// `daos_event_t` (176 bytes): the library's state lives in `ev_private`.
#[repr(C)]
#[derive(Debug)]
pub struct daos_event_t {
    pub ev_error: c_int,
    pub ev_private: [u64; 20],
    pub ev_debug: u64,
}

/// `struct daos_prop_entry` (16 bytes; the value is a union of `dpe_val`, `dpe_str`,
/// `dpe_val_ptr`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_prop_entry {
    pub dpe_type: u32,
    pub dpe_flags: u16,
    pub dpe_reserv: u16,
    pub dpe_val: u64,
}

/// `DAOS_PROP_ENTRY_NOT_SET` (`dpe_flags`).
pub const DAOS_PROP_ENTRY_NOT_SET: u16 = 1;

/// `daos_prop_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct daos_prop_t {
    pub dpp_nr: u32,
    pub dpp_reserv: u32,
    pub dpp_entries: *mut daos_prop_entry,
}

/// `struct daos_prop_co_roots`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_prop_co_roots {
    pub cr_oids: [daos_obj_id_t; 4],
}

/// `struct daos_space`: index 0 = SCM (metadata), 1 = NVMe (data).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_space {
    pub s_total: [u64; 2],
    pub s_free: [u64; 2],
}

/// `struct daos_pool_space` (88 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_pool_space {
    pub ps_space: daos_space,
    pub ps_free_min: [u64; 2],
    pub ps_free_max: [u64; 2],
    pub ps_free_mean: [u64; 2],
    pub ps_ntargets: u32,
    pub ps_padding: u32,
}

/// `struct daos_rebuild_status` (56 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_rebuild_status {
    pub rs_version: i32,
    pub rs_seconds: i32,
    pub rs_errno: i32,
    pub rs_state: i32,
    pub rs_padding32: i32,
    pub rs_fail_rank: i32,
    pub rs_toberb_obj_nr: u64,
    pub rs_obj_nr: u64,
    pub rs_rec_nr: u64,
    pub rs_size: u64,
}

/// `DAOS_REBUILD_STATUS_COMPLETED` (`rs_state`).
pub const DAOS_REBUILD_STATUS_COMPLETED: i32 = 2;

/// `daos_pool_info_t` (192 bytes). `pi_bits` is in/out (`DPI_*`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_pool_info_t {
    pub pi_uuid: [u8; 16],
    pub pi_ntargets: u32,
    pub pi_nnodes: u32,
    pub pi_ndisabled: u32,
    pub pi_map_ver: u32,
    pub pi_leader: u32,
    pub pi_bits: u64,
    pub pi_space: daos_pool_space,
    pub pi_rebuild_st: daos_rebuild_status,
}

/// `DPI_SPACE`.
pub const DPI_SPACE: u64 = 1;
/// `DPI_REBUILD_STATUS`.
pub const DPI_REBUILD_STATUS: u64 = 2;

/// `daos_cont_info_t` (48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_cont_info_t {
    pub ci_uuid: [u8; 16],
    pub ci_lsnapshot: u64,
    pub ci_nhandles: u32,
    pub ci_nsnapshots: u32,
    pub ci_md_otime: u64,
    pub ci_md_mtime: u64,
}

/// `daos_range_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct daos_range_t {
    pub rg_idx: u64,
    pub rg_len: u64,
}

/// `dfs_iod_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dfs_iod_t {
    pub iod_nr: u64,
    pub iod_rgs: *mut daos_range_t,
}

/// `DAOS_CONT_HINT_MAX_LEN`.
pub const DAOS_CONT_HINT_MAX_LEN: usize = 128;

/// `dfs_attr_t` (176 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dfs_attr_t {
    pub da_id: u64,
    pub da_chunk_size: u64,
    pub da_oclass_id: u32,
    pub da_props: *mut daos_prop_t,
    pub da_mode: u32,
    pub da_dir_oclass_id: u32,
    pub da_file_oclass_id: u32,
    pub da_hints: [c_char; DAOS_CONT_HINT_MAX_LEN],
}

/// `dfs_obj_info_t` (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct dfs_obj_info_t {
    pub doi_oclass_id: u32,
    pub doi_chunk_size: u64,
    pub doi_dir_oclass_id: u32,
    pub doi_file_oclass_id: u32,
    pub doi_oid: daos_obj_id_t,
}

/// `DAOS_PROP_LABEL_MAX_LEN + 1`: the size of `da_pool` and `da_cont`.
pub const DUNS_NAME_BUF: usize = 128;

/// `struct duns_attr_t` (480 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct duns_attr_t {
    pub da_type: u16,
    pub da_oclass_id: u32,
    pub da_chunk_size: u64,
    pub da_props: *mut daos_prop_t,
    pub da_flags: u32,
    pub da_pool: [c_char; DUNS_NAME_BUF],
    pub da_cont: [c_char; DUNS_NAME_BUF],
    pub da_sys: *mut c_char,
    pub da_rel_path: *mut c_char,
    pub da_on_lustre: bool,
    pub da_no_prefix: bool,
    pub da_puuid: [u8; 16],
    pub da_cuuid: [u8; 16],
    pub da_dir_oclass_id: u32,
    pub da_file_oclass_id: u32,
    pub da_hints: [c_char; DAOS_CONT_HINT_MAX_LEN],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_daos() {
        assert_eq!(size_of::<daos_handle_t>(), 8);
        assert_eq!(size_of::<d_iov_t>(), 24);
        assert_eq!(offset_of!(d_iov_t, iov_buf_len), 8);
        assert_eq!(size_of::<d_sg_list_t>(), 16);
        assert_eq!(size_of::<d_rank_list_t>(), 16);
        assert_eq!(size_of::<daos_iod_t>(), 64);
        assert_eq!(offset_of!(daos_iod_t, iod_type), 24);
        assert_eq!(offset_of!(daos_iod_t, iod_size), 32);
        assert_eq!(offset_of!(daos_iod_t, iod_flags), 40);
        assert_eq!(offset_of!(daos_iod_t, iod_nr), 48);
        assert_eq!(offset_of!(daos_iod_t, iod_recxs), 56);
        assert_eq!(size_of::<daos_key_desc_t>(), 16);
        assert_eq!(size_of::<daos_iom_t>(), 64);
        assert_eq!(size_of::<daos_anchor_t>(), 120);
        assert_eq!(size_of::<daos_event_t>(), 176);
        assert_eq!(offset_of!(daos_event_t, ev_debug), 168);
        assert_eq!(size_of::<daos_prop_entry>(), 16);
        assert_eq!(size_of::<daos_prop_t>(), 16);
        assert_eq!(size_of::<daos_prop_co_roots>(), 64);
        assert_eq!(size_of::<daos_pool_space>(), 88);
        assert_eq!(size_of::<daos_pool_info_t>(), 192);
        assert_eq!(offset_of!(daos_pool_info_t, pi_bits), 40);
        assert_eq!(offset_of!(daos_pool_info_t, pi_space), 48);
        assert_eq!(size_of::<daos_cont_info_t>(), 48);
        assert_eq!(size_of::<dfs_attr_t>(), 176);
        assert_eq!(size_of::<dfs_iod_t>(), 16);
        assert_eq!(size_of::<daos_range_t>(), 16);
        assert_eq!(size_of::<dfs_obj_info_t>(), 40);
        assert_eq!(size_of::<duns_attr_t>(), 480);
        assert_eq!(offset_of!(duns_attr_t, da_oclass_id), 4);
        assert_eq!(offset_of!(duns_attr_t, da_props), 16);
        assert_eq!(offset_of!(duns_attr_t, da_flags), 24);
        assert_eq!(offset_of!(duns_attr_t, da_pool), 28);
        assert_eq!(offset_of!(duns_attr_t, da_cont), 156);
        assert_eq!(offset_of!(duns_attr_t, da_sys), 288);
        assert_eq!(offset_of!(duns_attr_t, da_rel_path), 296);
        assert_eq!(offset_of!(duns_attr_t, da_on_lustre), 304);
        assert_eq!(offset_of!(duns_attr_t, da_puuid), 306);
        assert_eq!(offset_of!(duns_attr_t, da_cuuid), 322);
        assert_eq!(offset_of!(duns_attr_t, da_dir_oclass_id), 340);
        assert_eq!(offset_of!(duns_attr_t, da_hints), 348);
    }
}

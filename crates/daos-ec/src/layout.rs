//! Where the records of an erasure-coded array live, as the client writes them and rebuild
//! recreates them (see `daos_client::ec` for the whole scheme).
//!
//! A group has `k + p` shards, positions `0..k` data and `k..k + p` parity. With `cell`
//! records per cell (the container's `ec_cell_sz`, in records as DAOS's
//! `obj_ec_cell_rec_nr`), record `x` of an array lies in stripe `x / (k·cell)`, cell
//! `(x mod k·cell) / cell`, offset `x mod cell`; every shard of the group keeps its cell of
//! stripe `s` at shard index `s·cell + offset`, the parity shards keeping parity there.
//! Beside each array akey, every shard keeps one-byte end marks in a companion akey named
//! [`end_akey`] (the highest record of each update), from which the array's size is read.

/// Suffix of the companion akey holding an array akey's end marks.
pub const END_MARK_SUFFIX: &[u8] = b"\0daos-rs.ec-end";

/// The companion akey of `akey` holding its end marks.
pub fn end_akey(akey: &[u8]) -> Vec<u8> {
    let mut name = akey.to_vec();
    name.extend_from_slice(END_MARK_SUFFIX);
    name
}

/// Whether `akey` is a companion akey of end marks.
pub fn is_end_akey(akey: &[u8]) -> bool {
    akey.ends_with(END_MARK_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_akeys_are_recognised() {
        assert!(is_end_akey(&end_akey(b"a")));
        assert!(!is_end_akey(b"a"));
        assert!(!is_end_akey(b""));
    }
}

//! Handle cookies (`daos_handle_t`): what a C program holds for an event queue, pool,
//! container, object, array or KV.
//!
//! A cookie is `(serial << 4) | type`, with DAOS's type codes in the low four bits
//! (`DAOS_HTYPE_EQ = 1, POOL = 3, CO = 5, OBJ = 7, ARRAY = 9, KV = 13`). Serials are never
//! reused, so a closed or foreign handle is `-DER_NO_HDL`, never someone else's object; cookies
//! stay below 2^63 because pydaos passes them through Python as signed integers.

use crate::event::EqState;
use crate::types::daos_handle_t;
use daos_client::{Container, Object, Pool};
use daos_types::{Der, Error};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a handle refers to.
#[derive(Clone)]
pub enum Entry {
    /// An event queue.
    Eq(Arc<EqState>),
    /// A pool connection.
    Pool(Arc<Pool>),
    /// An open container.
    Cont(Arc<Container>),
    /// An open object.
    Obj(Arc<Object>),
    /// An open array: the object and its cell and chunk sizes.
    Array(Arc<crate::obj::ArrayHandle>),
    /// An open flat KV object.
    Kv(Arc<Object>),
}

impl Entry {
    fn type_code(&self) -> u64 {
        match self {
            Entry::Eq(_) => 1,
            Entry::Pool(_) => 3,
            Entry::Cont(_) => 5,
            Entry::Obj(_) => 7,
            Entry::Array(_) => 9,
            Entry::Kv(_) => 13,
        }
    }
}

static TABLE: Mutex<Option<HashMap<u64, Entry>>> = Mutex::new(None);
static SERIAL: AtomicU64 = AtomicU64::new(1);

fn table() -> std::sync::MutexGuard<'static, Option<HashMap<u64, Entry>>> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers `entry`; returns its new cookie.
pub fn insert(entry: Entry) -> daos_handle_t {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed) & ((1 << 59) - 1);
    let cookie = (serial << 4) | entry.type_code();
    table()
        .get_or_insert_with(HashMap::new)
        .insert(cookie, entry);
    daos_handle_t { cookie }
}

/// The entry behind `h`. Errors: `-DER_NO_HDL` if unknown or closed.
pub fn get(h: daos_handle_t) -> Result<Entry, Error> {
    table()
        .as_ref()
        .and_then(|t| t.get(&h.cookie))
        .cloned()
        .ok_or_else(|| Error::new(Der::NoHdl, format!("unknown handle {:#x}", h.cookie)))
}

/// Forgets `h` (after a successful close).
pub fn remove(h: daos_handle_t) {
    if let Some(t) = table().as_mut() {
        t.remove(&h.cookie);
    }
}

/// Forgets every handle (last `daos_fini`).
pub fn clear() {
    *table() = None;
}

fn wrong(h: daos_handle_t, what: &str) -> Error {
    Error::new(Der::NoHdl, format!("handle {:#x} is not {what}", h.cookie))
}

/// The pool behind `h`. Errors: `-DER_NO_HDL`.
pub fn pool(h: daos_handle_t) -> Result<Arc<Pool>, Error> {
    match get(h)? {
        Entry::Pool(p) => Ok(p),
        _ => Err(wrong(h, "a pool handle")),
    }
}

/// The container behind `h`. Errors: `-DER_NO_HDL`.
pub fn cont(h: daos_handle_t) -> Result<Arc<Container>, Error> {
    match get(h)? {
        Entry::Cont(c) => Ok(c),
        _ => Err(wrong(h, "a container handle")),
    }
}

/// The object behind `h` (an object, array or KV handle). Errors: `-DER_NO_HDL`.
pub fn object(h: daos_handle_t) -> Result<Arc<Object>, Error> {
    match get(h)? {
        Entry::Obj(o) | Entry::Kv(o) => Ok(o),
        Entry::Array(a) => Ok(a.object.clone()),
        _ => Err(wrong(h, "an object handle")),
    }
}

/// The event queue behind `h`. Errors: `-DER_NO_HDL`.
pub fn eq(h: daos_handle_t) -> Result<Arc<EqState>, Error> {
    match get(h)? {
        Entry::Eq(q) => Ok(q),
        _ => Err(wrong(h, "an event queue handle")),
    }
}

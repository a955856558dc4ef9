//! `daos-dfs`: a POSIX namespace over DAOS objects (what DAOS calls DFS, `libdfs`).
//!
//! Layout in a container of layout `POSIX`:
//! - `DAOS_PROP_CO_ROOTS[0]` is the superblock object: dkey `DFS_SB_METADATA` holds the magic
//!   (`DAOS_SUPER_MAGIC`), layout version, default chunk size and object classes, and the
//!   root directory's entry.
//! - A directory is an object whose dkeys are entry names; akey `DFS_INODE` of each holds the
//!   entry: mode, object id, times, chunk size, class, owner, and a symlink's target.
//! - A file is a byte array (`DAOS_OT_ARRAY_BYTE`): byte `b` lives in dkey `b / chunk_size`
//!   (a little-endian u64), akey `\0`, record `b % chunk_size`. Its size is found from the
//!   highest chunk holding data and the end of the highest extent in it.
//!
//! Creating an entry is a conditional insert of its dkey, so `O_CREAT | O_EXCL` and `mkdir`
//! fail with `EEXIST` when the name is taken, atomically. Errors are [`DfsError`], carrying
//! the errno DFS returns.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use daos_client::obj::{OO_RO, OO_RW};
use daos_client::{Anchor, Container, Iod, NetContext, Object, Pool, Recx, SgList};
use daos_types::codec::{Decoder, Encoder};
use daos_types::der::libc_errno as errno;
use daos_types::oclass::{OclassId, OC_UNKNOWN};
use daos_types::prop::{self, PropValue, Props};
use daos_types::{Der, ObjectId, ObjectType, Uuid, EPOCH_MAX};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// `DAOS_SUPER_MAGIC`.
pub const SUPER_MAGIC: u64 = 0xDA05_AD10;
/// Layout version of this implementation.
pub const LAYOUT_VERSION: u16 = 1;
/// `DFS_DEFAULT_CHUNK_SIZE`.
pub const DEFAULT_CHUNK_SIZE: u64 = 1 << 20;
/// `DFS_MAX_NAME`.
pub const NAME_MAX: usize = 255;
/// `DFS_MAX_PATH`.
pub const PATH_MAX: usize = 4096;
/// Symlinks followed before `ELOOP`.
const SYMLINK_DEPTH_MAX: usize = 40;

const SB_DKEY: &[u8] = b"DFS_SB_METADATA";
const SB_AKEY: &[u8] = b"DFS_SB";
const ROOT_AKEY: &[u8] = b"DFS_ROOT_INODE";
const INODE_AKEY: &[u8] = b"DFS_INODE";
const DATA_AKEY: &[u8] = b"\0";
/// Object ids reserved per allocation round trip.
const OID_BATCH: u64 = 1024;

/// File type bits (`S_IFMT` and friends).
pub mod mode {
    /// Type mask.
    pub const S_IFMT: u32 = 0o170000;
    /// Directory.
    pub const S_IFDIR: u32 = 0o040000;
    /// Regular file.
    pub const S_IFREG: u32 = 0o100000;
    /// Symbolic link.
    pub const S_IFLNK: u32 = 0o120000;
}

/// An error from DFS: the errno DFS returns (`ENOENT`, `EEXIST`…) and what happened.
#[derive(Clone, PartialEq, Eq)]
pub struct DfsError {
    errno: i32,
    message: String,
}

impl DfsError {
    /// An error with an errno.
    pub fn new(errno: i32, message: impl Into<String>) -> DfsError {
        DfsError {
            errno,
            message: message.into(),
        }
    }

    /// The errno.
    pub fn errno(&self) -> i32 {
        self.errno
    }
}

impl From<daos_types::Error> for DfsError {
    fn from(err: daos_types::Error) -> DfsError {
        DfsError {
            errno: err.errno(),
            message: err.to_string(),
        }
    }
}

impl std::fmt::Display for DfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = std::io::Error::from_raw_os_error(self.errno);
        write!(f, "{name}: {}", self.message)
    }
}

impl std::fmt::Debug for DfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for DfsError {}

/// Result of DFS operations.
pub type Result<T> = std::result::Result<T, DfsError>;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A directory entry as stored (`DFS_INODE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Type and permission bits.
    pub mode: u32,
    /// The object holding the file or directory.
    pub oid: ObjectId,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u64,
    /// Change time, nanoseconds since the epoch.
    pub ctime_ns: u64,
    /// Chunk size of a file, bytes.
    pub chunk_size: u64,
    /// Object class.
    pub oclass: OclassId,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// A symlink's target.
    pub symlink: Vec<u8>,
}

impl Entry {
    fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u16(LAYOUT_VERSION)
            .u32(self.mode)
            .oid(self.oid)
            .u64(self.mtime_ns)
            .u64(self.ctime_ns);
        e.u64(self.chunk_size)
            .u32(self.oclass)
            .u32(self.uid)
            .u32(self.gid)
            .bytes(&self.symlink);
        e.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Entry> {
        let bad = |_| DfsError::new(errno::EIO, "corrupted directory entry");
        let mut d = Decoder::new(bytes);
        if d.u16("version").map_err(bad)? != LAYOUT_VERSION {
            return Err(DfsError::new(
                errno::EIO,
                "directory entry of an unknown layout version",
            ));
        }
        Ok(Entry {
            mode: d.u32("mode").map_err(bad)?,
            oid: d.oid("oid").map_err(bad)?,
            mtime_ns: d.u64("mtime").map_err(bad)?,
            ctime_ns: d.u64("ctime").map_err(bad)?,
            chunk_size: d.u64("chunk").map_err(bad)?,
            oclass: d.u32("class").map_err(bad)?,
            uid: d.u32("uid").map_err(bad)?,
            gid: d.u32("gid").map_err(bad)?,
            symlink: d.bytes(PATH_MAX, "symlink").map_err(bad)?.to_vec(),
        })
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFREG
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & mode::S_IFMT == mode::S_IFLNK
    }
}

/// Options of a new POSIX container (`dfs_attr_t`).
#[derive(Clone, Debug, Default)]
pub struct Attr {
    /// Default chunk size (0: 1 MiB).
    pub chunk_size: u64,
    /// Default object class (0: chosen from the redundancy factor).
    pub oclass: OclassId,
    /// Default directory class (0: as `oclass`, else by redundancy factor).
    pub dir_oclass: OclassId,
    /// Default file class (0: as `oclass`, else by redundancy factor).
    pub file_oclass: OclassId,
    /// Extra container properties (label, checksums, redundancy factor…).
    pub props: Props,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SuperBlock {
    magic: u64,
    version: u16,
    chunk_size: u64,
    oclass: OclassId,
    dir_oclass: OclassId,
    file_oclass: OclassId,
}

impl SuperBlock {
    fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u64(self.magic)
            .u16(self.version)
            .u64(self.chunk_size)
            .u32(self.oclass)
            .u32(self.dir_oclass)
            .u32(self.file_oclass);
        e.finish()
    }

    fn decode(bytes: &[u8]) -> Result<SuperBlock> {
        let bad = |_| DfsError::new(errno::EINVAL, "container holds no valid DFS superblock");
        let mut d = Decoder::new(bytes);
        Ok(SuperBlock {
            magic: d.u64("magic").map_err(bad)?,
            version: d.u16("version").map_err(bad)?,
            chunk_size: d.u64("chunk").map_err(bad)?,
            oclass: d.u32("class").map_err(bad)?,
            dir_oclass: d.u32("dir class").map_err(bad)?,
            file_oclass: d.u32("file class").map_err(bad)?,
        })
    }
}

/// A mounted POSIX container (`dfs_t`).
pub struct Dfs {
    cont: Arc<Container>,
    sb: SuperBlock,
    sb_obj: Object,
    root: DfsObj,
    oids: Mutex<(u64, u64)>,
    writable: bool,
    uid: u32,
    gid: u32,
}

/// An open file, directory or symlink (`dfs_obj_t`).
#[derive(Clone)]
pub struct DfsObj {
    entry: Entry,
    obj: Object,
    name: Vec<u8>,
}

impl DfsObj {
    /// The stored entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The object id.
    pub fn oid(&self) -> ObjectId {
        self.entry.oid
    }

    /// The name it was opened by ("/" for the root).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Type and permission bits.
    pub fn mode(&self) -> u32 {
        self.entry.mode
    }

    /// The underlying DAOS object.
    pub fn object(&self) -> &Object {
        &self.obj
    }
}

const GLOBAL_OBJ_MAGIC: u32 = u32::from_le_bytes(*b"GDO1");

impl Dfs {
    /// Serialises an open object for another process of the same mount
    /// (`dfs_obj_local2global`): its name and stored entry.
    pub fn obj_to_global(&self, obj: &DfsObj) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u32(GLOBAL_OBJ_MAGIC)
            .bytes(&obj.name)
            .bytes(&obj.entry.encode());
        e.finish()
    }

    /// An open object from [`Dfs::obj_to_global`] bytes (`dfs_obj_global2local`); no message
    /// is sent.
    ///
    /// Errors: `EINVAL` for bytes that are not a global DFS object.
    pub fn obj_from_global(&self, bytes: &[u8]) -> Result<DfsObj> {
        let bad = |_| DfsError::new(errno::EINVAL, "not a global DFS object");
        let mut d = Decoder::new(bytes);
        if d.u32("magic").map_err(bad)? != GLOBAL_OBJ_MAGIC {
            return Err(DfsError::new(errno::EINVAL, "not a global DFS object"));
        }
        let name = d.bytes(NAME_MAX + 1, "name").map_err(bad)?.to_vec();
        let entry = Entry::decode(d.bytes(PATH_MAX + 256, "entry").map_err(bad)?)?;
        d.finish().map_err(bad)?;
        let mode = if self.writable { OO_RW } else { OO_RO };
        let obj = Object::open(&self.cont, entry.oid, mode)?;
        Ok(DfsObj { entry, obj, name })
    }
}

impl std::fmt::Debug for DfsObj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DfsObj({:?}, {:o})",
            String::from_utf8_lossy(&self.name),
            self.entry.mode
        )
    }
}

/// What `dfs_stat` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Type and permission bits.
    pub mode: u32,
    /// Size in bytes (files), or the target length (symlinks).
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: u64,
    /// Change time, ns.
    pub ctime_ns: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Object id.
    pub oid: ObjectId,
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(DfsError::new(
            errno::EINVAL,
            format!("invalid entry name {:?}", String::from_utf8_lossy(name)),
        ));
    }
    if name.len() > NAME_MAX {
        return Err(DfsError::new(
            errno::EINVAL,
            "entry name longer than 255 bytes (DFS_MAX_NAME)",
        ));
    }
    Ok(())
}

fn chunk_key(chunk: u64) -> [u8; 8] {
    chunk.to_le_bytes()
}

/// `O_CREAT`.
pub const O_CREAT: i32 = 0o100;
/// `O_EXCL`.
pub const O_EXCL: i32 = 0o200;
/// `O_TRUNC`.
pub const O_TRUNC: i32 = 0o1000;
/// `O_ACCMODE`.
pub const O_ACCMODE: i32 = 0o3;
/// `O_RDONLY`.
pub const O_RDONLY: i32 = 0;
/// `O_RDWR`.
pub const O_RDWR: i32 = 2;
/// `O_NOFOLLOW`.
pub const O_NOFOLLOW: i32 = 0o400000;

impl Dfs {
    /// Creates a POSIX container with its superblock and root (`dfs_cont_create`). Returns its
    /// UUID.
    ///
    /// Errors: `EEXIST` if the label is taken; `EINVAL` for bad attributes.
    pub async fn create_container(
        pool: &Arc<Pool>,
        net: &Arc<NetContext>,
        uuid: Option<Uuid>,
        attr: Attr,
    ) -> Result<Uuid> {
        let mut props = attr.props.clone();
        props.set(prop::CO_LAYOUT_TYPE, PropValue::Number(prop::layout::POSIX));
        let rf = props.number(prop::CO_REDUN_FAC).unwrap_or(0) as u32;
        let sb_oid = ObjectId::new(0, 1).encode(
            ObjectType::MultiHashed,
            daos_placement::default_class(false, rf, 0),
        );
        let root_oid = ObjectId::new(1, 1).encode(
            ObjectType::MultiHashed,
            daos_placement::default_class(false, rf, 0),
        );
        props.set(
            prop::CO_ROOTS,
            PropValue::Roots([sb_oid, root_oid, ObjectId::default(), ObjectId::default()]),
        );
        let uuid = Container::create(pool, net, uuid, props).await?;
        let cont = Container::open(pool, net, &uuid.to_string(), daos_client::cont::COO_RW).await?;
        let outcome = Self::format(&cont, net, sb_oid, root_oid, &attr).await;
        cont.close(net).await?;
        if let Err(err) = outcome {
            let _ = Container::destroy(pool, net, &uuid.to_string(), true).await;
            return Err(err);
        }
        Ok(uuid)
    }

    async fn format(
        cont: &Arc<Container>,
        net: &Arc<NetContext>,
        sb_oid: ObjectId,
        root_oid: ObjectId,
        attr: &Attr,
    ) -> Result<()> {
        let sb = SuperBlock {
            magic: SUPER_MAGIC,
            version: LAYOUT_VERSION,
            chunk_size: if attr.chunk_size == 0 {
                DEFAULT_CHUNK_SIZE
            } else {
                attr.chunk_size
            },
            oclass: attr.oclass,
            dir_oclass: if attr.dir_oclass != 0 {
                attr.dir_oclass
            } else {
                attr.oclass
            },
            file_oclass: if attr.file_oclass != 0 {
                attr.file_oclass
            } else {
                attr.oclass
            },
        };
        for class in [sb.oclass, sb.dir_oclass, sb.file_oclass] {
            if class != OC_UNKNOWN && daos_types::ObjectClass::from_id(class).is_none() {
                return Err(DfsError::new(
                    errno::EINVAL,
                    format!("unknown object class {class:#x}"),
                ));
            }
        }
        let now = now_ns();
        let (uid, gid) = (
            cont.pool().client().credential().uid,
            cont.pool().client().credential().gid,
        );
        let root = Entry {
            mode: mode::S_IFDIR | 0o755,
            oid: root_oid,
            mtime_ns: now,
            ctime_ns: now,
            chunk_size: sb.chunk_size,
            oclass: sb.dir_oclass,
            uid,
            gid,
            symlink: Vec::new(),
        };
        let sb_obj = Object::open(cont, sb_oid, OO_RW)?;
        let (sb_bytes, root_bytes) = (sb.encode(), root.encode());
        let iods = [
            Iod::single(SB_AKEY, sb_bytes.len() as u64),
            Iod::single(ROOT_AKEY, root_bytes.len() as u64),
        ];
        sb_obj
            .update(
                net,
                0,
                SB_DKEY,
                &iods,
                vec![SgList::from_vec(sb_bytes), SgList::from_vec(root_bytes)],
            )
            .await?;
        Ok(())
    }

    /// Mounts a POSIX container (`dfs_mount`); `flags` is `O_RDONLY` or `O_RDWR`.
    ///
    /// Errors: `EINVAL` if the container's layout is not POSIX or it holds no superblock;
    /// `EPERM` for a read-write mount through a read-only handle.
    pub async fn mount(
        cont: &Arc<Container>,
        net: &Arc<NetContext>,
        flags: i32,
    ) -> Result<Arc<Dfs>> {
        let writable = flags & O_ACCMODE != O_RDONLY;
        if writable && !cont.writable() {
            return Err(DfsError::new(
                errno::EPERM,
                "read-write mount of a read-only container handle",
            ));
        }
        let (_, props) = cont.query(net).await?;
        if props.number(prop::CO_LAYOUT_TYPE) != Some(prop::layout::POSIX) {
            return Err(DfsError::new(
                errno::EINVAL,
                "container layout is not POSIX",
            ));
        }
        let roots = props
            .roots()
            .ok_or_else(|| DfsError::new(errno::EINVAL, "container has no root objects"))?;
        let sb_obj = Object::open(cont, roots[0], if writable { OO_RW } else { OO_RO })?;
        let iods = [Iod::single(SB_AKEY, 0), Iod::single(ROOT_AKEY, 0)];
        let (found, mut bufs) = sb_obj
            .fetch(
                net,
                EPOCH_MAX,
                0,
                SB_DKEY,
                &iods,
                vec![
                    SgList::from_vec(vec![0; 256]),
                    SgList::from_vec(vec![0; 4096]),
                ],
            )
            .await?;
        if found.sizes[0] == 0 || found.sizes[1] == 0 {
            return Err(DfsError::new(
                errno::EINVAL,
                "container holds no DFS superblock",
            ));
        }
        let mut bufs = bufs
            .drain(..)
            .map(|b| b.into_vecs().unwrap_or_default().pop().unwrap_or_default());
        let sb_bytes = bufs.next().unwrap_or_default();
        let root_bytes = bufs.next().unwrap_or_default();
        let sb = SuperBlock::decode(&sb_bytes[..found.lens[0] as usize])?;
        if sb.magic != SUPER_MAGIC {
            return Err(DfsError::new(errno::EINVAL, "bad DFS superblock magic"));
        }
        if sb.version != LAYOUT_VERSION {
            return Err(DfsError::new(
                errno::EINVAL,
                format!("DFS layout version {} is not supported", sb.version),
            ));
        }
        let root_entry = Entry::decode(&root_bytes[..found.lens[1] as usize])?;
        let root = DfsObj {
            obj: Object::open(cont, root_entry.oid, if writable { OO_RW } else { OO_RO })?,
            entry: root_entry,
            name: b"/".to_vec(),
        };
        let cred = cont.pool().client().credential();
        Ok(Arc::new(Dfs {
            cont: cont.clone(),
            sb,
            sb_obj,
            root,
            oids: Mutex::new((0, 0)),
            writable,
            uid: cred.uid,
            gid: cred.gid,
        }))
    }

    /// The container.
    pub fn container(&self) -> &Arc<Container> {
        &self.cont
    }

    /// The root directory.
    pub fn root(&self) -> &DfsObj {
        &self.root
    }

    /// Default chunk size.
    pub fn chunk_size(&self) -> u64 {
        self.sb.chunk_size
    }

    /// Whether the mount is read-write.
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(DfsError::new(
                errno::EPERM,
                "file system is mounted read-only",
            ))
        }
    }

    async fn next_oid(
        &self,
        net: &Arc<NetContext>,
        otype: ObjectType,
        class: OclassId,
    ) -> Result<ObjectId> {
        let lo = {
            let mut oids = self.oids.lock().expect("oid allocator");
            if oids.0 < oids.1 {
                oids.0 += 1;
                Some(oids.0 - 1)
            } else {
                None
            }
        };
        let lo = match lo {
            Some(lo) => lo,
            None => {
                let first = self.cont.alloc_oids(net, OID_BATCH).await?;
                let mut oids = self.oids.lock().expect("oid allocator");
                // Another task may have refilled meanwhile; either range is ours to use.
                *oids = (first + 1, first + OID_BATCH);
                first
            }
        };
        Ok(self.cont.generate_oid(ObjectId::new(lo, 0), otype, class)?)
    }

    fn open_object(&self, entry: &Entry) -> Result<Object> {
        Ok(Object::open(
            &self.cont,
            entry.oid,
            if self.writable { OO_RW } else { OO_RO },
        )?)
    }

    /// Reads the entry `name` of directory `parent`; `None` if absent.
    pub async fn entry(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
    ) -> Result<Option<Entry>> {
        if !parent.entry.is_dir() {
            return Err(DfsError::new(errno::ENOTDIR, "parent is not a directory"));
        }
        check_name(name)?;
        let (found, bufs) = parent
            .obj
            .fetch(
                net,
                EPOCH_MAX,
                0,
                name,
                &[Iod::single(INODE_AKEY, 0)],
                vec![SgList::from_vec(vec![0; 512 + PATH_MAX])],
            )
            .await?;
        if found.sizes[0] == 0 {
            return Ok(None);
        }
        let bytes = bufs
            .into_iter()
            .next()
            .and_then(|b| b.into_vecs())
            .and_then(|mut v| v.pop())
            .unwrap_or_default();
        Ok(Some(Entry::decode(&bytes[..found.lens[0] as usize])?))
    }

    async fn insert_entry(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        entry: &Entry,
        exclusive: bool,
    ) -> Result<()> {
        let bytes = entry.encode();
        let flags = if exclusive { COND_DKEY_INSERT } else { 0 };
        parent
            .obj
            .update(
                net,
                flags,
                name,
                &[Iod::single(INODE_AKEY, bytes.len() as u64)],
                vec![SgList::from_vec(bytes)],
            )
            .await
            .map_err(|e| {
                if e.der() == Der::Exist {
                    DfsError::new(
                        errno::EEXIST,
                        format!("{:?} exists", String::from_utf8_lossy(name)),
                    )
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    fn class_or_default(&self, class: OclassId, default: OclassId) -> OclassId {
        if class != OC_UNKNOWN {
            class
        } else {
            default
        }
    }

    /// Creates a directory (`dfs_mkdir`).
    ///
    /// Errors: `EEXIST` if the name is taken; `ENOTDIR` if `parent` is not a directory.
    pub async fn mkdir(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        mode_bits: u32,
        class: OclassId,
    ) -> Result<DfsObj> {
        self.check_writable()?;
        check_name(name)?;
        if !parent.entry.is_dir() {
            return Err(DfsError::new(errno::ENOTDIR, "parent is not a directory"));
        }
        let class = self.class_or_default(class, self.sb.dir_oclass);
        let oid = self.next_oid(net, ObjectType::MultiHashed, class).await?;
        let now = now_ns();
        let entry = Entry {
            mode: mode::S_IFDIR | (mode_bits & 0o7777),
            oid,
            mtime_ns: now,
            ctime_ns: now,
            chunk_size: self.sb.chunk_size,
            oclass: class,
            uid: self.uid,
            gid: self.gid,
            symlink: Vec::new(),
        };
        self.insert_entry(net, parent, name, &entry, true).await?;
        Ok(DfsObj {
            obj: self.open_object(&entry)?,
            entry,
            name: name.to_vec(),
        })
    }

    /// Opens (and with `O_CREAT` creates) `name` in `parent` (`dfs_open`). `mode` carries the
    /// type (`S_IFREG`, `S_IFDIR`, `S_IFLNK`) and permissions; `chunk_size` and `class` of 0
    /// mean the container's defaults; `symlink` is a new symlink's target.
    ///
    /// Errors: `EEXIST` for `O_CREAT | O_EXCL` on an existing name; `ENOENT` without
    /// `O_CREAT`; `EINVAL` for bad names or modes.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        mode_bits: u32,
        flags: i32,
        class: OclassId,
        chunk_size: u64,
        symlink: Option<&[u8]>,
    ) -> Result<DfsObj> {
        check_name(name)?;
        let kind = mode_bits & mode::S_IFMT;
        if flags & O_CREAT != 0 {
            self.check_writable()?;
            if kind == mode::S_IFDIR {
                return self.mkdir(net, parent, name, mode_bits, class).await;
            }
            let (otype, class) = match kind {
                mode::S_IFREG | 0 => (
                    ObjectType::ArrayByte,
                    self.class_or_default(class, self.sb.file_oclass),
                ),
                mode::S_IFLNK => (
                    ObjectType::MultiHashed,
                    self.class_or_default(class, self.sb.dir_oclass),
                ),
                _ => {
                    return Err(DfsError::new(
                        errno::EINVAL,
                        format!("unsupported file type {kind:o}"),
                    ))
                }
            };
            if kind == mode::S_IFLNK && symlink.is_none_or(|s| s.is_empty() || s.len() > PATH_MAX) {
                return Err(DfsError::new(
                    errno::EINVAL,
                    "a symlink needs a target of 1 to 4096 bytes",
                ));
            }
            let oid = self.next_oid(net, otype, class).await?;
            let now = now_ns();
            let entry = Entry {
                mode: if kind == 0 { mode::S_IFREG } else { kind } | (mode_bits & 0o7777),
                oid,
                mtime_ns: now,
                ctime_ns: now,
                chunk_size: if chunk_size == 0 {
                    self.sb.chunk_size
                } else {
                    chunk_size
                },
                oclass: class,
                uid: self.uid,
                gid: self.gid,
                symlink: symlink.map(<[u8]>::to_vec).unwrap_or_default(),
            };
            match self.insert_entry(net, parent, name, &entry, true).await {
                Ok(()) => {
                    return Ok(DfsObj {
                        obj: self.open_object(&entry)?,
                        entry,
                        name: name.to_vec(),
                    })
                }
                Err(err) if err.errno() == errno::EEXIST && flags & O_EXCL == 0 => {}
                Err(err) => return Err(err),
            }
        }
        let entry = self.entry(net, parent, name).await?.ok_or_else(|| {
            DfsError::new(
                errno::ENOENT,
                format!("{:?} does not exist", String::from_utf8_lossy(name)),
            )
        })?;
        if kind != 0 && entry.mode & mode::S_IFMT != kind && flags & O_CREAT == 0 {
            // dfs_open with a mismatched type is refused, except the IOR habit of passing
            // S_IFREG on files (handled: same type).
            if kind == mode::S_IFDIR || entry.is_dir() {
                return Err(DfsError::new(
                    errno::ENOTDIR,
                    "type of the existing entry differs",
                ));
            }
        }
        let obj = DfsObj {
            obj: self.open_object(&entry)?,
            entry,
            name: name.to_vec(),
        };
        if flags & O_TRUNC != 0 && obj.entry.is_file() {
            self.check_writable()?;
            self.set_size(net, &obj, 0).await?;
        }
        Ok(obj)
    }

    /// Resolves an absolute path (`dfs_lookup`), following symlinks unless `O_NOFOLLOW`.
    ///
    /// Errors: `EINVAL` for a relative path; `ENOENT`; `ENOTDIR` for a file in the middle;
    /// `ELOOP` for too many symlinks.
    pub async fn lookup(&self, net: &Arc<NetContext>, path: &str, flags: i32) -> Result<DfsObj> {
        if !path.starts_with('/') {
            return Err(DfsError::new(
                errno::EINVAL,
                format!("path {path:?} is not absolute"),
            ));
        }
        if path.len() >= PATH_MAX {
            return Err(DfsError::new(errno::EINVAL, "path longer than PATH_MAX"));
        }
        let mut stack: Vec<DfsObj> = vec![self.root.clone()];
        let mut parts: Vec<Vec<u8>> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| p.as_bytes().to_vec())
            .rev()
            .collect();
        let mut links = 0;
        while let Some(part) = parts.pop() {
            if part == b"." {
                continue;
            }
            if part == b".." {
                if stack.len() > 1 {
                    stack.pop();
                }
                continue;
            }
            let current = stack.last().expect("root stays").clone();
            if !current.entry.is_dir() {
                return Err(DfsError::new(
                    errno::ENOTDIR,
                    "a path component is not a directory",
                ));
            }
            let entry = self
                .entry(net, &current, &part)
                .await?
                .ok_or_else(|| DfsError::new(errno::ENOENT, format!("{path:?} does not exist")))?;
            let last = parts.is_empty();
            if entry.is_symlink() && !(last && flags & O_NOFOLLOW != 0) {
                links += 1;
                if links > SYMLINK_DEPTH_MAX {
                    return Err(DfsError::new(
                        errno::ELOOP,
                        "too many levels of symbolic links",
                    ));
                }
                let target = String::from_utf8_lossy(&entry.symlink).into_owned();
                if target.starts_with('/') {
                    stack.truncate(1);
                }
                parts.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .map(|p| p.as_bytes().to_vec())
                        .rev(),
                );
                continue;
            }
            stack.push(DfsObj {
                obj: self.open_object(&entry)?,
                entry,
                name: part,
            });
        }
        Ok(stack.pop().expect("at least the root"))
    }

    /// Writes `data` at `offset` of a file (`dfs_write`); chunks are written in parallel.
    ///
    /// Errors: `EINVAL` if `obj` is not a file; `EPERM` on a read-only mount.
    pub async fn write(
        &self,
        net: &Arc<NetContext>,
        obj: &DfsObj,
        offset: u64,
        data: SgList,
    ) -> Result<()> {
        self.check_writable()?;
        if !obj.entry.is_file() {
            return Err(DfsError::new(
                errno::EINVAL,
                "write to something that is not a file",
            ));
        }
        let len = data.len();
        if len == 0 {
            return Ok(());
        }
        offset
            .checked_add(len)
            .ok_or_else(|| DfsError::new(errno::EFBIG, "write beyond the largest file offset"))?;
        let chunk = obj.entry.chunk_size;
        let data = Arc::new(data);
        let mut pending = Vec::new();
        let mut done = 0u64;
        while done < len {
            let at = offset + done;
            let index = at / chunk;
            let in_chunk = at % chunk;
            let n = (chunk - in_chunk).min(len - done);
            let iov = slice_of(&data, done, n);
            let object = obj.obj.clone();
            let net = net.clone();
            pending.push(async move {
                let iods = [Iod::array(
                    DATA_AKEY,
                    1,
                    vec![Recx {
                        idx: in_chunk,
                        nr: n,
                    }],
                )];
                object
                    .update(&net, 0, &chunk_key(index), &iods, vec![iov])
                    .await
            });
            done += n;
        }
        let data_owner = data;
        let outcome = futures::future::try_join_all(pending).await;
        drop(data_owner);
        outcome?;
        Ok(())
    }

    /// Reads up to `buf.len()` bytes at `offset` (`dfs_read`); returns how many were read
    /// (fewer at the end of the file).
    ///
    /// Errors: `EINVAL` if `obj` is not a file.
    pub async fn read(
        &self,
        net: &Arc<NetContext>,
        obj: &DfsObj,
        offset: u64,
        buf: SgList,
    ) -> Result<(u64, SgList)> {
        if !obj.entry.is_file() {
            return Err(DfsError::new(
                errno::EINVAL,
                "read of something that is not a file",
            ));
        }
        let size = self.get_size(net, obj).await?;
        let want = buf.len().min(size.saturating_sub(offset));
        self.read_known(net, obj, offset, buf, want).await
    }

    /// Reads exactly `want` bytes at `offset` when the caller knows the file is that large.
    pub async fn read_known(
        &self,
        net: &Arc<NetContext>,
        obj: &DfsObj,
        offset: u64,
        buf: SgList,
        want: u64,
    ) -> Result<(u64, SgList)> {
        if want == 0 {
            return Ok((0, buf));
        }
        let chunk = obj.entry.chunk_size;
        let buf = Arc::new(buf);
        let mut pending = Vec::new();
        let mut done = 0u64;
        while done < want {
            let at = offset + done;
            let index = at / chunk;
            let in_chunk = at % chunk;
            let n = (chunk - in_chunk).min(want - done);
            let iov = slice_of(&buf, done, n);
            let object = obj.obj.clone();
            let net = net.clone();
            pending.push(async move {
                let iods = [Iod::array(
                    DATA_AKEY,
                    1,
                    vec![Recx {
                        idx: in_chunk,
                        nr: n,
                    }],
                )];
                object
                    .fetch(&net, EPOCH_MAX, 0, &chunk_key(index), &iods, vec![iov])
                    .await
                    .map(drop)
            });
            done += n;
        }
        let outcome = futures::future::try_join_all(pending).await;
        outcome?;
        let buf = Arc::try_unwrap(buf)
            .map_err(|_| DfsError::new(errno::EIO, "read buffer still shared"))?;
        Ok((want, buf))
    }

    /// The size of a file (`dfs_get_size`).
    pub async fn get_size(&self, net: &Arc<NetContext>, obj: &DfsObj) -> Result<u64> {
        if !obj.entry.is_file() {
            return Err(DfsError::new(
                errno::EINVAL,
                "size of something that is not a file",
            ));
        }
        let flags =
            daos_proto::msg::GET_DKEY | daos_proto::msg::GET_RECX | daos_proto::msg::GET_MAX;
        match obj
            .obj
            .query_key(net, EPOCH_MAX, flags, None, Some(DATA_AKEY))
            .await
        {
            Ok((Some(dkey), _, Some(recx))) => {
                let index = u64::from_le_bytes(
                    dkey.as_slice()
                        .try_into()
                        .map_err(|_| DfsError::new(errno::EIO, "bad chunk key"))?,
                );
                Ok(index * obj.entry.chunk_size + recx.idx + recx.nr)
            }
            Ok(_) => Ok(0),
            Err(err) if err.der() == Der::Nonexist => Ok(0),
            Err(err) => Err(err.into()),
        }
    }

    /// Sets a file's size, truncating or extending with zeros (`dfs_punch` from `size` on).
    pub async fn set_size(&self, net: &Arc<NetContext>, obj: &DfsObj, size: u64) -> Result<()> {
        self.check_writable()?;
        if !obj.entry.is_file() {
            return Err(DfsError::new(
                errno::EINVAL,
                "truncate of something that is not a file",
            ));
        }
        let current = self.get_size(net, obj).await?;
        let chunk = obj.entry.chunk_size;
        if size < current {
            // Punch whole chunks past the new end, then the tail of the last kept chunk.
            let first_gone = size.div_ceil(chunk);
            let last = (current - 1) / chunk;
            let gone: Vec<Vec<u8>> = (first_gone..=last).map(|c| chunk_key(c).to_vec()).collect();
            if !gone.is_empty() {
                obj.obj.punch_dkeys(net, 0, &gone).await?;
            }
            if size % chunk != 0 {
                let index = size / chunk;
                let from = size % chunk;
                let iods = [Iod::array(
                    DATA_AKEY,
                    0,
                    vec![Recx {
                        idx: from,
                        nr: chunk - from,
                    }],
                )];
                obj.obj
                    .update(
                        net,
                        0,
                        &chunk_key(index),
                        &iods,
                        vec![SgList::from_vec(Vec::new())],
                    )
                    .await?;
            }
        }
        // The size is where the last byte is; make sure one is there.
        if size > 0 && self.get_size(net, obj).await? != size {
            let last = size - 1;
            let iods = [Iod::array(
                DATA_AKEY,
                1,
                vec![Recx {
                    idx: last % chunk,
                    nr: 1,
                }],
            )];
            let mut current_byte = vec![0u8];
            if last < current {
                let (_, got) = self
                    .read_known(net, obj, last, SgList::from_vec(vec![0u8]), 1)
                    .await?;
                current_byte = got.into_vecs().and_then(|mut v| v.pop()).unwrap_or(vec![0]);
            }
            obj.obj
                .update(
                    net,
                    0,
                    &chunk_key(last / chunk),
                    &iods,
                    vec![SgList::from_vec(current_byte)],
                )
                .await?;
        }
        Ok(())
    }

    /// Stats `name` in `parent`, or the root with `None` (`dfs_stat`).
    pub async fn stat(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: Option<&[u8]>,
    ) -> Result<Stat> {
        let entry = match name {
            None => self.root.entry.clone(),
            Some(name) => self.entry(net, parent, name).await?.ok_or_else(|| {
                DfsError::new(
                    errno::ENOENT,
                    format!("{:?} does not exist", String::from_utf8_lossy(name)),
                )
            })?,
        };
        let obj = DfsObj {
            obj: self.open_object(&entry)?,
            entry: entry.clone(),
            name: Vec::new(),
        };
        self.ostat(net, &obj).await
    }

    /// Stats an open object (`dfs_ostat`).
    pub async fn ostat(&self, net: &Arc<NetContext>, obj: &DfsObj) -> Result<Stat> {
        let entry = &obj.entry;
        let size = if entry.is_file() {
            self.get_size(net, obj).await?
        } else if entry.is_symlink() {
            entry.symlink.len() as u64
        } else {
            0
        };
        Ok(Stat {
            mode: entry.mode,
            size,
            mtime_ns: entry.mtime_ns,
            ctime_ns: entry.ctime_ns,
            uid: entry.uid,
            gid: entry.gid,
            oid: entry.oid,
        })
    }

    /// Lists up to `count` names of directory `dir` after `anchor` (`dfs_readdir`).
    pub async fn readdir(
        &self,
        net: &Arc<NetContext>,
        dir: &DfsObj,
        anchor: &mut Anchor,
        count: u32,
    ) -> Result<Vec<Vec<u8>>> {
        if !dir.entry.is_dir() {
            return Err(DfsError::new(
                errno::ENOTDIR,
                "readdir of something that is not a directory",
            ));
        }
        let mut names = Vec::new();
        while !anchor.eof && (names.len() as u32) < count {
            let page = dir
                .obj
                .list_dkeys(net, EPOCH_MAX, anchor, count - names.len() as u32, 1 << 20)
                .await?;
            if page.keys.is_empty() && page.key_size_needed > 0 {
                // Names are at most 255 bytes, so a 1 MiB page always holds the next one.
                return Err(DfsError::new(
                    errno::EIO,
                    format!("directory entry of {} bytes", page.key_size_needed),
                ));
            }
            names.extend(page.keys);
        }
        Ok(names)
    }

    /// Removes `name` from `parent` (`dfs_remove`); a non-empty directory only with `force`
    /// (then recursively).
    ///
    /// Errors: `ENOENT` if absent; `ENOTEMPTY` for a non-empty directory without `force`.
    pub async fn remove(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        force: bool,
    ) -> Result<()> {
        self.check_writable()?;
        let entry = self.entry(net, parent, name).await?.ok_or_else(|| {
            DfsError::new(
                errno::ENOENT,
                format!("{:?} does not exist", String::from_utf8_lossy(name)),
            )
        })?;
        let obj = DfsObj {
            obj: self.open_object(&entry)?,
            entry: entry.clone(),
            name: name.to_vec(),
        };
        if entry.is_dir() {
            let mut anchor = Anchor::default();
            let children = self
                .readdir(net, &obj, &mut anchor, if force { u32::MAX } else { 1 })
                .await?;
            if !children.is_empty() && !force {
                return Err(DfsError::new(errno::ENOTEMPTY, "directory is not empty"));
            }
            for child in children {
                Box::pin(self.remove(net, &obj, &child, true)).await?;
            }
        }
        parent
            .obj
            .punch_dkeys(net, COND_PUNCH, &[name.to_vec()])
            .await
            .map_err(|e| {
                if e.der() == Der::Nonexist {
                    DfsError::new(errno::ENOENT, "entry vanished while removing it")
                } else {
                    e.into()
                }
            })?;
        if !entry.is_symlink() {
            obj.obj.punch(net, 0).await?;
        }
        Ok(())
    }

    /// Renames `name` in `parent` to `new_name` in `new_parent` (`dfs_move`), replacing a
    /// target that is a file or an empty directory.
    ///
    /// Errors: `ENOENT` if the source is absent; `ENOTEMPTY` for a non-empty target directory;
    /// `EINVAL` for a non-directory over a directory.
    pub async fn rename(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        new_parent: &DfsObj,
        new_name: &[u8],
    ) -> Result<()> {
        self.check_writable()?;
        check_name(new_name)?;
        let mut entry = self.entry(net, parent, name).await?.ok_or_else(|| {
            DfsError::new(
                errno::ENOENT,
                format!("{:?} does not exist", String::from_utf8_lossy(name)),
            )
        })?;
        if parent.oid() == new_parent.oid() && name == new_name {
            return Ok(());
        }
        if let Some(existing) = self.entry(net, new_parent, new_name).await? {
            if existing.is_dir() && !entry.is_dir() {
                return Err(DfsError::new(
                    errno::EINVAL,
                    "cannot replace a directory with a non-directory",
                ));
            }
            if existing.is_dir() {
                let target = DfsObj {
                    obj: self.open_object(&existing)?,
                    entry: existing.clone(),
                    name: new_name.to_vec(),
                };
                let mut anchor = Anchor::default();
                if !self.readdir(net, &target, &mut anchor, 1).await?.is_empty() {
                    return Err(DfsError::new(
                        errno::ENOTEMPTY,
                        "target directory is not empty",
                    ));
                }
            }
            self.remove(net, new_parent, new_name, false).await?;
        }
        entry.ctime_ns = now_ns();
        self.insert_entry(net, new_parent, new_name, &entry, true)
            .await?;
        parent.obj.punch_dkeys(net, 0, &[name.to_vec()]).await?;
        Ok(())
    }

    /// Changes a file's permission bits and times (subset of `dfs_osetattr`).
    pub async fn set_attr(
        &self,
        net: &Arc<NetContext>,
        parent: &DfsObj,
        name: &[u8],
        mode_bits: Option<u32>,
        mtime_ns: Option<u64>,
    ) -> Result<()> {
        self.check_writable()?;
        let mut entry = self
            .entry(net, parent, name)
            .await?
            .ok_or_else(|| DfsError::new(errno::ENOENT, "entry does not exist"))?;
        if let Some(bits) = mode_bits {
            entry.mode = (entry.mode & mode::S_IFMT) | (bits & 0o7777);
        }
        if let Some(t) = mtime_ns {
            entry.mtime_ns = t;
        }
        entry.ctime_ns = now_ns();
        self.insert_entry(net, parent, name, &entry, false).await
    }

    /// The superblock object (for tools).
    pub fn superblock_object(&self) -> &Object {
        &self.sb_obj
    }
}

/// `DAOS_COND_DKEY_INSERT`.
const COND_DKEY_INSERT: u64 = 2;
/// `DAOS_COND_PUNCH`.
const COND_PUNCH: u64 = 1;

/// A view of `len` bytes at `offset` of a shared list, keeping the list alive.
fn slice_of(list: &Arc<SgList>, offset: u64, len: u64) -> SgList {
    let mut iovs = Vec::new();
    let (mut skip, mut left) = (offset, len);
    for iov in list.iovs() {
        if left == 0 {
            break;
        }
        if skip >= iov.len as u64 {
            skip -= iov.len as u64;
            continue;
        }
        let n = (iov.len as u64 - skip).min(left);
        // The pointer arithmetic stays inside the piece: skip < iov.len, skip + n <= iov.len.
        iovs.push(daos_client::IoVec {
            ptr: iov.ptr.wrapping_add(skip as usize),
            len: n as usize,
        });
        left -= n;
        skip = 0;
    }
    SgList::sub_list(list.clone(), iovs)
}

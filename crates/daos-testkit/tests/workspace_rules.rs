//! The workspace's structural rules, read from `cargo metadata` and the crate roots, so that a
//! change that breaks one fails CI instead of waiting for review. ARCHITECTURE.md explains each
//! rule; change a rule there and here together.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates that describe the system without touching it: no I/O, no threads, no FFI. Their
/// normal dependencies are limited to this set plus each other.
const PURE: &[&str] = &["daos-types", "daos-placement", "daos-proto"];
const PURE_MAY_USE: &[&str] = &["crc32c", "uuid", "xxhash-rust"];

/// The only packages allowed to contain `unsafe`: FFI (libfabric, io_uring, ISA-L, the client's
/// caller-owned buffers, the C ABI), O_DIRECT memory, and the server's `pre_exec`. Every other crate root
/// must say `#![forbid(unsafe_code)]`.
const MAY_USE_UNSAFE: &[&str] = &[
    "fabric-sys",
    "daos-fabric",
    "daos-bio",
    "daos-engine",
    "daos-client",
    "daos-server",
    "daos-perf",
    "daos-capi",
    "daos-ec",
];

/// Each system interface has one door.
const ONE_DOOR: &[(&str, &str)] = &[("fabric-sys", "daos-fabric"), ("io-uring", "daos-bio")];

struct Package {
    dir: PathBuf,
    /// (dependency name, kind: "normal", "build" or "dev").
    deps: Vec<(String, String)>,
    roots: Vec<PathBuf>,
}

fn workspace() -> (PathBuf, BTreeMap<String, Package>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let root = PathBuf::from(meta["workspace_root"].as_str().unwrap());
    let mut packages = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
        let deps = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                (d["name"].as_str().unwrap().to_string(), kind)
            })
            .collect();
        let roots = p["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| matches!(k.as_str(), Some("lib" | "rlib" | "cdylib" | "bin")))
            })
            .map(|t| PathBuf::from(t["src_path"].as_str().unwrap()))
            .collect();
        let dir = manifest
            .parent()
            .unwrap()
            .strip_prefix(&root)
            .unwrap()
            .to_path_buf();
        packages.insert(
            p["name"].as_str().unwrap().to_string(),
            Package { dir, deps, roots },
        );
    }
    (root, packages)
}

fn shipped_deps(p: &Package) -> impl Iterator<Item = &str> {
    p.deps
        .iter()
        .filter(|(_, kind)| kind != "dev")
        .map(|(name, _)| name.as_str())
}

#[test]
fn client_side_never_links_the_engine() {
    let (_, packages) = workspace();
    let engine: BTreeSet<&str> = packages
        .iter()
        .filter(|(_, p)| p.dir.starts_with("engine"))
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(engine.contains("daos-vos"), "the engine crates were found");
    for (name, p) in packages
        .iter()
        .filter(|(_, p)| p.dir.starts_with("libdaos"))
    {
        for dep in shipped_deps(p) {
            assert!(
                !engine.contains(dep),
                "{name} (libdaos/) depends on engine crate {dep}"
            );
        }
    }
}

#[test]
fn shared_crates_depend_on_neither_side() {
    let (_, packages) = workspace();
    let sides: BTreeSet<&str> = packages
        .iter()
        .filter(|(_, p)| p.dir.starts_with("engine") || p.dir.starts_with("libdaos"))
        .map(|(n, _)| n.as_str())
        .collect();
    for (name, p) in packages.iter().filter(|(_, p)| p.dir.starts_with("crates")) {
        for dep in shipped_deps(p) {
            assert!(!sides.contains(dep), "{name} (crates/) depends on {dep}");
        }
    }
}

#[test]
fn pure_crates_do_no_io() {
    let (_, packages) = workspace();
    for name in PURE {
        let p = &packages[*name];
        for (dep, kind) in &p.deps {
            if kind == "dev" {
                continue;
            }
            assert!(
                PURE.contains(&dep.as_str()) || PURE_MAY_USE.contains(&dep.as_str()),
                "pure crate {name} depends on {dep}; pure crates do no I/O (ARCHITECTURE.md)"
            );
        }
    }
}

#[test]
fn system_interfaces_have_one_door() {
    let (_, packages) = workspace();
    for (interface, door) in ONE_DOOR {
        for (name, p) in &packages {
            if shipped_deps(p).any(|d| d == *interface) {
                assert_eq!(
                    name, door,
                    "{name} uses {interface} directly; go through {door}"
                );
            }
        }
    }
}

#[test]
fn unsafe_code_stays_where_it_is_allowed() {
    let (root, packages) = workspace();
    for (name, p) in &packages {
        if MAY_USE_UNSAFE.contains(&name.as_str()) {
            continue;
        }
        for src in &p.roots {
            let text = std::fs::read_to_string(src).unwrap();
            assert!(
                text.contains("#![forbid(unsafe_code)]"),
                "{} lacks #![forbid(unsafe_code)]",
                src.strip_prefix(&root).unwrap_or(src).display()
            );
        }
    }
    for name in MAY_USE_UNSAFE {
        assert!(
            packages.contains_key(*name),
            "{name} is listed but no longer exists"
        );
    }
}

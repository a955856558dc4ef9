//! The tools as users run them: `dmg` and `daos` against a real system, JSON envelopes and
//! DER codes, container and snapshot commands, and a copy round trip checked by SHA-256.

use daos_testkit::{make_tree, Options, TestSystem};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

fn daos(system: &TestSystem, args: &[&str]) -> Value {
    let out = system
        .command("daos")
        .arg("-j")
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "daos {args:?}: no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn digests(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let digest = Sha256::digest(std::fs::read(e.path()).unwrap());
            (rel, format!("{digest:x}"))
        })
        .collect()
}

#[test]
fn dmg_system_and_pools() {
    let system = TestSystem::start(Options::default());
    let query = system.dmg_json(&["system", "query"]);
    assert_eq!(query["status"], 0);
    assert_eq!(query["error"], Value::Null);
    assert_eq!(query["response"]["members"][0]["state"], "joined");

    let allocated = || {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(system.bdev_path()).unwrap().blocks() * 512
    };
    let created = system.dmg_json(&["pool", "create", "--size=1G", "tank"]);
    assert_eq!(created["status"], 0, "{created}");
    // The pool's blob space is reserved in the (sparse) data file at creation...
    assert!(allocated() >= 800 << 20, "{} bytes reserved", allocated());
    assert_eq!(created["response"]["svc_reps"], serde_json::json!([0]));
    let again = system.dmg_json(&["pool", "create", "--size=1G", "tank"]);
    assert_eq!(again["status"], -1004, "label taken: DER_EXIST");
    let bad = system.dmg_json(&["pool", "create", "--size=1Q", "other"]);
    assert_eq!(bad["status"], -1003, "bad size: DER_INVAL");

    let list = system.dmg_json(&["pool", "list"]);
    assert_eq!(list["response"]["pools"][0]["label"], "tank");
    let query = system.dmg_json(&["pool", "query", "tank"]);
    assert_eq!(query["response"]["total_targets"], 2);
    let missing = system.dmg_json(&["pool", "query", "nope"]);
    assert_eq!(missing["status"], -1005, "unknown pool label: DER_NONEXIST");

    // Text output too.
    let out = system.dmg(&["pool", "query", "tank"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ntarget=2"));

    assert_eq!(system.dmg_json(&["pool", "destroy", "tank"])["status"], 0);
    // ... and given back to the host when the pool is destroyed.
    assert!(allocated() < 100 << 20, "{} bytes still held", allocated());
    assert_eq!(
        system.dmg_json(&["pool", "list"])["response"]["pools"],
        serde_json::json!([])
    );
}

#[test]
fn containers_snapshots_and_copy() {
    let system = TestSystem::start(Options::default());
    system.create_pool("tank", "2G");
    let made = daos(
        &system,
        &[
            "container",
            "create",
            "tank",
            "fs",
            "--type",
            "POSIX",
            "--properties",
            "cksum:crc32,rd_fac:0",
        ],
    );
    assert_eq!(made["status"], 0, "{made}");
    assert_eq!(made["response"]["container_type"], "POSIX");
    let py = daos(
        &system,
        &["container", "create", "tank", "py", "--type", "PYTHON"],
    );
    assert_eq!(py["status"], 0);
    assert_eq!(
        daos(
            &system,
            &["container", "create", "tank", "fs", "--type", "POSIX"]
        )["status"],
        -1004
    );
    assert_eq!(
        daos(
            &system,
            &[
                "container",
                "create",
                "tank",
                "x",
                "--properties",
                "cksum:sha1"
            ]
        )["status"],
        -2037
    );

    let list = daos(&system, &["container", "list", "tank"]);
    let labels: Vec<&str> = list["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(labels.contains(&"fs") && labels.contains(&"py"));
    let query = daos(&system, &["container", "query", "tank", "fs"]);
    assert_eq!(query["response"]["properties"]["cksum"], 2);
    assert_eq!(query["response"]["container_type"], "POSIX");

    // Snapshots by name and epoch.
    let snap = daos(
        &system,
        &["container", "create-snap", "tank", "fs", "-s", "first"],
    );
    assert_eq!(snap["status"], 0);
    let snaps = daos(&system, &["container", "list-snap", "tank", "fs"]);
    assert_eq!(snaps["response"][0]["name"], "first");
    let destroyed = daos(
        &system,
        &["container", "destroy-snap", "tank", "fs", "-s", "first"],
    );
    assert_eq!(destroyed["status"], 0, "{destroyed}");
    assert_eq!(
        daos(&system, &["container", "list-snap", "tank", "fs"])["response"],
        serde_json::json!([])
    );

    // Copy a tree in and out; every file's digest must match.
    let scratch = tempfile::tempdir().unwrap();
    let src = scratch.path().join("src");
    make_tree(&src, 300, 300_000, 42);
    std::fs::write(src.join("empty"), b"").unwrap();
    std::os::unix::fs::symlink("d1/e1", src.join("link")).unwrap();
    let copied_in = daos(
        &system,
        &[
            "filesystem",
            "copy",
            "--src",
            src.to_str().unwrap(),
            "--dst",
            "daos://tank/fs/in",
        ],
    );
    assert_eq!(copied_in["status"], 0, "{copied_in}");
    assert_eq!(copied_in["response"]["copy_stats"]["num_files"], 301);
    assert_eq!(copied_in["response"]["copy_stats"]["num_links"], 1);
    let dst = scratch.path().join("dst");
    let copied_out = daos(
        &system,
        &[
            "filesystem",
            "copy",
            "--src",
            "daos://tank/fs/in",
            "--dst",
            dst.to_str().unwrap(),
        ],
    );
    assert_eq!(copied_out["status"], 0, "{copied_out}");
    assert_eq!(digests(&src), digests(&dst), "round trip changed some file");
    assert_eq!(
        std::fs::read_link(dst.join("link")).unwrap(),
        Path::new("d1/e1")
    );

    // Copying out of a non-POSIX container fails clearly (EINVAL from dfs_mount).
    let bad = daos(
        &system,
        &[
            "filesystem",
            "copy",
            "--src",
            "daos://tank/py",
            "--dst",
            dst.to_str().unwrap(),
        ],
    );
    assert_eq!(bad["status"], -1003);

    // Destroy refuses nothing here (not open), then the container is gone.
    assert_eq!(
        daos(&system, &["container", "destroy", "tank", "py"])["status"],
        0
    );
    assert_eq!(
        daos(&system, &["container", "query", "tank", "py"])["status"],
        -1005
    );
}

#[test]
fn daos_config_files_start_with_warnings_for_unused_keys() {
    let system = TestSystem::start(Options::default());
    let config = std::fs::read_to_string(system.config_path()).unwrap();
    assert!(config.contains("engines:"));
    // The test kit's config has only keys daos-rs uses; start a second server on a DAOS-style
    // file with extra keys and check it warns and still validates them.
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("{config}nr_hugepages: 4096\ndisable_vmd: true\nsystem_ram_reserved: 16\n")
        .replace(&system.port.to_string(), "1");
    let path = dir.path().join("daos_server.yml");
    std::fs::write(&path, extra).unwrap();
    // Port 1 cannot be bound by a test, so the server reports that after parsing: the warnings
    // come first.
    let out = std::process::Command::new(daos_testkit::bin("daos_server"))
        .args(["start", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for key in ["nr_hugepages", "disable_vmd", "system_ram_reserved"] {
        assert!(err.contains(key), "no warning for {key}: {err}");
    }
}

//! Links Intel ISA-L when the `isal` feature is on (the default), found through pkg-config's
//! `libisal` (Debian `libisal-dev`, installed by `ci/install-deps.sh`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "isal")]
    if let Err(e) = pkg_config::Config::new().probe("libisal") {
        panic!(
            "daos-ec: ISA-L not found through pkg-config (`libisal`): {e}\n\
             Install it (Debian: `apt-get install libisal-dev`, see ci/install-deps.sh) or build \
             daos-ec with `--no-default-features` to use only the pure-Rust codec."
        );
    }
}

//! Compiles the C shim against the system libfabric headers and links libfabric.
fn main() {
    println!("cargo:rerun-if-changed=shim/dfab.c");
    println!("cargo:rerun-if-changed=shim/dfab.h");
    if !std::path::Path::new("/usr/include/rdma/fabric.h").exists()
        && std::env::var_os("LIBFABRIC_INCLUDE").is_none()
    {
        println!(
            "cargo:warning=libfabric headers not found: install libfabric-dev (Debian) or set LIBFABRIC_INCLUDE"
        );
    }
    let mut build = cc::Build::new();
    build
        .file("shim/dfab.c")
        .include("shim")
        .flag_if_supported("-Wall")
        .opt_level(2);
    if let Some(include) = std::env::var_os("LIBFABRIC_INCLUDE") {
        build.include(include);
    }
    build.compile("dfab");
    if let Some(lib) = std::env::var_os("LIBFABRIC_LIB") {
        println!("cargo:rustc-link-search=native={}", lib.to_string_lossy());
    }
    println!("cargo:rustc-link-lib=fabric");
}

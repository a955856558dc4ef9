//! Gives libdaos DAOS's soname, so programs linked against it record `libdaos.so.2`.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdaos.so.2");
}

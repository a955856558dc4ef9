//! Generates the gRPC client and server for `proto/mgmt.proto` with a vendored `protoc`, so a
//! fresh machine needs no system protobuf compiler.
fn main() {
    println!("cargo:rerun-if-changed=proto/mgmt.proto");
    if std::env::var_os("PROTOC").is_none() {
        let protoc =
            protoc_bin_vendored::protoc_bin_path().expect("vendored protoc for this platform");
        // Build scripts run single-threaded, so changing the environment here is sound.
        std::env::set_var("PROTOC", protoc);
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/mgmt.proto"], &["proto"])
        .expect("compiling proto/mgmt.proto");
}

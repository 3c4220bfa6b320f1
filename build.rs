//! Compiles `proto/noisegate/v1/*.proto` with a pure-Rust protobuf compiler (protox), so a
//! fresh machine builds without `protoc`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/noisegate/v1/records.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}

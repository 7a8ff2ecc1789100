//! Compiles the kiosk's Slint UI (`ui/kiosk.slint`) into Rust; debug info (element ids for UI
//! tests) is on for debug builds only.
fn main() {
    let debug = std::env::var("PROFILE")
        .map(|p| p == "debug")
        .unwrap_or(false);
    let config = slint_build::CompilerConfiguration::new().with_debug_info(debug);
    slint_build::compile_with_config("ui/kiosk.slint", config).expect("the kiosk UI compiles");
}

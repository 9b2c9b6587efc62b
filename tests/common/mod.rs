//! What the binary's test suites share: the command with a clean environment, and reading
//! where `serve` listens from its banner.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

/// `holdfast` with only `PATH`, the data dir, warn-level logs and, when the suite runs on
/// PostgreSQL, its database.
pub fn holdfast(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOLDFAST_DATA_DIR", data_dir)
        .env("HOLDFAST_LOG_LEVEL", "warn");
    if let Ok(url) = std::env::var("HOLDFAST_TEST_DATABASE_URL") {
        cmd.env("HOLDFAST_DATABASE_URL", url);
    }
    cmd
}

/// `host:port` from serve's first line ("Holdfast … listening on http(s)://127.0.0.1:PORT …").
pub fn listening_address(banner: &str) -> String {
    banner
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in the banner: {banner}"))
        .to_owned()
}

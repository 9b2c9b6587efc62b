//! What the binary's test suites share: the command with a clean environment, and reading
//! where `serve` listens from its banner.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `holdfast` with only `PATH`, the data dir, warn-level logs and, when the suite runs on
/// PostgreSQL, its database and the master key every server on that shared database holds
/// (written into an existing data dir that has none yet; a data dir the command is to create,
/// such as a restore's target, is left to it).
pub fn holdfast(data_dir: &Path) -> Command {
    if std::env::var("HOLDFAST_TEST_DATABASE_URL").is_ok() {
        shared_master_key_in(data_dir);
    }
    holdfast_keyless(data_dir)
}

/// [`holdfast`] that never writes a key into the data dir: for commands whose data dir must
/// stay as the test made it (a restore's target) and that start no server on the shared
/// database.
pub fn holdfast_keyless(data_dir: &Path) -> Command {
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

/// Puts the shared PostgreSQL test database's master key in `data_dir` unless a key is there.
fn shared_master_key_in(data_dir: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("master.key");
    if data_dir.is_dir() && !path.exists() {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(
            &mut file,
            format!("{}\n", holdfast_testkit::SHARED_TEST_MASTER_KEY_HEX).as_bytes(),
        )
        .unwrap();
    }
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

/// Starts `cmd` (a `holdfast … serve` on `127.0.0.1:0`), returns the child and the address its
/// banner names, and keeps reading its output so it never blocks on a full pipe.
pub fn start_serving(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = listening_address(&lines.next().unwrap().unwrap());
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

//! The data directory and its master key. Threat note: docs/design/master-key.md.

use holdfast_core::ops::config::Config;
use holdfast_core::redact::register_secret;
use holdfast_core::secret::Secret;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const MASTER_KEY_FILE: &str = "master.key";

/// Creates the data directory (0700) and, unless `master_key_file` names the key elsewhere,
/// the master key (0600) in it on first start; refuses a key file that group or others can
/// read or write, and warns when the key sits beside the SQLite database it protects. Returns
/// the key's 32 bytes.
pub fn prepare(config: &Config) -> Result<Secret<Vec<u8>>, String> {
    let dir = &config.data_dir;
    if !dir.exists() {
        fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    let path = match &config.master_key_file {
        Some(file) => {
            if !file.exists() {
                return Err(format!(
                    "master key file {} (HOLDFAST_MASTER_KEY_FILE) does not exist; make one with: \
                     openssl rand -hex 32 > {0} && chmod 600 {0} (and keep a copy off this machine)",
                    file.display()
                ));
            }
            file.clone()
        }
        None => {
            let path = dir.join(MASTER_KEY_FILE);
            if !path.exists() {
                create_key(&path)?;
            }
            if beside_the_database(config) {
                tracing::warn!(
                    key = %path.display(),
                    "the master key sits beside the database it protects: whoever copies the \
                     data dir can read every sealed secret; keep it apart with \
                     --master-key-file (HOLDFAST_MASTER_KEY_FILE), e.g. a systemd credential \
                     (contrib/holdfast.service)"
                );
            }
            path
        }
    };
    read_key_file(&path)
}

/// Reads a master key file: 64 hex digits in a regular file that neither group nor others can
/// read or write. Returns the key's 32 bytes (registered for redaction from logs).
pub fn read_key_file(path: &Path) -> Result<Secret<Vec<u8>>, String> {
    let mode = fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "master key file {} is accessible by group or others (mode {:o}); fix it with: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    // A regular file of a key's size: never a FIFO or a device (a read would block or never
    // end), never a huge file read whole.
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() || meta.len() > 1024 {
        return Err(format!(
            "master key file {} is not a regular file of 64 hex digits (a new key: openssl rand -hex 32; a lost one: restore it from its copy)",
            path.display()
        ));
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key = text.trim().to_owned();
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "master key file {} is not 64 hex digits (a new key: openssl rand -hex 32; a lost one: restore it from its copy)",
            path.display()
        ));
    }
    register_secret(&key);
    let bytes = (0..key.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&key[i..i + 2], 16).ok())
        .collect();
    Ok(Secret::new(bytes))
}

fn create_key(path: &Path) -> Result<(), String> {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create master key {}: {e}", path.display()))?;
    file.write_all(format!("{hex}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write master key {}: {e}", path.display()))
}

/// Whether the database is the SQLite file inside the data dir, next to `master.key`.
fn beside_the_database(config: &Config) -> bool {
    config
        .database_url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .is_some_and(|file| Path::new(file).parent() == Some(config.data_dir.as_path()))
}

//! Python tools from PyPI in one virtual environment: the Standard Webhooks reference library
//! (`standardwebhooks`), so tests check Holdfast's deliveries with the library receivers use,
//! and any other pinned package a test needs (`ensure_package`, e.g. the `sslyze` TLS scanner).
//!
//! The environment lives at `$HOLDFAST_VENV` (default `/var/tmp/holdfast-venv`, shared with the
//! API fuzzer) and is created on first use with `python3 -m venv` and `pip install`. Needs
//! `python3` with the `venv` module. Test-only: setup failures are errors the test unwraps.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The pinned library version.
pub const STANDARDWEBHOOKS: &str = "1.1.0";
static INSTALL: Mutex<()> = Mutex::new(());
const INSTALL_WAIT: Duration = Duration::from_secs(180);

pub fn venv_dir() -> PathBuf {
    std::env::var_os("HOLDFAST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/holdfast-venv"))
}

fn python() -> PathBuf {
    venv_dir().join("bin/python")
}

/// The environment's `bin/` folder, where installed packages put their commands.
pub fn venv_bin() -> PathBuf {
    venv_dir().join("bin")
}

fn installed(package: &str, version: &str) -> bool {
    Command::new(python())
        .args([
            "-c",
            &format!(
                "import importlib.metadata as m, sys; sys.exit(0 if m.version('{package}') == '{version}' else 1)"
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e} (is python3 installed?)"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Creates the environment and installs the library unless it is there at the pinned version.
pub fn ensure_standardwebhooks() -> Result<(), String> {
    ensure_package("standardwebhooks", STANDARDWEBHOOKS)
}

/// Creates the environment and installs `package` at `version` unless it is there already.
/// Safe from many threads and processes at once (a lock file next to the environment).
pub fn ensure_package(package: &str, version: &str) -> Result<(), String> {
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    if installed(package, version) {
        return Ok(());
    }
    let dir = venv_dir();
    let lock = dir.with_extension("install-lock");
    let deadline = Instant::now() + INSTALL_WAIT;
    loop {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", std::process::id());
                let result = (|| {
                    if installed(package, version) {
                        return Ok(());
                    }
                    if !python().exists() {
                        run(
                            Command::new("python3").args(["-m", "venv"]).arg(&dir),
                            "python3 -m venv",
                        )?;
                    }
                    run(
                        Command::new(dir.join("bin/pip")).args([
                            "install",
                            "-q",
                            &format!("{package}=={version}"),
                        ]),
                        &format!("pip install {package}"),
                    )
                })();
                let _ = std::fs::remove_file(&lock);
                return result;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > INSTALL_WAIT);
                if stale {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                if Instant::now() > deadline {
                    return Err(format!("gave up waiting for {}", lock.display()));
                }
                std::thread::sleep(Duration::from_millis(250));
                if installed(package, version) {
                    return Ok(());
                }
            }
            Err(e) => return Err(format!("cannot create {}: {e}", lock.display())),
        }
    }
}

const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
job = json.load(sys.stdin)
try:
    payload = Webhook(job["secret"]).verify(job["body"], job["headers"])
except Exception as e:
    print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
else:
    print(json.dumps({"ok": True, "payload": payload}))
"#;

const SIGN: &str = r#"
import json, sys, datetime
from standardwebhooks.webhooks import Webhook
job = json.load(sys.stdin)
at = datetime.datetime.fromtimestamp(job["timestamp"], tz=datetime.timezone.utc)
print(Webhook(job["secret"]).sign(job["msg_id"], at, job["body"]))
"#;

fn run_python(script: &str, job: &serde_json::Value) -> String {
    if let Err(e) = ensure_standardwebhooks() {
        panic!("the Standard Webhooks library is unavailable: {e}");
    }
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(job.to_string().as_bytes())
        .expect("job written");
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The `webhook-signature` value the reference library computes, as a sender would send it.
pub fn standard_sign(secret: &str, msg_id: &str, timestamp_s: i64, body: &str) -> String {
    let job = serde_json::json!({"secret": secret, "msg_id": msg_id, "timestamp": timestamp_s, "body": body});
    run_python(SIGN, &job)
}

/// What the reference library says about one delivery: `Ok(payload)` when it verifies,
/// `Err(reason)` when the library refuses it. Infrastructure failures panic.
pub fn standard_verify(
    secret: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<serde_json::Value, String> {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let job = serde_json::json!({"secret": secret, "headers": headers, "body": body});
    let stdout = run_python(VERIFY, &job);
    let answer: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("unexpected output from the verifier: {stdout}"));
    if answer["ok"] == true {
        Ok(answer["payload"].clone())
    } else {
        Err(answer["error"].as_str().unwrap_or_default().to_owned())
    }
}

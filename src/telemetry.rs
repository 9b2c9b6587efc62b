//! Logging: tracing to stderr through the redaction layer, as text or JSON.

use holdfast_core::ops::config::{Config, LogFormat};
use holdfast_core::redact::RedactingMakeWriter;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(config: &Config) -> Result<(), String> {
    // Every configured secret is masked before the first line can be written.
    config.register_secrets();
    let filter = EnvFilter::try_new(&config.log_level).map_err(|e| {
        format!(
            "invalid configuration: log_level (--log-level, HOLDFAST_LOG_LEVEL): '{}': {e}",
            config.log_level
        )
    })?;
    let writer = RedactingMakeWriter(std::io::stderr);
    // Colour only for a person at a terminal: a file, a pipe or a log collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}

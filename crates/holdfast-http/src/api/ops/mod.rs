//! Operations: health, metrics, the OpenAPI document, security.txt, the cron tick, the audit trail.

pub mod audit;
pub mod probes;

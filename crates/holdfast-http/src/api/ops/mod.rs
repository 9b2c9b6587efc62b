//! Operations: health, metrics, the OpenAPI document, security.txt, the cron tick, the audit
//! trail, the billing gate's receiver and plan.

pub mod audit;
pub mod billing;
pub mod probes;

//! CRM pages: the workspace's privacy mode and double opt-in.

pub mod privacy_settings;

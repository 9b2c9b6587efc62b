//! Modules a workspace turns on or off. A route of a module that is off answers 404, and the
//! console hides it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! modules {
    ($($variant:ident => $name:literal, $on:literal: $doc:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Module {
            $(#[doc = $doc] $variant,)*
        }

        impl Module {
            pub const ALL: &'static [Module] = &[$(Module::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Module::$variant => $name,)*
                }
            }

            pub fn describe(self) -> &'static str {
                match self {
                    $(Module::$variant => $doc,)*
                }
            }

            /// On in a new workspace.
            pub fn on_by_default(self) -> bool {
                match self {
                    $(Module::$variant => $on,)*
                }
            }
        }
    };
}

modules! {
    Helpdesk => "helpdesk", true: "Tickets from email, the website widget and the API",
    Crm => "crm", true: "Contacts, companies and consent",
    FieldService => "field_service", true: "Jobs, visits and technicians",
    Invoicing => "invoicing", true: "Invoices and public payment links",
    Automation => "automation", true: "Rules that act on events",
    AiAssistant => "ai_assistant", false: "AI drafts that wait for a person's approval",
    AgentDoor => "agent_door", false: "Access for outside AI agents, under the same guards",
    ClientPortal => "client_portal", true: "Customers see their tickets, jobs and invoices",
}

impl Module {
    pub fn parse(text: &str) -> Option<Module> {
        Self::ALL.iter().copied().find(|m| m.as_str() == text)
    }
}

/// The modules that are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleSet(u16);

impl ModuleSet {
    pub fn defaults() -> ModuleSet {
        ModuleSet::of(
            &Module::ALL
                .iter()
                .copied()
                .filter(|m| m.on_by_default())
                .collect::<Vec<_>>(),
        )
    }

    pub fn of(modules: &[Module]) -> ModuleSet {
        ModuleSet(modules.iter().fold(0, |acc, m| acc | 1 << (*m as u16)))
    }

    pub fn contains(self, m: Module) -> bool {
        self.0 & (1 << (m as u16)) != 0
    }

    pub fn to_vec(self) -> Vec<Module> {
        Module::ALL
            .iter()
            .copied()
            .filter(|m| self.contains(*m))
            .collect()
    }

    /// As stored: a JSON array of names.
    pub fn to_json(self) -> String {
        serde_json::to_string(&self.to_vec().iter().map(|m| m.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".to_owned())
    }

    /// The stored JSON array; unknown names are ignored.
    pub fn from_json(text: &str) -> ModuleSet {
        let names: Vec<String> = serde_json::from_str(text).unwrap_or_default();
        ModuleSet::of(
            &names
                .iter()
                .filter_map(|n| Module::parse(n))
                .collect::<Vec<_>>(),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ModuleOut {
    pub module: String,
    pub enabled: bool,
    pub description: String,
}

/// Body of `PATCH /api/v1/modules`: the complete list of modules to have on.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModulesIn {
    #[schemars(length(max = 16))]
    pub enabled: Vec<String>,
}

impl ModulesIn {
    pub fn validate(&self) -> Result<ModuleSet, Vec<crate::validate::FieldError>> {
        let mut found = Vec::new();
        for name in &self.enabled {
            match Module::parse(name.trim()) {
                Some(m) => found.push(m),
                None => {
                    let names: Vec<&str> = Module::ALL.iter().map(|m| m.as_str()).collect();
                    return Err(vec![crate::validate::FieldError::new(
                        "enabled",
                        format!("'{name}' is not a module; modules: {}", names.join(", ")),
                    )]);
                }
            }
        }
        Ok(ModuleSet::of(&found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_and_ai_is_opt_in() {
        let d = ModuleSet::defaults();
        assert!(d.contains(Module::Crm));
        assert!(!d.contains(Module::AiAssistant) && !d.contains(Module::AgentDoor));
        assert_eq!(ModuleSet::from_json(&d.to_json()), d);
        assert!(
            ModulesIn {
                enabled: vec!["crm".into(), "telepathy".into()]
            }
            .validate()
            .is_err()
        );
    }
}

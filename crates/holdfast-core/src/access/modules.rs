//! Modules a workspace turns on or off. A route of a module that is off answers 404, and the
//! console hides it. A module is offered (listed, and possible to turn on) only once routes
//! are declared in it: the HTTP layer's route table says which ([`ModuleSet`] of those is
//! passed in as `offered`), so a module with nothing behind it is never advertised.

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

            /// On in a new workspace, once the module is offered.
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
    Automation => "automation", true: "Signed outbound webhooks and verified inbound provider webhooks",
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
    /// The modules to have on, each one of `offered`; else what is wrong with the first
    /// name that is not (field `enabled`).
    pub fn validate(&self, offered: ModuleSet) -> Result<ModuleSet, crate::validate::FieldError> {
        let choices = offered
            .to_vec()
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut found = Vec::new();
        for name in &self.enabled {
            match Module::parse(name.trim()) {
                Some(m) if offered.contains(m) => found.push(m),
                Some(m) => {
                    return Err(crate::validate::FieldError::new(
                        "enabled",
                        format!(
                            "'{}' is not available yet: nothing in this version of Holdfast serves it; modules: {choices}",
                            m.as_str()
                        ),
                    ));
                }
                None => {
                    return Err(crate::validate::FieldError::new(
                        "enabled",
                        format!(
                            "'{}' is not a module; modules: {choices}",
                            name.chars().take(40).collect::<String>()
                        ),
                    ));
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
        let offered = ModuleSet::of(&[Module::Crm, Module::Helpdesk]);
        let ask = |names: &[&str]| {
            ModulesIn {
                enabled: names.iter().map(|n| n.to_string()).collect(),
            }
            .validate(offered)
        };
        let e = ask(&["crm", "telepathy"]).unwrap_err();
        assert!(e.message.contains("'telepathy' is not a module"), "{e:?}");
        let e = ask(&["crm", "field_service"]).unwrap_err();
        assert!(
            e.message.contains("'field_service' is not available yet")
                && e.message.contains("helpdesk, crm"),
            "{e:?}"
        );
        assert_eq!(ask(&[" crm "]), Ok(ModuleSet::of(&[Module::Crm])));
    }
}

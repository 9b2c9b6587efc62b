//! The settings section's own navigation: every settings page, with what it needs (a signed-in
//! person, a permission, a module), so the index and each page's side list show only the pages
//! the person may open. The pages themselves live in `pages/<feature>/`.

use holdfast_core::access::modules::Module;
use holdfast_core::access::policy::Permission;
use holdfast_store::identity::auth::{Actor, Principal};

/// What opening a settings page takes.
#[derive(Clone, Copy)]
enum Needs {
    /// A signed-in person's own account (API keys have none).
    Person,
    /// The guard's permission, in a module when the page belongs to one.
    Permission(Permission, Option<Module>),
}

/// One settings page as the index and the side list show it.
pub struct SettingsLink {
    pub href: &'static str,
    pub label: &'static str,
    pub about: &'static str,
    pub current: bool,
}

/// Every settings page: where, its name, what it is for, and what it takes (the same
/// permission and module as its route in the table).
const PAGES: &[(&str, &str, &str, Needs)] = &[
    (
        "/app/settings/profile",
        "Profile and password",
        "Who you are signed in as; change your password.",
        Needs::Person,
    ),
    (
        "/app/settings/two-factor",
        "Two-factor sign-in",
        "Add an authenticator app, see your recovery codes once, or turn it off.",
        Needs::Person,
    ),
    (
        "/app/settings/sessions",
        "Sessions",
        "Where you are signed in; sign out of any of them.",
        Needs::Person,
    ),
];

/// The settings pages `actor` may open, `current` (an `href`) marked.
pub fn settings_links(actor: &Actor, current: &str) -> Vec<SettingsLink> {
    let person = matches!(actor.principal, Principal::User { .. });
    PAGES
        .iter()
        .filter(|(_, _, _, needs)| match needs {
            Needs::Person => person,
            Needs::Permission(permission, module) => {
                actor.role.grants(*permission) && module.is_none_or(|m| actor.modules.contains(m))
            }
        })
        .map(|(href, label, about, _)| SettingsLink {
            href,
            label,
            about,
            current: *href == current,
        })
        .collect()
}

/// What every settings page shows around its own content: the side list of settings pages,
/// and a line saying what was just done or what went wrong.
pub struct Shell {
    pub sections: Vec<SettingsLink>,
    pub done: Option<String>,
    pub error: Option<String>,
}

impl Shell {
    pub fn new(actor: &Actor, current: &str) -> Shell {
        Shell {
            sections: settings_links(actor, current),
            done: None,
            error: None,
        }
    }

    /// With what was just done (a redirect after a form names it in `?done=`).
    pub fn done(mut self, message: Option<&str>) -> Shell {
        self.done = message.map(str::to_owned);
        self
    }

    /// With what went wrong.
    pub fn error(mut self, message: String) -> Shell {
        self.error = Some(message);
        self
    }
}

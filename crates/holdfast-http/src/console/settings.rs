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
    (
        "/app/settings/members",
        "Members and invitations",
        "Who belongs to the workspace, with which role; invite someone.",
        Needs::Permission(Permission::MembersRead, None),
    ),
    (
        "/app/settings/roles",
        "Roles and field rules",
        "What each role may do and see; make roles of your own.",
        Needs::Permission(Permission::MembersRead, None),
    ),
    (
        "/app/settings/api-keys",
        "API keys",
        "Keys for scripts and integrations, each with a role.",
        Needs::Permission(Permission::SettingsSecurity, None),
    ),
    (
        "/app/settings/webhooks",
        "Webhooks",
        "Tell other systems when something happens: endpoints, events, deliveries, secrets.",
        Needs::Permission(Permission::WebhooksManage, Some(Module::Automation)),
    ),
    (
        "/app/settings/inbound-hooks",
        "Inbound webhooks",
        "Each provider's receiver URL and its signing secret.",
        Needs::Permission(Permission::SettingsSecurity, Some(Module::Automation)),
    ),
    (
        "/app/settings/inbound-events",
        "Inbound events",
        "What providers sent: each event, verified, and whether it was handled.",
        Needs::Permission(Permission::AutomationManage, Some(Module::Automation)),
    ),
    (
        "/app/settings/widget",
        "Website widget",
        "Turn it on, choose where it may run, copy the embed snippet, rotate its keys.",
        Needs::Permission(Permission::SettingsSecurity, Some(Module::Helpdesk)),
    ),
    (
        "/app/settings/privacy",
        "Privacy mode and double opt-in",
        "GDPR or CCPA rules for sending, and which channels confirm new consent.",
        Needs::Permission(Permission::ContactsRead, Some(Module::Crm)),
    ),
    (
        "/app/settings/portal",
        "Client portal",
        "Who may sign in to see their requests, visits and invoices; the portal's address.",
        Needs::Permission(Permission::SettingsSecurity, Some(Module::ClientPortal)),
    ),
    (
        "/app/settings/retention",
        "Retention",
        "How long closed tickets, messages and inactive contacts are kept.",
        Needs::Permission(Permission::ContactsErase, None),
    ),
    (
        "/app/settings/invoicing",
        "Invoicing",
        "The business as printed on invoices, number prefixes, terms and payment instructions.",
        Needs::Permission(Permission::InvoicesRead, Some(Module::Invoicing)),
    ),
    (
        "/app/settings/payments",
        "Payment accounts",
        "Connect Stripe, Square or Mercado Pago so customers can pay invoices online.",
        Needs::Permission(Permission::InvoicesRead, Some(Module::Invoicing)),
    ),
    (
        "/app/settings/workspace",
        "Workspace",
        "The workspace's name and its address for signing in.",
        Needs::Permission(Permission::MembersRead, None),
    ),
    (
        "/app/settings/modules",
        "Modules",
        "Which parts of Holdfast this workspace uses.",
        Needs::Permission(Permission::MembersRead, None),
    ),
    (
        "/app/settings/security",
        "Security policy",
        "Two-factor sign-in for everyone, and how long console sessions last.",
        Needs::Permission(Permission::MembersRead, None),
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

/// A role someone may be given, as a form's choice: its id (a built-in role's name or a
/// custom role's `rol_…`) and its name.
pub struct RoleChoice {
    pub id: String,
    pub name: String,
}

/// The roles a staff form offers: every role of the workspace but `client` (the portal's).
pub fn role_choices(roles: &[holdfast_core::access::roles::RoleOut]) -> Vec<RoleChoice> {
    roles
        .iter()
        .filter(|r| r.id != "client")
        .map(|r| RoleChoice {
            id: r.id.clone(),
            name: if r.builtin {
                r.name.clone()
            } else {
                format!("{} (custom)", r.name)
            },
        })
        .collect()
}

/// The name a role is shown by: a custom role's own name for its id, else the text itself.
pub fn role_name(roles: &[holdfast_core::access::roles::RoleOut], stored: &str) -> String {
    roles
        .iter()
        .find(|r| r.id == stored)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| stored.to_owned())
}

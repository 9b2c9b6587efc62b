//! Authorisation policy as data: a closed set of permissions (resource × action), built-in roles
//! with fixed permission sets, and custom roles (a workspace's own permission sets). Routes
//! declare a [`Permission`]; the guard asks [`Role::grants`]. No handler compares role names.

use crate::access::fields::FieldRules;
use serde::Serialize;

macro_rules! permissions {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Every permission Holdfast knows, as `resource.action`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Permission {
            $(#[doc = $doc] $variant,)*
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            pub fn describe(self) -> &'static str {
                match self {
                    $(Permission::$variant => $doc,)*
                }
            }
        }
    };
}

permissions! {
    ContactsRead => "contacts.read": "See contacts",
    ContactsWrite => "contacts.write": "Create and change contacts (deleting one is erasing it: contacts.erase)",
    ContactsExport => "contacts.export": "Export contacts in bulk",
    ContactsErase => "contacts.erase": "Erase a contact's personal data (GDPR)",
    TicketsRead => "tickets.read": "See help-desk tickets and conversations",
    TicketsWrite => "tickets.write": "Reply to, assign and close tickets",
    JobsRead => "jobs.read": "See field-service jobs",
    JobsWrite => "jobs.write": "Schedule and update jobs",
    JobsAll => "jobs.all": "Every job, not only those one is assigned to (without it, a member reaches only their own jobs)",
    InvoicesRead => "invoices.read": "See invoices and amounts",
    InvoicesWrite => "invoices.write": "Issue and change invoices",
    AutomationManage => "automation.manage": "Build and change automations",
    AiUse => "ai.use": "Ask the AI assistant for drafts",
    ApprovalsDecide => "approvals.decide": "Approve or reject AI drafts and other pending actions",
    WebhooksManage => "webhooks.manage": "Register and change webhook endpoints",
    MembersRead => "members.read": "See the workspace's members",
    MembersManage => "members.manage": "Invite, re-role and remove members",
    WorkspaceManage => "workspace.manage": "Change the workspace's name and general settings",
    SettingsSecurity => "settings.security": "Security settings: API keys, custom roles, modules, the 2FA policy, allowed origins, secrets",
    AuditRead => "audit.read": "Read and export the audit trail",
    OwnersManage => "owners.manage": "Make or remove owners",
}

impl Permission {
    pub fn parse(text: &str) -> Option<Permission> {
        Self::ALL.iter().copied().find(|p| p.as_str() == text)
    }

    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// A set of permissions (a bit per permission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub fn of(permissions: &[Permission]) -> PermissionSet {
        PermissionSet(permissions.iter().fold(0, |acc, p| acc | p.bit()))
    }

    pub fn all() -> PermissionSet {
        Self::of(Permission::ALL)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn without(self, p: Permission) -> PermissionSet {
        PermissionSet(self.0 & !p.bit())
    }

    /// In declaration order.
    pub fn to_vec(self) -> Vec<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.contains(*p))
            .collect()
    }
}

macro_rules! builtin_roles {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// The roles every workspace has. They cannot be edited or deleted.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum BuiltinRole {
            $(#[doc = $doc] $variant,)*
        }

        impl BuiltinRole {
            pub const ALL: &'static [BuiltinRole] = &[$(BuiltinRole::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(BuiltinRole::$variant => $name,)*
                }
            }

            pub fn describe(self) -> &'static str {
                match self {
                    $(BuiltinRole::$variant => $doc,)*
                }
            }
        }
    };
}

builtin_roles! {
    Owner => "owner": "Everything, including making and removing owners",
    Admin => "admin": "Everything except making or removing owners",
    Manager => "manager": "Runs the operation: customers, tickets, jobs, approvals, automations; reads invoices and the audit trail",
    Support => "support": "Help desk: tickets and the contacts behind them",
    Sales => "sales": "Contacts and their export; reads tickets and invoices",
    Technician => "technician": "Field work: jobs, and the contacts they are for",
    Marketing => "marketing": "Reads and exports contacts",
    Finance => "finance": "Invoices, and the contacts and jobs they bill",
    Viewer => "viewer": "Reads contacts, tickets, jobs and invoices",
    Client => "client": "Reserved for the client portal: never any staff access",
}

impl BuiltinRole {
    pub fn parse(text: &str) -> Option<BuiltinRole> {
        Self::ALL.iter().copied().find(|r| r.as_str() == text)
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            Self::Owner => PermissionSet::all(),
            Self::Admin => PermissionSet::all().without(OwnersManage),
            Self::Manager => PermissionSet::of(&[
                ContactsRead,
                ContactsWrite,
                ContactsExport,
                TicketsRead,
                TicketsWrite,
                JobsRead,
                JobsWrite,
                JobsAll,
                InvoicesRead,
                AutomationManage,
                AiUse,
                ApprovalsDecide,
                MembersRead,
                AuditRead,
            ]),
            Self::Support => PermissionSet::of(&[
                ContactsRead,
                ContactsWrite,
                TicketsRead,
                TicketsWrite,
                AiUse,
                MembersRead,
            ]),
            Self::Sales => PermissionSet::of(&[
                ContactsRead,
                ContactsWrite,
                ContactsExport,
                TicketsRead,
                InvoicesRead,
                AiUse,
                MembersRead,
            ]),
            Self::Technician => {
                PermissionSet::of(&[ContactsRead, JobsRead, JobsWrite, MembersRead])
            }
            Self::Marketing => PermissionSet::of(&[ContactsRead, ContactsExport, MembersRead]),
            Self::Finance => PermissionSet::of(&[
                ContactsRead,
                JobsRead,
                JobsAll,
                InvoicesRead,
                InvoicesWrite,
                MembersRead,
            ]),
            Self::Viewer => PermissionSet::of(&[
                ContactsRead,
                TicketsRead,
                JobsRead,
                JobsAll,
                InvoicesRead,
                MembersRead,
            ]),
            Self::Client => PermissionSet::default(),
        }
    }
}

/// The role a credential acts with: a built-in role, or a workspace's custom role (`rol_…`),
/// resolved to its permissions when the credential is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    key: String,
    builtin: Option<BuiltinRole>,
    permissions: PermissionSet,
    /// Narrowing field rules (see `fields`).
    field_rules: FieldRules,
}

impl Role {
    pub fn builtin(role: BuiltinRole) -> Role {
        Role {
            key: role.as_str().to_owned(),
            builtin: Some(role),
            permissions: role.permissions(),
            field_rules: crate::access::fields::builtin_rules(role),
        }
    }

    pub fn custom(id: String, permissions: PermissionSet) -> Role {
        Role {
            key: id,
            builtin: None,
            permissions,
            field_rules: FieldRules::default(),
        }
    }

    pub fn with_field_rules(mut self, rules: FieldRules) -> Role {
        self.field_rules = rules;
        self
    }

    pub fn field_rules(&self) -> &FieldRules {
        &self.field_rules
    }

    /// As stored on memberships, keys and invitations: `owner`, `support` … or `rol_…`.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn builtin_role(&self) -> Option<BuiltinRole> {
        self.builtin
    }

    pub fn is_owner(&self) -> bool {
        self.builtin == Some(BuiltinRole::Owner)
    }

    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    pub fn grants(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// A credential may hand out only roles whose every permission, and every field, it holds
    /// itself.
    pub fn may_grant(&self, other: &Role) -> bool {
        other.permissions.is_subset_of(self.permissions)
            && crate::access::fields::Field::ALL.iter().all(|f| {
                crate::access::fields::access(other, *f) <= crate::access::fields::access(self, *f)
            })
    }
}

/// A role named in a request, before it is resolved against the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Builtin(BuiltinRole),
    /// A custom role's id (`rol_…`).
    Custom(String),
}

/// The Markdown table of built-in roles and their permissions (the README embeds it; a test
/// keeps the two in sync).
pub fn roles_table() -> String {
    let mut out = String::from("| permission |");
    for role in BuiltinRole::ALL {
        out.push_str(&format!(" {} |", role.as_str()));
    }
    out.push_str("\n|---|");
    for _ in BuiltinRole::ALL {
        out.push_str(":-:|");
    }
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` |", p.as_str()));
        for role in BuiltinRole::ALL {
            out.push_str(if role.permissions().contains(*p) {
                " ✓ |"
            } else {
                "   |"
            });
        }
        out.push('\n');
    }
    out.push_str("\n| field | ");
    out.push_str(
        &BuiltinRole::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" |\n|---|");
    for _ in BuiltinRole::ALL {
        out.push_str(":-:|");
    }
    out.push('\n');
    for field in crate::access::fields::Field::ALL {
        out.push_str(&format!("| `{}` |", field.key()));
        for role in BuiltinRole::ALL {
            let access = crate::access::fields::access(&Role::builtin(*role), *field);
            out.push_str(&format!(" {} |", access.as_str()));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::parse(r.as_str()), Some(*r));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert!(Permission::ALL.len() <= 64, "a PermissionSet holds 64");
        assert_eq!(BuiltinRole::parse("root"), None);
    }

    #[test]
    fn granting_needs_every_permission_of_the_granted_role() {
        let owner = Role::builtin(BuiltinRole::Owner);
        let admin = Role::builtin(BuiltinRole::Admin);
        let support = Role::builtin(BuiltinRole::Support);
        assert!(owner.may_grant(&admin) && owner.may_grant(&owner));
        assert!(admin.may_grant(&support) && admin.may_grant(&admin));
        assert!(!admin.may_grant(&owner), "owners are made by owners");
        assert!(!support.may_grant(&Role::builtin(BuiltinRole::Sales)));
        let custom = Role::custom(
            "rol_x".into(),
            PermissionSet::of(&[Permission::ContactsRead, Permission::TicketsRead]),
        );
        assert!(admin.may_grant(&custom));
        assert!(!Role::builtin(BuiltinRole::Marketing).may_grant(&custom));
    }

    #[test]
    fn clients_have_no_staff_permission_and_viewers_only_read() {
        let client = Role::builtin(BuiltinRole::Client);
        assert!(Permission::ALL.iter().all(|p| !client.grants(*p)));
        let viewer = Role::builtin(BuiltinRole::Viewer);
        assert!(
            viewer
                .permissions()
                .to_vec()
                .iter()
                .all(|p| p.as_str().ends_with(".read") || *p == Permission::JobsAll),
            "a viewer reads (jobs.all widens which jobs it reads, not what it may do)"
        );
    }
}

//! Authorisation policy: which role holds which permission. Handlers never compare role
//! names; routes declare a [`Permission`] and the guard asks [`Role::grants`].

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ContactsRead,
    ContactsWrite,
    ApiKeysManage,
    MembersRead,
    MembersManage,
    WorkspaceManage,
    AuditRead,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactsRead => "contacts.read",
            Self::ContactsWrite => "contacts.write",
            Self::ApiKeysManage => "api_keys.manage",
            Self::MembersRead => "members.read",
            Self::MembersManage => "members.manage",
            Self::WorkspaceManage => "workspace.manage",
            Self::AuditRead => "audit.read",
        }
    }
}

/// Workspace roles, most privileged first. Stored as text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Owner | Self::Admin => true,
            Self::Member => matches!(permission, ContactsRead | ContactsWrite | MembersRead),
            Self::Viewer => matches!(permission, ContactsRead | MembersRead),
        }
    }

    /// A credential may hand out only roles at or below its own.
    pub fn may_grant(self, other: Role) -> bool {
        self <= other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_rank() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Admin.may_grant(Role::Member));
        assert!(!Role::Admin.may_grant(Role::Owner));
    }

    #[test]
    fn only_admins_manage_keys_and_viewers_only_read() {
        assert!(Role::Admin.grants(Permission::ApiKeysManage));
        assert!(!Role::Member.grants(Permission::ApiKeysManage));
        assert!(Role::Viewer.grants(Permission::ContactsRead));
        assert!(!Role::Viewer.grants(Permission::ContactsWrite));
    }
}

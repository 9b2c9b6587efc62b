//! Field-level permissions: per role and resource field, `hidden`, `read` or `write`. A role's
//! access to a field follows its permissions (the resource's `.write` gives write, `.read` gives
//! read) and can only be narrowed by the role's field rules. Applied in one place: [`redact`]
//! for every read (hidden fields are absent, not null) and [`check_write`] for every write (a
//! field the caller may not write refuses the whole request).
//!
//! Data about a person leaves Holdfast only as a [`Visible`]: an API answer, an export, a
//! webhook payload or rendered text is made from one, and one can be made only by applying a
//! reader's rules ([`Visible::contact`], [`Visible::stored`]) — or, for the person themselves,
//! whole ([`Visible::contact_for_data_subject`], the preference center's download: the one
//! named exception). `ContactOut` is not `Serialize`, so a handler cannot hand a contact out
//! any other way. Design note: docs/design/privacy.md.

use crate::access::policy::{Permission, Role};
use serde::Serialize;

/// How much of a field a role gets, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Hidden,
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Hidden => "hidden",
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    pub fn parse(text: &str) -> Option<Access> {
        [Access::Hidden, Access::Read, Access::Write]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// A resource whose fields can be restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Contacts,
    Invoices,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Contacts => "contacts",
            Resource::Invoices => "invoices",
        }
    }

    fn permissions(self) -> (Permission, Permission) {
        match self {
            Resource::Contacts => (Permission::ContactsRead, Permission::ContactsWrite),
            Resource::Invoices => (Permission::InvoicesRead, Permission::InvoicesWrite),
        }
    }
}

/// Every restrictable field, as `resource.field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ContactsName,
    ContactsEmail,
    ContactsPhone,
    ContactsCompany,
    ContactsTags,
    /// Every custom field value (`custom`); per-key rules are not supported.
    ContactsCustom,
    InvoicesAmount,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::ContactsName,
        Field::ContactsEmail,
        Field::ContactsPhone,
        Field::ContactsCompany,
        Field::ContactsTags,
        Field::ContactsCustom,
        Field::InvoicesAmount,
    ];

    pub fn resource(self) -> Resource {
        match self {
            Field::InvoicesAmount => Resource::Invoices,
            _ => Resource::Contacts,
        }
    }

    /// The field's name in the resource's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Field::ContactsName => "name",
            Field::ContactsEmail => "email",
            Field::ContactsPhone => "phone",
            Field::ContactsCompany => "company",
            Field::ContactsTags => "tags",
            Field::ContactsCustom => "custom",
            Field::InvoicesAmount => "amount",
        }
    }

    /// Every JSON key the field governs: the company rule also covers the link to a company
    /// record (`company_id`), so hiding a contact's company hides both; the amount rule covers
    /// every money key of an invoice, at any depth (its lines, taxes and payments too).
    pub fn json_keys(self) -> &'static [&'static str] {
        match self {
            Field::ContactsCompany => &["company", "company_id"],
            Field::ContactsName => &["name"],
            Field::ContactsEmail => &["email"],
            Field::ContactsPhone => &["phone"],
            Field::ContactsTags => &["tags"],
            Field::ContactsCustom => &["custom"],
            Field::InvoicesAmount => crate::invoicing::invoices::AMOUNT_KEYS,
        }
    }

    /// `contacts.email`.
    pub fn key(self) -> String {
        format!("{}.{}", self.resource().as_str(), self.name())
    }

    pub fn parse(key: &str) -> Option<Field> {
        Self::ALL.iter().copied().find(|f| f.key() == key)
    }

    fn of(resource: Resource) -> impl Iterator<Item = Field> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |f| f.resource() == resource)
    }
}

/// Narrowing rules of a role: at most this much access to these fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRules(Vec<(Field, Access)>);

impl FieldRules {
    pub fn new(rules: Vec<(Field, Access)>) -> FieldRules {
        FieldRules(rules)
    }

    pub fn cap(&self, field: Field) -> Access {
        self.0
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, a)| *a)
            .min()
            .unwrap_or(Access::Write)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As stored and shown: `{"contacts.email": "hidden"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(f, a)| (f.key(), serde_json::Value::from(a.as_str())))
                .collect(),
        )
    }

    /// Parses a rules object; `Err` names the first bad key or value.
    pub fn from_json(value: &serde_json::Value) -> Result<FieldRules, String> {
        let Some(map) = value.as_object() else {
            return Err("must be an object like {\"contacts.email\": \"hidden\"}".to_owned());
        };
        let mut rules = Vec::with_capacity(map.len());
        for (key, access) in map {
            let field = Field::parse(key).ok_or_else(|| {
                let known: Vec<String> = Field::ALL.iter().map(|f| f.key()).collect();
                format!("'{key}' is not a field; fields: {}", known.join(", "))
            })?;
            let access = access
                .as_str()
                .and_then(Access::parse)
                .ok_or_else(|| format!("{key} must be \"hidden\", \"read\" or \"write\""))?;
            rules.push((field, access));
        }
        Ok(FieldRules(rules))
    }
}

impl FieldRules {
    /// Rules as stored: unknown fields (written by a newer version) are skipped, but rules that
    /// cannot be read at all hide every field — a damaged rule never reveals more.
    pub fn from_stored(text: &str) -> FieldRules {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text)
        else {
            tracing::error!("a role's field rules are unreadable; hiding every field");
            return FieldRules(Field::ALL.iter().map(|f| (*f, Access::Hidden)).collect());
        };
        let mut rules = Vec::with_capacity(map.len());
        for (key, access) in &map {
            match (Field::parse(key), access.as_str().and_then(Access::parse)) {
                (Some(field), Some(access)) => rules.push((field, access)),
                (Some(field), None) => rules.push((field, Access::Hidden)),
                (None, _) => {
                    tracing::warn!(field = %key, "unknown field in a role's rules; skipped")
                }
            }
        }
        FieldRules(rules)
    }
}

/// What the built-in roles may not see, beyond their permissions.
pub fn builtin_rules(role: crate::access::policy::BuiltinRole) -> FieldRules {
    use crate::access::policy::BuiltinRole;
    match role {
        BuiltinRole::Technician => FieldRules(vec![
            (Field::ContactsEmail, Access::Hidden),
            (Field::InvoicesAmount, Access::Hidden),
        ]),
        BuiltinRole::Marketing => FieldRules(vec![(Field::ContactsPhone, Access::Hidden)]),
        _ => FieldRules::default(),
    }
}

/// A role's access to one field.
pub fn access(role: &Role, field: Field) -> Access {
    let (read, write) = field.resource().permissions();
    let by_permission = if role.grants(write) {
        Access::Write
    } else if role.grants(read) {
        Access::Read
    } else {
        Access::Hidden
    };
    by_permission.min(role.field_rules().cap(field))
}

/// A record of a restrictable resource as one reader may see it: the fields the reader may
/// not see are absent (not null). Serialises as the JSON object itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Visible {
    value: serde_json::Value,
    resource: Resource,
    /// Fields left out for this reader.
    hidden: Vec<Field>,
}

impl Visible {
    /// A contact as `role` may see it.
    pub fn contact(role: &Role, contact: &crate::crm::contacts::ContactOut) -> Visible {
        Visible::stored(role, Resource::Contacts, contact.to_json())
    }

    /// A record's JSON kept earlier whole (an event waiting in the webhook outbox) or as
    /// another reader saw it (an idempotent replay), cut for `role`.
    pub fn stored(role: &Role, resource: Resource, mut value: serde_json::Value) -> Visible {
        redact(role, resource, &mut value);
        let hidden = Field::of(resource)
            .filter(|f| access(role, *f) == Access::Hidden)
            .collect();
        Visible {
            value,
            resource,
            hidden,
        }
    }

    /// The contact whole, for the person the data is about: the preference center's "download
    /// my data", reached through a single-use link mailed to the contact's own address. No
    /// staff answer may use this.
    pub fn contact_for_data_subject(contact: &crate::crm::contacts::ContactOut) -> Visible {
        Visible {
            value: contact.to_json(),
            resource: Resource::Contacts,
            hidden: Vec::new(),
        }
    }

    /// Whether the reader sees `field` (a related value governed by it, such as a company's
    /// name or an address a visitor typed, may go along only then).
    pub fn shows(&self, field: Field) -> bool {
        field.resource() == self.resource && !self.hidden.contains(&field)
    }

    /// A text field's value, when the reader sees it.
    pub fn text(&self, field: Field) -> Option<&str> {
        if !self.shows(field) {
            return None;
        }
        self.value.get(field.name()).and_then(|v| v.as_str())
    }

    /// Adds a value governed by `field` (e.g. the linked company's name under
    /// `contacts.company`), only when the reader sees that field.
    pub fn with(mut self, field: Field, key: &str, value: serde_json::Value) -> Visible {
        if self.shows(field)
            && let Some(map) = self.value.as_object_mut()
        {
            map.insert(key.to_owned(), value);
        }
        self
    }

    pub fn as_json(&self) -> &serde_json::Value {
        &self.value
    }

    pub fn into_json(self) -> serde_json::Value {
        self.value
    }
}

impl Serialize for Visible {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// Whether `role` sees every field of `resource`: only then may it get raw data that names a
/// person but cannot be cut field by field (received provider payloads).
pub fn sees_every_field(role: &Role, resource: Resource) -> bool {
    Field::of(resource).all(|f| access(role, f) != Access::Hidden)
}

/// Removes the fields `role` may not see from one JSON object of `resource`. Private: callers
/// get a [`Visible`].
fn redact(role: &Role, resource: Resource, value: &mut serde_json::Value) {
    for field in Field::of(resource) {
        if access(role, field) == Access::Hidden {
            match resource {
                // A contact's fields are its own top-level keys.
                Resource::Contacts => {
                    if let Some(map) = value.as_object_mut() {
                        for key in field.json_keys() {
                            map.remove(*key);
                        }
                    }
                }
                // Money is everywhere in an invoice: its totals, lines, taxes, payments.
                Resource::Invoices => remove_everywhere(value, field.json_keys()),
            }
        }
    }
}

/// Removes `keys` from every object in `value`, at any depth.
fn remove_everywhere(value: &mut serde_json::Value, keys: &[&str]) {
    match value {
        serde_json::Value::Object(map) => {
            for key in keys {
                map.remove(*key);
            }
            for child in map.values_mut() {
                remove_everywhere(child, keys);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                remove_everywhere(item, keys);
            }
        }
        _ => {}
    }
}

/// The first of `present` (field names in a write to `resource`) that `role` may not write.
pub fn check_write(
    role: &Role,
    resource: Resource,
    present: &[&str],
) -> Result<(), (String, Access)> {
    for field in Field::of(resource) {
        if let Some(sent) = field.json_keys().iter().find(|k| present.contains(*k)) {
            let granted = access(role, field);
            if granted != Access::Write {
                return Err(((*sent).to_owned(), granted));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::policy::{BuiltinRole, PermissionSet};
    use serde_json::json;

    #[test]
    fn built_in_roles_see_what_their_job_needs() {
        let tech = Role::builtin(BuiltinRole::Technician);
        assert_eq!(access(&tech, Field::ContactsEmail), Access::Hidden);
        assert_eq!(access(&tech, Field::ContactsPhone), Access::Read);
        let marketing = Role::builtin(BuiltinRole::Marketing);
        assert_eq!(access(&marketing, Field::ContactsPhone), Access::Hidden);
        assert_eq!(access(&marketing, Field::ContactsEmail), Access::Read);
        let support = Role::builtin(BuiltinRole::Support);
        assert_eq!(access(&support, Field::ContactsEmail), Access::Write);
        assert_eq!(access(&support, Field::InvoicesAmount), Access::Hidden);
    }

    #[test]
    fn hidden_fields_are_absent_and_writes_name_the_field() {
        let tech = Role::builtin(BuiltinRole::Technician);
        let mut contact =
            json!({"id": "ct_1", "name": "Ada", "email": "ada@example.com", "phone": null});
        redact(&tech, Resource::Contacts, &mut contact);
        assert_eq!(contact, json!({"id": "ct_1", "name": "Ada", "phone": null}));

        let rules = FieldRules::from_json(&json!({"contacts.email": "read"})).unwrap();
        let role = Role::custom(
            "rol_1".into(),
            PermissionSet::of(&[Permission::ContactsRead, Permission::ContactsWrite]),
        )
        .with_field_rules(rules);
        assert!(check_write(&role, Resource::Contacts, &["name", "tags"]).is_ok());
        assert_eq!(
            check_write(&role, Resource::Contacts, &["name", "email"]),
            Err(("email".to_owned(), Access::Read))
        );
        // Rules narrow, never widen.
        let widen = Role::custom(
            "rol_2".into(),
            PermissionSet::of(&[Permission::ContactsRead]),
        )
        .with_field_rules(FieldRules::from_json(&json!({"contacts.name": "write"})).unwrap());
        assert_eq!(access(&widen, Field::ContactsName), Access::Read);
    }

    #[test]
    fn the_amount_rule_removes_money_at_any_depth() {
        let rules = FieldRules::from_json(&json!({"invoices.amount": "hidden"})).unwrap();
        let role = Role::custom(
            "rol_3".into(),
            PermissionSet::of(&[Permission::InvoicesRead, Permission::InvoicesWrite]),
        )
        .with_field_rules(rules);
        let invoice = json!({
            "id": "ivc_1", "number": "INV-000001", "total": "10.00", "balance": "10.00",
            "lines": [{"description": "Visit", "quantity": "1", "unit_price": "10", "net": "10.00", "tax": "0.00"}],
            "taxes": [{"rate_percent": "0", "net": "10.00", "tax": "0.00"}],
            "payments": [{"id": "pay_1", "amount": "5.00", "method": "cash"}],
        });
        let seen = Visible::stored(&role, Resource::Invoices, invoice.clone()).into_json();
        assert_eq!(
            seen,
            json!({
                "id": "ivc_1", "number": "INV-000001",
                "lines": [{"description": "Visit", "quantity": "1"}],
                "taxes": [{"rate_percent": "0"}],
                "payments": [{"id": "pay_1", "method": "cash"}],
            })
        );
        assert_eq!(
            check_write(&role, Resource::Invoices, &["contact_id", "unit_price"]),
            Err(("unit_price".to_owned(), Access::Hidden))
        );
        let finance = Role::builtin(BuiltinRole::Finance);
        assert_eq!(
            Visible::stored(&finance, Resource::Invoices, invoice.clone()).into_json(),
            invoice
        );
    }

    #[test]
    fn company_rule_covers_the_company_link_and_custom_is_one_field() {
        let rules = FieldRules::from_json(
            &json!({"contacts.company": "hidden", "contacts.custom": "read"}),
        )
        .unwrap();
        let role = Role::custom(
            "rol_3".into(),
            PermissionSet::of(&[Permission::ContactsRead, Permission::ContactsWrite]),
        )
        .with_field_rules(rules);
        let mut contact = json!({"id": "ct_1", "company": "Acme", "company_id": "co_1", "custom": {"tier": "gold"}});
        redact(&role, Resource::Contacts, &mut contact);
        assert_eq!(contact, json!({"id": "ct_1", "custom": {"tier": "gold"}}));
        assert_eq!(
            check_write(&role, Resource::Contacts, &["name", "company_id"]),
            Err(("company_id".to_owned(), Access::Hidden))
        );
        assert_eq!(
            check_write(&role, Resource::Contacts, &["custom"]),
            Err(("custom".to_owned(), Access::Read))
        );
    }

    #[test]
    fn a_visible_contact_is_cut_unless_it_is_for_the_person_themselves() {
        let contact = crate::crm::contacts::ContactOut {
            id: "ct_1".into(),
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            phone: None,
            company: Some("Analytical".into()),
            tags: vec![],
            company_id: None,
            custom: Default::default(),
            created_at: 1,
            updated_at: 2,
        };
        let rules = FieldRules::from_json(
            &json!({"contacts.email": "hidden", "contacts.company": "hidden"}),
        )
        .unwrap();
        let role = Role::custom(
            "rol_4".into(),
            PermissionSet::of(&[Permission::ContactsRead]),
        )
        .with_field_rules(rules);
        let seen = Visible::contact(&role, &contact).with(
            Field::ContactsCompany,
            "company_name",
            json!("Analytical Ltd"),
        );
        assert!(!seen.shows(Field::ContactsEmail) && seen.shows(Field::ContactsName));
        assert_eq!(seen.text(Field::ContactsName), Some("Ada"));
        assert_eq!(seen.text(Field::ContactsEmail), None);
        let text = serde_json::to_string(&seen).unwrap();
        assert!(
            !text.contains("ada@") && !text.contains("Analytical"),
            "{text}"
        );
        let own = Visible::contact_for_data_subject(&contact);
        assert_eq!(own.as_json()["email"], "ada@example.com");
        // The whole JSON reads back as the same contact.
        let back: crate::crm::contacts::ContactOut =
            serde_json::from_value(own.into_json()).unwrap();
        assert_eq!(back, contact);
    }

    #[test]
    fn stored_rules_fail_closed() {
        let kept =
            FieldRules::from_stored(r#"{"contacts.email":"hidden","contacts.address":"hidden"}"#);
        assert_eq!(
            kept.cap(Field::ContactsEmail),
            Access::Hidden,
            "unknown keys skipped, known kept"
        );
        let damaged = FieldRules::from_stored("{not json");
        assert!(Field::ALL.iter().all(|f| damaged.cap(*f) == Access::Hidden));
        let odd = FieldRules::from_stored(r#"{"contacts.phone":"sometimes"}"#);
        assert_eq!(odd.cap(Field::ContactsPhone), Access::Hidden);
    }

    #[test]
    fn bad_rules_are_named() {
        assert!(
            FieldRules::from_json(&json!({"contacts.ssn": "hidden"}))
                .unwrap_err()
                .contains("contacts.ssn")
        );
        assert!(FieldRules::from_json(&json!({"contacts.email": "secret"})).is_err());
        assert!(FieldRules::from_json(&json!(["contacts.email"])).is_err());
    }
}

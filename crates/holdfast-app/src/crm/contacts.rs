//! Contacts (CRM): what a contact list is narrowed to, read from the caller's words — the
//! same for `GET /api/v1/contacts` and the console's `/app/contacts`. A search or filter never
//! matches on a field the caller's role may not see.

use holdfast_core::access::fields::{self, Access, Field};
use holdfast_core::access::policy::Role;
use holdfast_core::crm::contact_fields;
use holdfast_core::ids::CompanyId;
use holdfast_core::validate::{self, Errors};
use holdfast_store::crm::contacts::{Filter, SearchIn};
use holdfast_store::{StoreError, TenantTx};

/// Custom-value filters in one list request.
pub const MAX_CUSTOM_FILTERS: usize = 5;

/// What a list asks for, as given: `q` (text in name, email or a text custom field),
/// `company_id` (`co_…`), and `custom` (custom field key, exact value) pairs.
#[derive(Debug, Clone, Default)]
pub struct ListAsk<'a> {
    pub q: Option<&'a str>,
    pub company_id: Option<&'a str>,
    pub custom: Vec<(String, String)>,
}

/// The list's filter for `role`, every problem with the ask added to `errors` (field names as
/// the API's query parameters: `q`, `company_id`, `custom`, `custom.<key>`). Reads the
/// workspace's custom fields when the ask filters on them.
pub async fn list_filter(
    tx: &mut TenantTx<'_>,
    role: &Role,
    ask: ListAsk<'_>,
    errors: &mut Errors,
) -> Result<Filter, StoreError> {
    let q = ask
        .q
        .and_then(|q| errors.take(validate::text("q", q, 1, 200)));
    let company_id = ask.company_id.and_then(|c| {
        let id = CompanyId::parse(c.trim()).map(|id| id.to_string());
        if id.is_none() {
            errors.push("company_id", "is not a company id (co_…)");
        }
        id
    });
    let visible = |f| fields::access(role, f) != Access::Hidden;
    let search = SearchIn {
        name: visible(Field::ContactsName),
        email: visible(Field::ContactsEmail),
        custom: visible(Field::ContactsCustom),
    };
    if q.is_some() && !search.name && !search.email && !search.custom {
        errors.push(
            "q",
            "your role sees neither names, emails nor custom fields, so it cannot search them",
        );
    }
    if company_id.is_some() && !visible(Field::ContactsCompany) {
        errors.push("company_id", "your role may not see contacts' companies");
    }
    if ask.custom.len() > MAX_CUSTOM_FILTERS {
        errors.push(
            "custom",
            format!("at most {MAX_CUSTOM_FILTERS} custom.<key> filters at once"),
        );
    }
    let mut custom = Vec::with_capacity(ask.custom.len());
    if !ask.custom.is_empty() {
        if !search.custom {
            errors.push("custom", "your role may not see contacts' custom fields");
        }
        let defs = holdfast_store::crm::contact_fields::defs(tx).await?;
        for (key, value) in ask.custom {
            let field = format!("custom.{key}");
            match defs.iter().find(|d| d.key == key) {
                None => errors.push(field, "is not a custom field of this workspace"),
                Some(def) => {
                    if let Some(v) = errors.take(contact_fields::parse_text(def, &field, &value)) {
                        custom.push((key, contact_fields::canonical_text(&v)));
                    }
                }
            }
        }
    }
    Ok(Filter {
        q,
        search,
        custom,
        company_id,
    })
}

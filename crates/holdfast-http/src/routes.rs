//! Every route Holdfast serves: the one place that knows every slice. Each slice declares its
//! own routes (`routes(&mut RouteTable)`); this file puts them in the table, inside their
//! module where they belong to one.

use crate::table::RouteTable;
use holdfast_core::access::modules::Module;

/// Every route Holdfast serves.
pub fn route_table() -> RouteTable {
    let mut table = RouteTable::new();
    crate::api::ops::probes::routes(&mut table);
    table.module(Module::Crm, |t| {
        // Fixed paths under /api/v1/contacts before the `{id}` routes (the router prefers
        // them anyway; this keeps the table readable).
        crate::api::crm::contact_imports::routes(t);
        crate::api::crm::contact_export::routes(t);
        crate::api::crm::contacts::routes(t);
        crate::api::crm::companies::routes(t);
        crate::api::crm::contact_fields::routes(t);
        // Consent per contact and the workspace's consent mode. (The contact's own
        // preference pages stay outside: public, they know no workspace until the token is
        // read, and an unsubscribe link must keep working whatever the modules.)
        crate::api::crm::consent::routes(t);
    });
    table.module(Module::FieldService, |t| {
        crate::api::field_service::jobs::routes(t);
        crate::api::field_service::files::routes(t);
        crate::api::field_service::public_links::routes(t);
    });
    table.module(Module::Invoicing, |t| {
        crate::api::invoicing::invoices::routes(t);
        crate::api::invoicing::payments::routes(t);
    });
    crate::api::privacy::rights::routes(&mut table);
    crate::api::access::api_keys::routes(&mut table);
    crate::api::identity::auth::routes(&mut table);
    crate::api::identity::oidc::routes(&mut table);
    crate::api::identity::account::routes(&mut table);
    crate::api::ops::audit::routes(&mut table);
    crate::api::access::roles::routes(&mut table);
    crate::api::access::members::routes(&mut table);
    crate::api::identity::two_factor::routes(&mut table);
    crate::api::access::workspace::routes(&mut table);
    crate::api::ops::billing::routes(&mut table);
    crate::api::access::settings::routes(&mut table);
    crate::api::webhooks::endpoints::routes(&mut table);
    crate::api::helpdesk::tickets::routes(&mut table);
    crate::api::helpdesk::saved_replies::routes(&mut table);
    crate::api::helpdesk::events::routes(&mut table);
    crate::api::webhooks::hooks::routes(&mut table);
    crate::api::helpdesk::widget::routes(&mut table);
    crate::api::crm::preferences::routes(&mut table);
    // A job's public page for the customer: public (the link's token is the credential), so
    // outside the module; the page itself answers its one 404 when field service is off.
    crate::pages::field_service::job_link::routes(&mut table);
    crate::pages::invoicing::invoice_link::routes(&mut table);
    // The console: its static files, then its pages.
    crate::pages::ops::assets::routes(&mut table);
    crate::pages::identity::sign_in::routes(&mut table);
    crate::pages::helpdesk::inbox::routes(&mut table);
    crate::pages::helpdesk::ticket::routes(&mut table);
    // The console's settings (issue 15, section 5) and the step-up form their sensitive
    // actions lead to.
    crate::pages::access::settings::routes(&mut table);
    crate::pages::identity::profile::routes(&mut table);
    crate::pages::identity::two_factor::routes(&mut table);
    crate::pages::identity::sessions::routes(&mut table);
    crate::pages::identity::step_up::routes(&mut table);
    crate::pages::access::members::routes(&mut table);
    crate::pages::access::roles::routes(&mut table);
    crate::pages::access::api_keys::routes(&mut table);
    crate::pages::webhooks::endpoints::routes(&mut table);
    crate::pages::webhooks::inbound::routes(&mut table);
    crate::pages::helpdesk::widget_settings::routes(&mut table);
    crate::pages::crm::privacy_settings::routes(&mut table);
    crate::pages::privacy::retention::routes(&mut table);
    crate::pages::access::workspace_settings::routes(&mut table);
    // The console's CRM pages (issue 15, item 4): contacts, a contact and its actions,
    // companies, the CSV import wizard and its progress; and the step-up page its erasure
    // and legal hold send a person to.
    crate::pages::crm::contacts::routes(&mut table);
    crate::pages::crm::import::routes(&mut table);
    crate::pages::crm::contact::routes(&mut table);
    crate::pages::crm::companies::routes(&mut table);
    // The field-service pages (issue 17): the dispatch board, booking, a job on a phone.
    crate::pages::field_service::board::routes(&mut table);
    crate::pages::field_service::job::routes(&mut table);
    // The console's invoicing pages (issue 17, item 6): invoices, a draft's editor, an issued
    // invoice's money, payments, and the invoicing and payment-account settings.
    crate::pages::invoicing::invoices::routes(&mut table);
    crate::pages::invoicing::invoice::routes(&mut table);
    crate::pages::invoicing::invoice_actions::routes(&mut table);
    crate::pages::invoicing::payments::routes(&mut table);
    crate::pages::invoicing::settings::routes(&mut table);
    // The console, issue 15's first-run, account, audit and API-docs pages (console-ops).
    crate::pages::access::setup::routes(&mut table);
    crate::pages::identity::password_reset::routes(&mut table);
    crate::pages::access::invitation::routes(&mut table);
    crate::pages::ops::audit::routes(&mut table);
    crate::pages::ops::api_docs::routes(&mut table);
    crate::pages::identity::sso::routes(&mut table);
    crate::pages::access::workspaces::routes(&mut table);
    // The client portal (issue 18): its own realm. Signing in is public (the workspace is
    // known only from the slug or the link), so outside the module; the pages answer their
    // one 404 when the portal is off. A signed-in customer's routes sit in the module.
    crate::api::portal::auth::routes(&mut table);
    crate::pages::portal::sign_in::routes(&mut table);
    crate::pages::portal::password::routes(&mut table);
    crate::pages::portal::brand::routes(&mut table);
    table.module(Module::ClientPortal, |t| {
        crate::api::portal::access::routes(t);
        crate::api::portal::brand::routes(t);
        crate::pages::portal::access::routes(t);
        crate::api::portal::auth::signed_in_routes(t);
        crate::pages::portal::sign_in::signed_in_routes(t);
        crate::pages::portal::password::signed_in_routes(t);
        crate::pages::portal::home::routes(t);
        crate::pages::portal::tickets::routes(t);
        crate::api::portal::tickets::routes(t);
        // A customer's visits and invoices (and paying them): in the portal's module; the
        // application layer answers 404 when field service or invoicing is off.
        crate::pages::portal::jobs::routes(t);
        crate::pages::portal::invoices::routes(t);
        crate::api::portal::jobs::routes(t);
        crate::api::portal::invoices::routes(t);
        // A customer's consent preferences and their data (the preference center's functions):
        // in the portal's module only, whatever the business's other modules.
        crate::pages::portal::privacy::routes(t);
        crate::api::portal::privacy::routes(t);
    });
    table
}

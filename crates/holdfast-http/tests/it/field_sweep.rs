//! The field-rule sweep: a contact is seeded with a distinctive value in every field, a role
//! gets every read and export permission but every contact field hidden, and every route of the
//! route table whose answer can carry contact data is called as that role — gets, lists,
//! searches, exports, tickets with their contact, imports, consent views, saved-reply
//! rendering, the live event stream and the webhook payloads of an endpoint bound to the role.
//! None of the values may appear in any answer.
//!
//! Every route is either called here (`call_for`) or declared contact-free in `CONTACT_FREE`
//! with the reason; a new route fails the sweep until it is one or the other.

use crate::contact;
use holdfast_core::ops::config::Layer;
use holdfast_http::route_table;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::sse::EventStream;
use holdfast_testkit::{Method, TestApp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Routes whose answer cannot carry a contact's field values, with why.
const CONTACT_FREE: &[(&str, &str, &str)] = &[
    ("POST", "/internal/cron/tick", "counts only"),
    // The client portal: the customer's own realm. Field rules shape what staff roles see;
    // a customer sees only their own records (a data subject's own view, like their data
    // download), and no staff credential opens these routes.
    (
        "POST",
        "/api/portal/v1/auth/magic-link",
        "one fixed answer for every address",
    ),
    (
        "POST",
        "/api/portal/v1/auth/token",
        "tokens and a session id, no contact data",
    ),
    (
        "POST",
        "/api/portal/v1/auth/refresh",
        "tokens and a session id, no contact data",
    ),
    ("POST", "/api/portal/v1/auth/sign-out", "no content"),
    (
        "POST",
        "/api/portal/v1/auth/password",
        "tokens and a session id, no contact data",
    ),
    (
        "POST",
        "/api/portal/v1/auth/password-reset",
        "one fixed answer for every address",
    ),
    ("PUT", "/api/portal/v1/auth/password", "no content"),
    (
        "POST",
        "/portal/{workspace_slug}/password-sign-in",
        "a redirect, or the sign-in form echoing the address typed",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/password-reset",
        "echoes only the address the visitor typed",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/password-reset/{token}",
        "the workspace's name",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/password-reset/{token}",
        "the workspace's name",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/password",
        "the customer's own password form, no field values",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/password",
        "the customer's own password form, no field values",
    ),
    (
        "GET",
        "/portal/{workspace_slug}",
        "the workspace's name and the sign-in form",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/logo",
        "the workspace's logo, a picture staff uploaded",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/brand.css",
        "the workspace's colour",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/sign-in",
        "echoes only the address the visitor typed",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/sign-in/{token}",
        "the workspace's name",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/sign-in/{token}",
        "a redirect",
    ),
    ("POST", "/portal/{workspace_slug}/sign-out", "a redirect"),
    (
        "GET",
        "/portal/{workspace_slug}/home",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/tickets/new",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/tickets",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/tickets/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/tickets/{id}/reply",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/tickets",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/api/portal/v1/tickets",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/tickets/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/api/portal/v1/tickets/{id}/replies",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/jobs/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/invoices/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/invoices/{id}/pdf",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/invoices/{id}/pay",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/jobs",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/jobs/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/invoices",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/invoices/{id}",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/invoices/{id}/pdf",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "POST",
        "/api/portal/v1/invoices/{id}/pay",
        "the signed-in customer's own records, to that customer only",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/preferences",
        "the signed-in customer's own consent, to that customer only",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/preferences",
        "a redirect, or the preferences page (swept as GET) with a refusal",
    ),
    (
        "GET",
        "/portal/{workspace_slug}/data",
        "the signed-in customer's own deletion request, to that customer only",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/data/export",
        "a redirect; the data itself goes only by the link mailed to the address on file",
    ),
    (
        "POST",
        "/portal/{workspace_slug}/data/erasure-request",
        "a redirect",
    ),
    (
        "GET",
        "/api/portal/v1/preferences",
        "the signed-in customer's own consent, to that customer only",
    ),
    (
        "PATCH",
        "/api/portal/v1/preferences",
        "the signed-in customer's own consent, to that customer only",
    ),
    (
        "PUT",
        "/api/portal/v1/preferences",
        "the signed-in customer's own consent, to that customer only",
    ),
    (
        "POST",
        "/api/portal/v1/data/export",
        "one status word; the data itself goes only by the link mailed to the address on file",
    ),
    (
        "POST",
        "/api/portal/v1/data/erasure-request",
        "the signed-in customer's own deletion request, to that customer only",
    ),
    (
        "GET",
        "/api/portal/v1/data/erasure-request",
        "the signed-in customer's own deletion request, to that customer only",
    ),
    (
        "GET",
        "/api/v1/contacts/{id}/portal",
        "the contact's portal access flag and sessions (times, browser): no contact field",
    ),
    (
        "PUT",
        "/api/v1/contacts/{id}/portal",
        "the contact's portal access flag and sessions (times, browser): no contact field",
    ),
    (
        "PUT",
        "/api/v1/contacts/{id}/portal/billing",
        "the contact's portal access flag, sessions and company id: no contact field",
    ),
    (
        "DELETE",
        "/api/v1/contacts/{id}/portal/sessions/{session_id}",
        "no content",
    ),
    (
        "POST",
        "/api/v1/contacts/{id}/portal/invite",
        "one fixed answer",
    ),
    ("GET", "/api/v1/portal/settings", "one flag"),
    (
        "POST",
        "/app/contacts/{id}/portal",
        "a redirect, or the portal access page (swept as GET) with a refusal",
    ),
    (
        "POST",
        "/app/contacts/{id}/portal/invite",
        "a redirect, or the portal access page (swept as GET) with a refusal",
    ),
    (
        "POST",
        "/app/contacts/{id}/portal/sessions/{session_id}/end",
        "a redirect, or the portal access page (swept as GET) with a refusal",
    ),
    (
        "GET",
        "/app/settings/portal",
        "one flag and the portal's address",
    ),
    ("POST", "/app/settings/portal", "a redirect"),
    ("PUT", "/api/v1/portal/settings", "one flag"),
    (
        "GET",
        "/api/v1/portal/branding",
        "the portal's colour and its logo's type, size and digest",
    ),
    (
        "PUT",
        "/api/v1/portal/branding",
        "the portal's colour and its logo's type, size and digest",
    ),
    (
        "PUT",
        "/api/v1/portal/branding/logo",
        "the portal's colour and its logo's type, size and digest",
    ),
    ("DELETE", "/api/v1/portal/branding/logo", "no content"),
    (
        "POST",
        "/app/settings/portal/colour",
        "a redirect, or the settings page (swept as GET) with a refusal",
    ),
    (
        "POST",
        "/app/settings/portal/logo",
        "a redirect, or the settings page (swept as GET) with a refusal",
    ),
    ("POST", "/app/settings/portal/logo/remove", "a redirect"),
    (
        "POST",
        "/hooks/billing/stripe",
        "the operator's subscription events; answers an outcome word",
    ),
    (
        "GET",
        "/api/v1/workspace/billing",
        "the workspace's plan state and checkout link",
    ),
    ("GET", "/healthz", "no data"),
    ("GET", "/readyz", "no data"),
    ("GET", "/metrics", "counters by route template"),
    ("GET", "/.well-known/security.txt", "static"),
    ("POST", "/api/v1/jobs", "a job names its contact by id only"),
    ("GET", "/api/v1/jobs", "a job names its contact by id only"),
    (
        "GET",
        "/api/v1/jobs/{id}",
        "a job names its contact by id only",
    ),
    (
        "PATCH",
        "/api/v1/jobs/{id}",
        "a job names its contact by id only",
    ),
    (
        "POST",
        "/api/v1/jobs/{id}/status",
        "a job names its contact by id only",
    ),
    (
        "POST",
        "/api/v1/jobs/{id}/notes",
        "a job names its contact by id only",
    ),
    (
        "POST",
        "/api/v1/jobs/{id}/files",
        "a job's file: its name, type and size; no contact field",
    ),
    (
        "GET",
        "/api/v1/jobs/{id}/files",
        "a job's files: names, types and sizes; no contact field",
    ),
    (
        "GET",
        "/api/v1/jobs/{id}/files/{file_id}",
        "the bytes the team uploaded (a photo or document), not a contact's fields",
    ),
    ("DELETE", "/api/v1/jobs/{id}/files/{file_id}", "no body"),
    (
        "POST",
        "/api/v1/invoices",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "GET",
        "/api/v1/invoices",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "GET",
        "/api/v1/invoices/{id}",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "PATCH",
        "/api/v1/invoices/{id}",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "DELETE",
        "/api/v1/invoices/{id}",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/issue",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/void",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/payments",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/refunds",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/credit-notes",
        "an invoice names its contact by id only (its bill-to is printed, never answered)",
    ),
    (
        "GET",
        "/api/v1/invoicing/payment-accounts",
        "which providers are connected, never a key",
    ),
    (
        "PUT",
        "/api/v1/invoicing/payment-accounts/{provider}",
        "which providers are connected, never a key",
    ),
    (
        "DELETE",
        "/api/v1/invoicing/payment-accounts/{provider}",
        "no body",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/send",
        "answers the decision and the file's name",
    ),
    (
        "POST",
        "/api/v1/invoices/{id}/checkout",
        "the provider's checkout address and the open amount",
    ),
    (
        "GET",
        "/api/v1/invoicing/settings",
        "the business's own details",
    ),
    (
        "PUT",
        "/api/v1/invoicing/settings",
        "the business's own details",
    ),
    (
        "POST",
        "/api/v1/jobs/{id}/public-link",
        "the link's address and token",
    ),
    ("DELETE", "/api/v1/jobs/{id}/public-link", "no body"),
    (
        "POST",
        "/api/v1/invoices/{id}/public-link",
        "the link's address and token",
    ),
    ("DELETE", "/api/v1/invoices/{id}/public-link", "no body"),
    (
        "GET",
        "/p/invoices/{token}",
        "the invoice's page for its customer: lines and totals, never the bill-to",
    ),
    (
        "GET",
        "/p/invoices/{token}/pdf",
        "the customer's own invoice, opened with their own link: no role reads it",
    ),
    (
        "POST",
        "/p/invoices/{token}/pay",
        "a redirect to the provider's checkout",
    ),
    ("GET", "/p/paid", "a thank-you page"),
    (
        "GET",
        "/p/jobs/{token}",
        "the job's page for its customer: title, status, window, technicians' first names",
    ),
    (
        "GET",
        "/api/v1/field-service/time-zone",
        "the workspace's time zone",
    ),
    (
        "PUT",
        "/api/v1/field-service/time-zone",
        "the workspace's time zone",
    ),
    ("GET", "/assets/htmx.min.js", "a static file"),
    ("GET", "/assets/console.css", "a static file"),
    ("GET", "/assets/console.js", "a static file"),
    ("GET", "/", "a redirect"),
    ("GET", "/sign-in", "the sign-in form"),
    ("POST", "/sign-in", "the sign-in form again, or a redirect"),
    (
        "GET",
        "/setup/{token}",
        "the first-run form, before any workspace",
    ),
    (
        "POST",
        "/setup/{token}",
        "the first-run form again, or a redirect",
    ),
    ("GET", "/sign-in/forgot", "the forgot-password form"),
    (
        "POST",
        "/sign-in/forgot",
        "the same answer for every address",
    ),
    ("GET", "/reset/{token}", "the new-password form"),
    ("POST", "/reset/{token}", "the form again, or a redirect"),
    (
        "GET",
        "/invite/{token}",
        "the invitee's own invitation: workspace, role, their address",
    ),
    ("POST", "/invite/{token}", "the form again, or a redirect"),
    ("GET", "/app/audit/chain", "a count and a verdict"),
    ("GET", "/api/docs", "the OpenAPI document as a page"),
    (
        "GET",
        "/api/docs/{tag}",
        "one tag of the OpenAPI document as a page",
    ),
    ("GET", "/sign-in/sso", "a link on to the identity provider"),
    (
        "GET",
        "/sign-in/confirm",
        "the account's own address, to the browser holding its flow",
    ),
    ("POST", "/sign-in/confirm", "the form again, or a redirect"),
    (
        "GET",
        "/app/workspaces",
        "the person's own workspaces: names, slugs, roles",
    ),
    ("POST", "/app/workspaces/switch", "a redirect"),
    // The console's field-service pages: a job names its contact by id; the job's page
    // (which shows the customer) is swept.
    ("GET", "/app/jobs", "job titles, times and technicians"),
    (
        "GET",
        "/app/jobs/new",
        "the booking form; a contact id given in the address",
    ),
    (
        "POST",
        "/app/jobs",
        "a redirect, or the booking form with what was typed",
    ),
    (
        "POST",
        "/app/jobs/{id}/status",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/checklist",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/items",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/items/remove",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/notes",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/details",
        "a redirect, or the job's page (swept)",
    ),
    (
        "POST",
        "/app/jobs/{id}/link",
        "the job's page (swept) with the new link",
    ),
    ("POST", "/app/jobs/{id}/link/revoke", "a redirect"),
    (
        "POST",
        "/app/jobs/{id}/files",
        "a redirect, or the job's page (swept)",
    ),
    ("POST", "/sign-out", "a redirect"),
    (
        "POST",
        "/app/tickets/{id}/messages",
        "a redirect, or the conversation GET /app/tickets/{id}/conversation shows (swept)",
    ),
    ("POST", "/app/tickets/{id}/status", "a redirect"),
    ("POST", "/app/tickets/{id}/details", "a redirect"),
    ("POST", "/app/inbox/bulk", "a redirect"),
    ("POST", "/app/inbox/read", "a redirect"),
    (
        "POST",
        "/app/tickets/{id}/replying",
        "no body; a notice of ids only",
    ),
    // The console's settings: the person's own account and the workspace's set-up.
    ("GET", "/app/settings", "links to settings pages"),
    ("GET", "/app/settings/profile", "the person's own account"),
    (
        "POST",
        "/app/settings/password",
        "a redirect, or the profile page again",
    ),
    (
        "GET",
        "/app/settings/two-factor",
        "the person's own account",
    ),
    (
        "POST",
        "/app/settings/two-factor/enroll",
        "the person's own QR code",
    ),
    (
        "POST",
        "/app/settings/two-factor/confirm",
        "the person's own recovery codes",
    ),
    ("POST", "/app/settings/two-factor/disable", "a redirect"),
    ("GET", "/app/settings/sessions", "the person's own sessions"),
    ("POST", "/app/settings/sessions/{id}/revoke", "a redirect"),
    ("POST", "/app/settings/sessions/revoke-all", "a redirect"),
    ("GET", "/app/step-up", "the password form"),
    (
        "GET",
        "/app/settings/members",
        "members' emails and roles; no contacts",
    ),
    (
        "POST",
        "/app/settings/members/{id}/role",
        "a redirect, or the members page",
    ),
    (
        "POST",
        "/app/settings/members/{id}/remove",
        "a redirect, or the members page",
    ),
    (
        "POST",
        "/app/settings/invitations",
        "a redirect, or the members page",
    ),
    (
        "POST",
        "/app/settings/invitations/{id}/withdraw",
        "a redirect",
    ),
    ("GET", "/app/settings/roles", "roles and their rules"),
    ("GET", "/app/settings/roles/new", "the role form"),
    (
        "POST",
        "/app/settings/roles",
        "a redirect, or the role form",
    ),
    ("GET", "/app/settings/roles/{id}", "the role form"),
    (
        "POST",
        "/app/settings/roles/{id}",
        "a redirect, or the role form",
    ),
    (
        "POST",
        "/app/settings/roles/{id}/delete",
        "a redirect, or the role form",
    ),
    (
        "GET",
        "/app/settings/api-keys",
        "keys' names and roles, never secrets",
    ),
    (
        "POST",
        "/app/settings/api-keys",
        "the keys page with the new key",
    ),
    ("POST", "/app/settings/api-keys/{id}/revoke", "a redirect"),
    (
        "POST",
        "/app/settings/account/delete",
        "a redirect, or the person's own profile with what was wrong",
    ),
    (
        "GET",
        "/app/settings/workspace",
        "the workspace's name and address",
    ),
    (
        "POST",
        "/app/settings/workspace",
        "a redirect, or the workspace page with what was wrong",
    ),
    (
        "POST",
        "/app/settings/webhooks/{id}/recover",
        "the endpoint's page: its state and delivery log, no payloads",
    ),
    (
        "POST",
        "/app/contacts/{id}/retention",
        "a redirect, or a page naming the field that was wrong",
    ),
    (
        "GET",
        "/app/settings/webhooks",
        "endpoints' addresses and events",
    ),
    (
        "POST",
        "/app/settings/webhooks",
        "the endpoints page with the new secret",
    ),
    (
        "GET",
        "/app/settings/webhooks/{id}",
        "an endpoint and its attempts' statuses, never their payloads",
    ),
    (
        "POST",
        "/app/settings/webhooks/{id}",
        "a redirect, or the endpoint page",
    ),
    (
        "POST",
        "/app/settings/webhooks/{id}/rotate-secret",
        "the endpoint page with the new secret",
    ),
    ("POST", "/app/settings/webhooks/{id}/delete", "a redirect"),
    (
        "POST",
        "/app/settings/webhooks/{id}/messages/{message_id}/redeliver",
        "a redirect",
    ),
    (
        "GET",
        "/app/settings/inbound-hooks",
        "receiver URLs and secret states",
    ),
    (
        "POST",
        "/app/settings/inbound-hooks/{provider}",
        "a redirect, or the page",
    ),
    (
        "POST",
        "/app/settings/inbound-hooks/{provider}/remove",
        "a redirect",
    ),
    ("GET", "/app/settings/widget", "the widget's settings"),
    ("POST", "/app/settings/widget", "a redirect, or the page"),
    ("POST", "/app/settings/widget/rotate-key", "a redirect"),
    (
        "POST",
        "/app/settings/widget/identity-secret/rotate",
        "the page with the secret",
    ),
    (
        "POST",
        "/app/settings/widget/identity-secret/reveal",
        "the page with the secret",
    ),
    ("GET", "/app/settings/privacy", "the privacy mode"),
    ("POST", "/app/settings/privacy", "a redirect, or the page"),
    (
        "GET",
        "/app/settings/retention",
        "periods, counts and record ids, never their fields",
    ),
    ("POST", "/app/settings/retention", "a redirect, or the page"),
    ("POST", "/app/settings/retention/run", "a redirect"),
    ("GET", "/app/settings/modules", "the modules"),
    ("POST", "/app/settings/modules", "a redirect, or the page"),
    ("GET", "/app/settings/security", "the security policy"),
    ("POST", "/app/settings/security", "a redirect, or the page"),
    ("POST", "/app/step-up", "a redirect, or the form again"),
    (
        "POST",
        "/app/step-up",
        "a redirect, or the password form again",
    ),
    (
        "GET",
        "/app/contacts/import",
        "the import form: no stored contact",
    ),
    (
        "POST",
        "/app/contacts/import/upload",
        "the uploaded file's own columns and values back, and the targets the role may write",
    ),
    (
        "POST",
        "/app/contacts/import/check",
        "the uploaded file back with the dry run's counts and row errors, as the API's dry run (swept apart)",
    ),
    ("POST", "/app/contacts/import/start", "a redirect"),
    (
        "POST",
        "/app/contacts/{id}/preference-links/revoke",
        "a redirect with a count",
    ),
    ("POST", "/app/contacts/{id}/legal-hold", "a redirect"),
    ("POST", "/app/contacts/{id}/erase", "a redirect"),
    (
        "POST",
        "/app/invoices/new",
        "a redirect, or the new-invoice form naming contacts as GET /app/invoices/new does (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}",
        "a redirect, or the draft's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/totals",
        "figures and line numbers only",
    ),
    (
        "POST",
        "/app/invoices/{id}/issue",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/delete",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/payments",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/refunds",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/credit-notes",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/void",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/send",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/public-link",
        "the invoice's page as GET /app/invoices/{id} shows it (swept), with the link",
    ),
    (
        "POST",
        "/app/invoices/{id}/public-link/revoke",
        "a redirect, or the invoice's page as GET /app/invoices/{id} shows it (swept)",
    ),
    (
        "POST",
        "/app/invoices/{id}/checkout",
        "the invoice's page as GET /app/invoices/{id} shows it (swept), with the checkout's address",
    ),
    (
        "GET",
        "/app/settings/invoicing",
        "the workspace's invoicing settings",
    ),
    (
        "POST",
        "/app/settings/invoicing",
        "a redirect, or the settings page",
    ),
    (
        "GET",
        "/app/settings/payments",
        "providers and the last four characters of their keys",
    ),
    (
        "POST",
        "/app/settings/payments",
        "a redirect, or the payment accounts page",
    ),
    (
        "POST",
        "/app/settings/payments/disconnect",
        "a redirect, or the payment accounts page",
    ),
    ("GET", "/api/v1/openapi.json", "schemas, no records"),
    ("DELETE", "/api/v1/contacts/{id}", "204 without a body"),
    ("DELETE", "/api/v1/companies/{id}", "204 without a body"),
    (
        "POST",
        "/api/v1/contact-fields",
        "field definitions, no values",
    ),
    (
        "GET",
        "/api/v1/contact-fields",
        "field definitions, no values",
    ),
    ("GET", "/api/v1/contact-fields/{key}", "a field definition"),
    (
        "PATCH",
        "/api/v1/contact-fields/{key}",
        "a field definition",
    ),
    (
        "DELETE",
        "/api/v1/contact-fields/{key}",
        "204 without a body",
    ),
    ("POST", "/api/v1/contacts/{id}/erase", "counts and ids"),
    (
        "GET",
        "/api/v1/contacts/{id}/privacy",
        "hold and retention flags",
    ),
    (
        "PATCH",
        "/api/v1/contacts/{id}/privacy",
        "hold and retention flags",
    ),
    (
        "POST",
        "/api/v1/contacts/{id}/erasure-requests",
        "ids and dates",
    ),
    (
        "POST",
        "/api/v1/privacy/erasure-requests/{id}/approve",
        "ids and dates",
    ),
    (
        "POST",
        "/api/v1/privacy/erasure-requests/{id}/reject",
        "ids and dates",
    ),
    ("PUT", "/api/v1/settings/retention", "settings"),
    ("POST", "/api/v1/settings/retention/run", "counts"),
    (
        "POST",
        "/api/v1/contacts/{id}/preference-links/revoke",
        "a count",
    ),
    ("GET", "/api/v1/settings/privacy", "settings"),
    ("PUT", "/api/v1/settings/privacy", "settings"),
    ("POST", "/api/v1/api-keys", "a key"),
    ("GET", "/api/v1/api-keys", "keys"),
    ("DELETE", "/api/v1/api-keys/{id}", "204 without a body"),
    ("POST", "/api/v1/auth/login", "tokens"),
    ("POST", "/api/v1/auth/refresh", "tokens"),
    ("POST", "/api/v1/auth/forgot-password", "202 without data"),
    ("POST", "/api/v1/auth/reset-password", "no data"),
    ("POST", "/api/v1/auth/logout", "204 without a body"),
    ("GET", "/api/v1/auth/sessions", "the caller's sessions"),
    ("DELETE", "/api/v1/auth/sessions", "counts"),
    ("DELETE", "/api/v1/auth/sessions/{id}", "204 without a body"),
    ("GET", "/api/v1/auth/oidc/start", "a redirect"),
    ("GET", "/api/v1/auth/oidc/callback", "a redirect"),
    ("POST", "/api/v1/auth/oidc/complete", "a session"),
    (
        "POST",
        "/api/v1/auth/account/delete",
        "the caller's own account",
    ),
    ("PATCH", "/api/v1/roles/{id}", "a role"),
    ("DELETE", "/api/v1/roles/{id}", "204 without a body"),
    ("POST", "/api/v1/roles", "a role"),
    (
        "PATCH",
        "/api/v1/members/{id}",
        "a member (staff, not contacts)",
    ),
    ("DELETE", "/api/v1/members/{id}", "204 without a body"),
    (
        "PUT",
        "/api/v1/members/{id}/display-name",
        "a member: their address, role and name",
    ),
    ("POST", "/api/v1/invitations", "an invitation (staff)"),
    ("GET", "/api/v1/invitations", "invitations (staff)"),
    ("DELETE", "/api/v1/invitations/{id}", "204 without a body"),
    ("POST", "/api/v1/invitations/accept", "a membership"),
    ("POST", "/api/v1/auth/step-up", "a time"),
    (
        "POST",
        "/api/v1/auth/2fa/enroll",
        "the caller's authenticator",
    ),
    ("POST", "/api/v1/auth/2fa/confirm", "recovery codes"),
    ("POST", "/api/v1/auth/2fa/disable", "no data"),
    ("PATCH", "/api/v1/workspace", "the workspace"),
    ("PATCH", "/api/v1/modules", "modules"),
    ("PATCH", "/api/v1/settings/security", "settings"),
    ("POST", "/api/v1/webhooks", "an endpoint"),
    ("PATCH", "/api/v1/webhooks/{id}", "an endpoint"),
    ("DELETE", "/api/v1/webhooks/{id}", "204 without a body"),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret", "a secret"),
    (
        "POST",
        "/api/v1/webhooks/{id}/messages/{message_id}/redeliver",
        "ids (the payload itself is checked at the receiver)",
    ),
    (
        "POST",
        "/api/v1/webhooks/{id}/recover",
        "counts and a time (the payloads are the ones already cut for the endpoint's role)",
    ),
    (
        "POST",
        "/hooks/{provider}/{workspace_slug}",
        "an acknowledgement",
    ),
    ("GET", "/api/v1/inbound-hooks", "providers' settings"),
    (
        "PUT",
        "/api/v1/inbound-hooks/{provider}",
        "a provider's settings",
    ),
    (
        "DELETE",
        "/api/v1/inbound-hooks/{provider}",
        "204 without a body",
    ),
    ("GET", "/api/v1/widget", "widget settings"),
    ("PUT", "/api/v1/widget", "widget settings"),
    ("POST", "/api/v1/widget/rotate-key", "a key"),
    ("POST", "/api/v1/widget/identity-secret/rotate", "a secret"),
    ("POST", "/api/v1/widget/identity-secret/reveal", "a secret"),
    ("GET", "/widget.js", "a script"),
    // The website widget's public routes answer the visitor about their own conversation;
    // no staff role is involved.
    (
        "GET",
        "/api/v1/widget/{key}/config",
        "the visitor's own conversation",
    ),
    ("OPTIONS", "/api/v1/widget/{key}/messages", "CORS"),
    (
        "POST",
        "/api/v1/widget/{key}/messages",
        "the visitor's own conversation",
    ),
    ("OPTIONS", "/api/v1/widget/{key}/conversation", "CORS"),
    (
        "GET",
        "/api/v1/widget/{key}/conversation",
        "the visitor's own conversation",
    ),
    ("DELETE", "/api/v1/saved-replies/{id}", "204 without a body"),
    // The contact's own pages (the data subject, not a staff role; `consent.rs` and
    // `privacy.rs` prove what they show).
    ("GET", "/preferences/{token}", "the data subject's own page"),
    (
        "POST",
        "/preferences/{token}",
        "the data subject's own page",
    ),
    (
        "POST",
        "/preferences/{token}/unsubscribe",
        "the data subject's own page",
    ),
    (
        "GET",
        "/preferences/{token}/unsubscribe",
        "the data subject's own page",
    ),
    (
        "POST",
        "/preferences/{token}/data",
        "the data subject's own page",
    ),
    (
        "POST",
        "/preferences/{token}/erasure",
        "the data subject's own page",
    ),
    (
        "GET",
        "/preferences/download/{token}",
        "the data subject's own download",
    ),
    (
        "POST",
        "/preferences/download/{token}",
        "the data subject's own download",
    ),
    (
        "GET",
        "/consent/confirm/{token}",
        "the data subject's own page",
    ),
    (
        "POST",
        "/consent/confirm/{token}",
        "the data subject's own page",
    ),
];

/// Values no other data in the test contains (compared case-insensitively).
const NAME: &str = "Zebulon Quartermaine";
const EMAIL: &str = "zebulon.q@sweep-mail.example";
const PHONE_DIGITS: &str = "4155550199";
const COMPANY: &str = "Quetzal Hydraulics";
const TAG: &str = "platinum-otter";
const CUSTOM: &str = "cerulean-marmalade";

fn distinctive() -> [&'static str; 7] {
    [
        NAME,
        "Quartermaine",
        EMAIL,
        PHONE_DIGITS,
        COMPANY,
        TAG,
        CUSTOM,
    ]
}

/// The distinctive values found in `text`.
fn leaks(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    distinctive()
        .into_iter()
        .filter(|v| lower.contains(&v.to_lowercase()))
        .collect()
}

struct Ids {
    contact: String,
    company: String,
    ticket: String,
    saved: String,
    import: String,
    endpoint: String,
    erasure_request: String,
    invoice: String,
    job: String,
}

/// The call that sweeps `method path`: the concrete path and an optional JSON body; `None`
/// when the route is not swept here (then it must be in `CONTACT_FREE`).
fn call_for(method: &str, path: &str, ids: &Ids) -> Option<(String, Option<Value>)> {
    let c = &ids.contact;
    let t = &ids.ticket;
    let call = |p: String| Some((p, None));
    let with = |p: String, body: Value| Some((p, Some(body)));
    match (method, path) {
        // Console pages, as the role's key opens them.
        ("GET", "/app/inbox") => call("/app/inbox".into()),
        ("GET", "/app/tickets/{id}") => call(format!("/app/tickets/{t}")),
        ("GET", "/app/tickets/{id}/conversation") => call(format!("/app/tickets/{t}/conversation")),
        ("GET", "/app/tickets/{id}/saved-reply") => {
            call(format!("/app/tickets/{t}/saved-reply?saved={}", ids.saved))
        }
        ("GET", "/app/contacts") => call("/app/contacts".into()),
        ("GET", "/app/contacts/{id}") => call(format!("/app/contacts/{c}")),
        ("GET", "/app/contacts/{id}/export") => call(format!("/app/contacts/{c}/export")),
        ("GET", "/app/contacts/{id}/portal") => call(format!("/app/contacts/{c}/portal")),
        ("GET", "/app/companies") => call("/app/companies".into()),
        ("GET", "/app/companies/{id}") => call(format!("/app/companies/{}", ids.company)),
        ("GET", "/app/contacts/imports/{id}") => {
            call(format!("/app/contacts/imports/{}", ids.import))
        }
        ("GET", "/app/contacts/imports/{id}/progress") => {
            call(format!("/app/contacts/imports/{}/progress", ids.import))
        }
        ("GET", "/app/audit") => call("/app/audit".into()),
        ("GET", "/app/jobs/{id}") => call(format!("/app/jobs/{}", ids.job)),
        ("GET", "/api/v1/invoices/{id}/pdf") => {
            call(format!("/api/v1/invoices/{}/pdf", ids.invoice))
        }
        ("GET", "/app/invoices") => call("/app/invoices".into()),
        ("GET", "/app/invoices/new") => call(format!("/app/invoices/new?contact={c}")),
        ("GET", "/app/invoices/{id}") => call(format!("/app/invoices/{}", ids.invoice)),
        ("GET", "/app/invoices/{id}/pdf") => call(format!("/app/invoices/{}/pdf", ids.invoice)),
        ("GET", "/app/payments") => call("/app/payments".into()),
        ("POST", "/api/v1/contacts") => with(
            "/api/v1/contacts".into(),
            json!({"email": EMAIL, "name": NAME}),
        ),
        ("GET", "/api/v1/contacts") => call("/api/v1/contacts".into()),
        ("GET", "/api/v1/contacts/{id}") => call(format!("/api/v1/contacts/{c}")),
        ("PATCH", "/api/v1/contacts/{id}") => with(format!("/api/v1/contacts/{c}"), json!({})),
        ("GET", "/api/v1/contacts/export") => call("/api/v1/contacts/export?format=json".into()),
        ("GET", "/api/v1/contacts/{id}/export") => call(format!("/api/v1/contacts/{c}/export")),
        ("GET", "/api/v1/contacts/imports/{id}") => {
            call(format!("/api/v1/contacts/imports/{}", ids.import))
        }
        ("POST", "/api/v1/contacts/imports") => None, // a CSV body: called on its own below
        ("GET", "/api/v1/contacts/{id}/consent") => call(format!("/api/v1/contacts/{c}/consent")),
        ("PATCH", "/api/v1/contacts/{id}/consent") => with(
            format!("/api/v1/contacts/{c}/consent"),
            json!({"do_not_sell": true}),
        ),
        ("GET", "/api/v1/contacts/{id}/consent/log") => {
            call(format!("/api/v1/contacts/{c}/consent/log"))
        }
        ("GET", "/api/v1/contacts/{id}/outreach") => call(format!("/api/v1/contacts/{c}/outreach")),
        ("GET", "/api/v1/privacy/erasure-requests") => {
            call("/api/v1/privacy/erasure-requests".into())
        }
        ("GET", "/api/v1/settings/retention") => call("/api/v1/settings/retention".into()),
        ("GET", "/api/v1/settings/retention/preview") => {
            call("/api/v1/settings/retention/preview".into())
        }
        ("POST", "/api/v1/companies") => with(
            "/api/v1/companies".into(),
            json!({"name": "Sweep Other Co"}),
        ),
        ("GET", "/api/v1/companies") => call("/api/v1/companies".into()),
        ("GET", "/api/v1/companies/{id}") => call(format!("/api/v1/companies/{}", ids.company)),
        ("PATCH", "/api/v1/companies/{id}") => {
            with(format!("/api/v1/companies/{}", ids.company), json!({}))
        }
        ("POST", "/api/v1/tickets") => with(
            "/api/v1/tickets".into(),
            json!({"subject": "Another", "contact": {"email": EMAIL}, "message": "Again."}),
        ),
        ("GET", "/api/v1/tickets") => call("/api/v1/tickets".into()),
        ("GET", "/api/v1/tickets/{id}") => call(format!("/api/v1/tickets/{t}")),
        ("GET", "/api/v1/tickets/{id}/attachments/{attachment_id}") => call(format!(
            "/api/v1/tickets/{t}/attachments/att_00000000000000000000000000000001"
        )),
        ("PATCH", "/api/v1/tickets/{id}") => {
            with(format!("/api/v1/tickets/{t}"), json!({"status": "pending"}))
        }
        ("POST", "/api/v1/tickets/{id}/replies") => with(
            format!("/api/v1/tickets/{t}/replies"),
            json!({"saved_reply_id": ids.saved}),
        ),
        ("POST", "/api/v1/tickets/bulk") => with(
            "/api/v1/tickets/bulk".into(),
            json!({"ids": [t], "status": "open"}),
        ),
        ("GET", "/api/v1/tickets/{id}/activity") => call(format!("/api/v1/tickets/{t}/activity")),
        ("POST", "/api/v1/tickets/{id}/notes") => with(
            format!("/api/v1/tickets/{t}/notes"),
            json!({"body": "A note."}),
        ),
        ("GET", "/api/v1/saved-replies") => call("/api/v1/saved-replies".into()),
        ("POST", "/api/v1/saved-replies") => with(
            "/api/v1/saved-replies".into(),
            json!({"name": "Sweep two", "body": "Hi {{contact.name}}"}),
        ),
        ("GET", "/api/v1/saved-replies/{id}") => {
            call(format!("/api/v1/saved-replies/{}", ids.saved))
        }
        ("PATCH", "/api/v1/saved-replies/{id}") => with(
            format!("/api/v1/saved-replies/{}", ids.saved),
            json!({"name": "Greeting"}),
        ),
        ("POST", "/api/v1/saved-replies/{id}/preview") => call(format!(
            "/api/v1/saved-replies/{}/preview?ticket_id={t}",
            ids.saved
        )),
        ("GET", "/api/v1/events") => None, // a stream: read on its own below
        ("GET", "/api/v1/audit") => call("/api/v1/audit".into()),
        ("GET", "/api/v1/audit/export") => call("/api/v1/audit/export".into()),
        ("GET", "/api/v1/webhooks/event-types") => call("/api/v1/webhooks/event-types".into()),
        ("GET", "/api/v1/webhooks") => call("/api/v1/webhooks".into()),
        ("GET", "/api/v1/webhooks/{id}") => call(format!("/api/v1/webhooks/{}", ids.endpoint)),
        ("GET", "/api/v1/webhooks/{id}/deliveries") => {
            call(format!("/api/v1/webhooks/{}/deliveries", ids.endpoint))
        }
        ("GET", "/api/v1/inbound-events") => call("/api/v1/inbound-events".into()),
        ("GET", "/app/settings/inbound-events") => call("/app/settings/inbound-events".into()),
        ("GET", "/api/v1/members") => call("/api/v1/members".into()),
        ("GET", "/api/v1/roles") => call("/api/v1/roles".into()),
        ("GET", "/api/v1/modules") => call("/api/v1/modules".into()),
        ("GET", "/api/v1/workspace") => call("/api/v1/workspace".into()),
        _ => {
            let _ = &ids.erasure_request;
            None
        }
    }
}

/// Called on their own below (a CSV body, a stream).
const SWEPT_APART: &[(&str, &str)] = &[
    ("POST", "/api/v1/contacts/imports"),
    ("GET", "/api/v1/events"),
];

async fn id_of(resp: holdfast_testkit::Resp) -> String {
    resp.json["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_shows_a_hidden_contact_field() {
    let receiver = Receiver::start().await;
    let app = TestApp::spawn_with(Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        // The sweep calls every route as several roles in quick succession: the per-credential
        // budget is not what it tests.
        api_rate_limit_per_minute: Some(1_000_000),
        ..crate::widget::layer()
    })
    .await;
    let ws = app.workspace("field-sweep").await;
    let admin = ws.admin_key.clone();

    // Every route is swept or declared contact-free, and not both.
    let table = route_table();
    let mut unaccounted = Vec::new();
    let placeholder = Ids {
        contact: String::new(),
        company: String::new(),
        ticket: String::new(),
        saved: String::new(),
        import: String::new(),
        endpoint: String::new(),
        erasure_request: String::new(),
        invoice: String::new(),
        job: String::new(),
    };
    for spec in table.specs() {
        let (m, p) = (spec.method.as_str(), spec.path);
        let free = CONTACT_FREE.iter().any(|(fm, fp, _)| *fm == m && *fp == p);
        let swept = call_for(m, p, &placeholder).is_some() || SWEPT_APART.contains(&(m, p));
        assert!(
            !(free && swept),
            "{m} {p} is both swept and declared contact-free"
        );
        if !free && !swept {
            unaccounted.push(format!("{m} {p}"));
        }
    }
    assert!(
        unaccounted.is_empty(),
        "routes neither swept for contact data nor declared contact-free (add them to \
         call_for or CONTACT_FREE): {unaccounted:?}"
    );

    // The role: every read and export permission (and the writes the sweep calls), every
    // contact field hidden.
    let hidden: BTreeMap<String, Value> = [
        "contacts.name",
        "contacts.email",
        "contacts.phone",
        "contacts.company",
        "contacts.tags",
        "contacts.custom",
    ]
    .into_iter()
    .map(|f| (f.to_owned(), json!("hidden")))
    .collect();
    let role = id_of(
        app.post("/api/v1/roles")
            .key(&admin)
            .json(&json!({
                "name": "Sees no contact fields",
                "permissions": ["contacts.read", "contacts.write", "contacts.export",
                                "contacts.erase", "tickets.read", "tickets.write",
                                "automation.manage", "webhooks.manage", "members.read",
                                "audit.read", "invoices.read", "jobs.read", "jobs.all"],
                "fields": hidden,
            }))
            .expect(201)
            .await,
    )
    .await;
    let (key, _) = crate::key_with_role(&app, &ws, &role).await;

    // Live events and a webhook endpoint acting as the role, before anything happens.
    let mut events = EventStream::open(&format!("{}/api/v1/events", app.base), &key).await;
    let ready = events.next(Duration::from_secs(20)).await.expect("ready");
    assert_eq!(ready.event, "ready");
    let endpoint = id_of(
        app.post("/api/v1/webhooks")
            .key(&admin)
            .json(&json!({
                "url": format!("{}/sweep", receiver.base),
                "role": role,
                "event_types": ["contact.created", "contact.updated", "ticket.created",
                                "ticket.updated", "message.created"],
            }))
            .expect(201)
            .await,
    )
    .await;

    // The seeded contact: a distinctive value in every field.
    let company = id_of(
        app.post("/api/v1/companies")
            .key(&admin)
            .json(&json!({"name": "Sweep Holding"}))
            .expect(201)
            .await,
    )
    .await;
    app.post("/api/v1/contact-fields")
        .key(&admin)
        .json(&json!({"key": "colour", "label": "Colour", "type": "text"}))
        .expect(201)
        .await;
    let contact_id = contact(
        &app,
        &ws,
        json!({"name": NAME, "email": EMAIL, "phone": format!("+1{PHONE_DIGITS}"),
               "company": COMPANY, "tags": [TAG], "company_id": company,
               "custom": {"colour": CUSTOM}}),
    )
    .await;
    app.patch(&format!("/api/v1/contacts/{contact_id}/consent"))
        .key(&admin)
        .json(&json!({"channels": {"email": {"status": "granted", "lawful_basis": "consent"}}}))
        .expect(200)
        .await;
    // An issued invoice billing the contact: its PDF prints the customer.
    let invoice = id_of(
        app.post("/api/v1/invoices")
            .key(&admin)
            .json(&json!({"contact_id": contact_id,
                          "lines": [{"description": "Sweep visit", "quantity": "1", "unit_price": "10"}]}))
            .expect(201)
            .await,
    )
    .await;
    app.post(&format!("/api/v1/invoices/{invoice}/issue"))
        .key(&admin)
        .json(&json!({}))
        .expect(200)
        .await;
    // A job for the contact: its page shows the customer to the technician.
    let job = id_of(
        app.post("/api/v1/jobs")
            .key(&admin)
            .json(&json!({"contact_id": contact_id, "title": "Sweep visit",
                          "service_address": "1 Sweep Street"}))
            .expect(201)
            .await,
    )
    .await;
    let ticket = id_of(
        app.post("/api/v1/tickets")
            .key(&admin)
            .json(
                &json!({"subject": "Sweep ticket", "contact": {"email": EMAIL},
                          "message": "Please call me back."}),
            )
            .expect(201)
            .await,
    )
    .await;
    let saved = id_of(
        app.post("/api/v1/saved-replies")
            .key(&admin)
            .json(&json!({"name": "Greeting", "body": "Hi {{contact.name|there}}, thanks."}))
            .expect(201)
            .await,
    )
    .await;
    // An import that updates the contact (by email), and finishes.
    let import = app
        .post("/api/v1/contacts/imports?mode=skip_invalid")
        .key(&admin)
        .body(
            "text/csv",
            format!("email,name,phone\n{EMAIL},{NAME},+1{PHONE_DIGITS}\nnot-an-email,{NAME},\n"),
        )
        .expect(202)
        .await;
    let import = import.json["id"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        let status = app
            .get(&format!("/api/v1/contacts/imports/{import}"))
            .key(&admin)
            .expect(200)
            .await
            .json["status"]
            .clone();
        if status == "done" || status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let erasure_request = app
        .post(&format!("/api/v1/contacts/{contact_id}/erasure-requests"))
        .key(&admin)
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/api/v1/contacts/{contact_id}"))
        .key(&admin)
        .json(&json!({"tags": [TAG, "second"]}))
        .expect(200)
        .await;
    // A widget visitor typing the person's name and address: a contact of its own, whose
    // export lists the conversation with the address typed.
    let widget_key = crate::widget::enable(&app, &ws, &["https://shop.example.com"]).await;
    let form = crate::widget::form_token(&app, &widget_key).await;
    crate::widget::submit(
        &app,
        &widget_key,
        &json!({"name": NAME, "email": EMAIL, "message": "Is my order ready?",
                "form_token": form, "website": ""}),
    )
    .expect(201)
    .await;
    let widget_contact = app
        .get("/api/v1/tickets")
        .key(&admin)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == "widget")
        .unwrap()["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let typed = app
        .get(&format!("/api/v1/contacts/{widget_contact}/export"))
        .key(&admin)
        .expect(200)
        .await;
    assert!(
        typed.text.contains("claimed_email") && typed.text.contains(EMAIL),
        "{}",
        typed.text
    );
    // A provider's event naming the person (a payment with their address), received raw.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    app.call(Method::PUT, "/api/v1/inbound-hooks/standard")
        .key(&admin)
        .json(&json!({"secret": secret}))
        .expect(200)
        .await;
    let raw = json!({"type": "payment.succeeded",
                     "data": {"customer": {"email": EMAIL, "name": NAME}}})
    .to_string();
    let ts = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let signature = holdfast_testkit::python::standard_sign(secret, "msg_sweep", ts, &raw);
    app.post(&format!("/hooks/standard/{}", ws.slug))
        .header("webhook-id", "msg_sweep")
        .header("webhook-timestamp", &ts.to_string())
        .header("webhook-signature", &signature)
        .body("application/json", raw)
        .expect(200)
        .await;
    let received = app
        .get("/api/v1/inbound-events")
        .key(&admin)
        .expect(200)
        .await;
    assert!(received.text.contains(EMAIL), "{}", received.text);
    // The admin sees the values (the sweep would pass vacuously otherwise).
    let seen = app
        .get(&format!("/api/v1/contacts/{contact_id}/export"))
        .key(&admin)
        .expect(200)
        .await;
    assert_eq!(
        leaks(&seen.text).len(),
        distinctive().len(),
        "{}",
        seen.text
    );

    let ids = Ids {
        contact: contact_id.clone(),
        company,
        ticket,
        saved,
        import,
        endpoint: endpoint.clone(),
        erasure_request,
        invoice,
        job,
    };
    let mut found: Vec<String> = Vec::new();
    let mut answered = 0;
    for spec in table.specs() {
        let (m, p) = (spec.method.as_str(), spec.path);
        let Some((path, body)) = call_for(m, p, &ids) else {
            continue;
        };
        let mut call = app
            .call(Method::from_bytes(m.as_bytes()).unwrap(), &path)
            .key(&key);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let resp = call.send().await;
        assert!(
            resp.status < 500,
            "{m} {path} answered {}: {}",
            resp.status,
            resp.text
        );
        if resp.status < 300 {
            answered += 1;
        } else {
            eprintln!(
                "sweep: {m} {path} -> {} {}",
                resp.status,
                &resp.text[..resp.text.len().min(200)]
            );
        }
        let leaked = leaks(&resp.text);
        if !leaked.is_empty() {
            found.push(format!(
                "{m} {p} ({}) shows {leaked:?}: {}",
                resp.status,
                &resp.text[..resp.text.len().min(400)]
            ));
        }
    }
    let typed = app
        .get(&format!("/api/v1/contacts/{widget_contact}/export"))
        .key(&key)
        .expect(200)
        .await;
    if !leaks(&typed.text).is_empty() {
        found.push(format!("widget contact's export: {}", typed.text));
    }
    // A search for a hidden value finds nothing, and a dry-run import reports no values.
    for q in [EMAIL, "Zebulon", COMPANY, CUSTOM] {
        let resp = app
            .get(&format!("/api/v1/contacts?q={q}"))
            .key(&key)
            .send()
            .await;
        if !leaks(&resp.text).is_empty() {
            found.push(format!("search {q}: {}", resp.text));
        }
    }
    let dry = app
        .post("/api/v1/contacts/imports?dry_run=true")
        .key(&key)
        .body("text/csv", "tags\nfresh\n".to_owned())
        .send()
        .await;
    assert!(dry.status < 500, "{}", dry.text);
    if !leaks(&dry.text).is_empty() {
        found.push(format!("dry-run import: {}", dry.text));
    }
    // The CSV export too (the JSON one is in the table walk).
    let csv = app
        .get("/api/v1/contacts/export?format=csv")
        .key(&key)
        .expect(200)
        .await;
    if !leaks(&csv.text).is_empty() {
        found.push(format!("csv export: {}", csv.text));
    }

    // The webhook endpoint bound to the role received contact and ticket events, cut.
    let delivered = receiver.wait_for(4, Duration::from_secs(30)).await;
    assert!(
        delivered
            .iter()
            .any(|d| d.json()["type"] == "contact.created"),
        "the role-bound endpoint received the contact"
    );
    for d in &delivered {
        let text = d.json().to_string();
        if !leaks(&text).is_empty() {
            found.push(format!("webhook delivery: {text}"));
        }
    }
    // The live stream heard the changes and named no values.
    let mut heard = 0;
    while let Some(event) = events.next(Duration::from_millis(500)).await {
        heard += 1;
        if !leaks(&event.data).is_empty() {
            found.push(format!("event {}: {}", event.event, event.data));
        }
    }
    assert!(heard > 0, "the stream carried the seeded changes");

    assert!(answered > 35, "the sweep reached the routes ({answered})");
    assert!(
        found.is_empty(),
        "hidden contact fields leaked:\n{}",
        found.join("\n")
    );
    // No stale declarations: each contact-free route still exists.
    for (m, p, _) in CONTACT_FREE {
        assert!(
            table
                .specs()
                .any(|s| s.method.as_str() == *m && s.path == *p),
            "CONTACT_FREE names {m} {p}, which is no route"
        );
    }
}

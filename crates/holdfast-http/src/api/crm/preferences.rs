//! The contact's own pages, reached only through a link token: the preference center
//! (`/preferences/{token}`, carried in every customer mail's footer and `List-Unsubscribe`
//! header), its one-click unsubscribe (RFC 8058), "download my data" (a single-use link mailed
//! to the contact, `/preferences/download/{token}`), and the double opt-in confirmation
//! (`/consent/confirm/{token}`). A malformed, unknown or revoked token is one 404. Every change
//! is the contact's own act, logged with its address and user agent. Plain HTML forms, no
//! script; the page's policy allows only its own inline style and posting to itself. The
//! choices' rules, the mailed data link and the deletion request are the application layer's
//! (`holdfast_app::crm::consent::own_choices`, `holdfast_app::privacy::subject`), shared with
//! the client portal.

use crate::extract::ClientInfo;
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use holdfast_app::crm::consent::{contacts_own, own_choices};
use holdfast_app::privacy::subject::{DataLink, file_erasure_request, mail_data_link};
use holdfast_core::crm::consent::{
    self as rules, Channel, PREFERENCE_TOKEN_PREFIX, Source, Status,
};
use holdfast_core::crm::preferences::{channel_label, choices_from_form};
use holdfast_core::ids::ContactId;
use holdfast_core::token::sha256_hex;
use holdfast_store::Lock;
use holdfast_store::Tenant;
use holdfast_store::crm::consent::{self as store, Standing, Who};
use serde_json::json;
use std::collections::HashMap;

const PUBLIC: Guard = Guard::Public {
    rate_limit: RateLimit::Standard,
};

const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                           frame-ancestors 'none'; base-uri 'none'";

pub fn routes(t: &mut RouteTable) {
    let doc = |summary| Doc::new("preferences", summary);
    t.add(
        Method::GET,
        "/preferences/{token}",
        PUBLIC,
        doc("The contact's preference center (HTML; the token from a mail's footer)")
            .text("text/html"),
        get(page),
    );
    t.add(
        Method::POST,
        "/preferences/{token}",
        PUBLIC,
        doc("Save the contact's choices from the preference center's form").text("text/html"),
        post(save),
    );
    t.add(
        Method::POST,
        "/preferences/{token}/unsubscribe",
        PUBLIC,
        doc("One-click unsubscribe from email (RFC 8058 List-Unsubscribe-Post)").text("text/plain"),
        post(one_click),
    );
    t.add(
        Method::GET,
        "/preferences/{token}/unsubscribe",
        PUBLIC,
        doc("The unsubscribe link opened in a browser: the preference center, nothing changed")
            .text("text/html"),
        get(page_unsubscribe),
    );
    t.add(
        Method::POST,
        "/preferences/{token}/data",
        PUBLIC,
        doc("Ask for a copy of the contact's data: a single-use link valid for one hour is mailed to the contact's address")
            .text("text/html"),
        post(request_download),
    );
    t.add(
        Method::GET,
        "/preferences/download/{token}",
        PUBLIC,
        doc("The mailed data-download link's page (HTML; downloading is a POST, so link scanners cannot spend it)")
            .text("text/html"),
        get(download_page),
    );
    t.add(
        Method::POST,
        "/preferences/download/{token}",
        PUBLIC,
        doc("Download the contact's data (JSON) with the mailed single-use link; internal notes are left out")
            .text("application/json"),
        post(download),
    );
    t.add(
        Method::POST,
        "/preferences/{token}/erasure",
        PUBLIC,
        doc("Ask for the contact's data to be deleted (queued for an operator's decision within 30 days)")
            .text("text/html"),
        post(request_deletion),
    );
    t.add(
        Method::GET,
        "/consent/confirm/{token}",
        PUBLIC,
        doc("The double opt-in confirmation page (HTML; confirming is a POST, so link scanners cannot)")
            .text("text/html"),
        get(confirm_page),
    );
    t.add(
        Method::POST,
        "/consent/confirm/{token}",
        PUBLIC,
        doc("Confirm email consent with the single-use link from the confirmation mail")
            .text("text/html"),
        post(confirm),
    );
}

/// The workspace and contact of a live preference link; anything else is the one 404.
async fn target(state: &AppState, token: &str) -> ApiResult<(Tenant, ContactId)> {
    if !rules::token_shape_ok(token, PREFERENCE_TOKEN_PREFIX) {
        return Err(not_found());
    }
    store::unscoped_preference_target(&state.db, &sha256_hex(token))
        .await?
        .ok_or_else(not_found)
}

/// The contact's standing, locked for the change, while the link is still live: a revocation
/// that committed after the link was looked up stops the change.
async fn standing_for_change(
    tx: &mut holdfast_store::TenantTx<'_>,
    token: &str,
    contact: &ContactId,
) -> ApiResult<Standing> {
    let standing = store::standing(tx, contact, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    // The link was recorded when it was mailed: it is live while its row is and it is of the
    // contact's current generation (revoking moves the generation on). The key that made it
    // is not needed to accept it, so links outlive a token-key rotation.
    let generation =
        store::live_preference_link_generation(tx, contact, &sha256_hex(token)).await?;
    if generation != Some(standing.link_generation) {
        return Err(not_found());
    }
    Ok(standing)
}

fn not_found() -> Problem {
    Problem::not_found("link")
}

/// The contact's own act, from this request.
fn who(client: &ClientInfo, source: Source, note: Option<&str>) -> Who {
    contacts_own(&crate::audit::anonymous_origin(client), source, note)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let doc = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         fieldset{{margin:1rem 0}}button{{margin:.5rem .5rem 0 0}}.note{{color:#555}}</style></head>\
         <body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::CACHE_CONTROL, "no-store"),
        ],
        doc,
    )
        .into_response()
}

async fn workspace_name(tx: &mut holdfast_store::TenantTx<'_>) -> ApiResult<String> {
    Ok(holdfast_store::access::workspaces::get(tx)
        .await?
        .map(|w| w.name)
        .unwrap_or_default())
}

fn render(token: &str, name: &str, standing: &Standing, notice: Option<&str>) -> Response {
    let mut body = String::new();
    if let Some(notice) = notice {
        body.push_str(&format!(
            "<p role=\"status\"><strong>{}</strong></p>",
            escape(notice)
        ));
    }
    body.push_str(&format!(
        "<p>Choose how {} may contact you.</p>",
        escape(if name.is_empty() { "we" } else { name })
    ));
    if standing.do_not_contact {
        body.push_str(
            "<p class=\"note\">You are on this business's do-not-contact list: it sends you nothing, whatever is chosen below.</p>",
        );
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/preferences/{}\">",
        escape(token)
    ));
    for channel in Channel::ALL {
        let status = standing.status(*channel);
        let on = status == Status::Granted;
        let pending = if status == Status::Pending {
            " <span class=\"note\">(waiting for your confirmation)</span>"
        } else {
            ""
        };
        let c = channel.as_str();
        body.push_str(&format!(
            "<fieldset><legend>{}{pending}</legend>\
             <label><input type=\"radio\" name=\"{c}\" value=\"granted\"{}> Yes</label> \
             <label><input type=\"radio\" name=\"{c}\" value=\"denied\"{}> No</label></fieldset>",
            channel_label(*channel),
            if on { " checked" } else { "" },
            if status == Status::Denied {
                " checked"
            } else {
                ""
            },
        ));
    }
    body.push_str(
        "<button type=\"submit\" name=\"action\" value=\"save\">Save my choices</button>\
         <button type=\"submit\" name=\"action\" value=\"unsubscribe_all\">Unsubscribe from everything</button></form>",
    );
    body.push_str(&format!(
        "<h2>Your data</h2><form method=\"post\" action=\"/preferences/{t}/data\">\
         <button type=\"submit\">Email me a copy of my data</button></form>\
         <p class=\"note\">We send a download link to your email address; it works once, for one hour.</p>\
         <form method=\"post\" action=\"/preferences/{t}/erasure\">\
         <button type=\"submit\">Ask us to delete your data</button></form>\
         <p class=\"note\">A deletion request is decided by the business within 30 days.</p>",
        t = escape(token)
    ));
    html(StatusCode::OK, "Your contact preferences", &body)
}

/// "Download my data", asked from the preference center: the footer's link is forwarded and
/// scanned too often to serve the data itself, so a single-use link (one hour) goes to the
/// contact's own address ([`mail_data_link`], as from the client portal).
async fn request_download(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (tenant, contact) = target(&state, &token).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    standing_for_change(&mut tx, &token, &contact).await?;
    let origin = crate::audit::anonymous_origin(&client);
    let sent = mail_data_link(&mut tx, &contact, Source::PreferenceCenter, &origin, now).await?;
    tx.commit().await?;
    Ok(match sent {
        DataLink::Mailed => html(
            StatusCode::OK,
            "Check your email",
            "<p>We sent a download link to your email address. It works once, for one hour.</p>",
        ),
        DataLink::AlreadyMailed => html(
            StatusCode::OK,
            "Check your email",
            "<p>We sent a download link to your email address a few minutes ago. It works once, for one hour.</p>",
        ),
        DataLink::NoAddress => html(
            StatusCode::OK,
            "We could not send the link",
            "<p>There is no email address on file to send the link to. Please contact the business directly.</p>",
        ),
    })
}

/// A live data-download link's target; anything else is the one 404.
async fn download_target(state: &AppState, token: &str) -> ApiResult<(String, Tenant, ContactId)> {
    let digest = holdfast_core::token::parse_opaque(rules::DATA_LINK_TOKEN_KIND, token)
        .ok_or_else(not_found)?;
    let (tenant, contact) =
        store::unscoped_data_link_target(&state.db, &digest, state.clock.now_ms())
            .await?
            .ok_or_else(not_found)?;
    Ok((digest, tenant, contact))
}

async fn download_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    download_target(&state, &token).await?;
    let body = format!(
        "<p>Your data is ready as a JSON file.</p>\
         <form method=\"post\" action=\"/preferences/download/{}\">\
         <button type=\"submit\">Download my data</button></form>\
         <p class=\"note\">The link works once: keep the file safe.</p>",
        escape(&token)
    );
    Ok(html(StatusCode::OK, "Download your data", &body))
}

/// The mailed link, spent: the contact's own copy ([`holdfast_app::privacy::Reader::DataSubject`]:
/// their profile whole, without internal notes), as a file.
async fn download(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (digest, tenant, contact) = download_target(&state, &token).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    if !store::spend_link(&mut tx, store::SingleUseLink::DataDownload, &digest, now).await? {
        return Err(not_found());
    }
    let document = holdfast_app::privacy::export_document(
        &mut tx,
        &contact,
        now,
        holdfast_app::privacy::Reader::DataSubject,
    )
    .await?
    .ok_or_else(not_found)?;
    let event = crate::audit::anonymous(
        &client,
        "contact.exported",
        "contact",
        contact.as_str(),
        json!({"by": "contact", "via": "preference_center"}),
    );
    holdfast_store::ops::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// "Delete my data": an erasure request waiting for the operator's decision (one per
/// contact while open), audited ([`file_erasure_request`], as from the client portal).
async fn request_deletion(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (tenant, contact) = target(&state, &token).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    standing_for_change(&mut tx, &token, &contact).await?;
    let origin = crate::audit::anonymous_origin(&client);
    file_erasure_request(
        &mut tx,
        &contact,
        Source::PreferenceCenter.as_str(),
        &origin,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(html(
        StatusCode::OK,
        "Your request is recorded",
        "<p>The business will decide on deleting your data within 30 days.</p>",
    ))
}

async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (tenant, contact) = target(&state, &token).await?;
    let mut tx = state.db.read(&tenant).await?;
    let standing = store::standing(&mut tx, &contact, Lock::Read)
        .await?
        .ok_or_else(not_found)?;
    let name = workspace_name(&mut tx).await?;
    tx.commit().await?;
    let notice = query.contains_key("saved").then_some("Saved. Thank you.");
    Ok(render(&token, &name, &standing, notice))
}

/// A person (or an older mail client) opening the unsubscribe link: the page with its
/// buttons; only a POST changes anything.
async fn page_unsubscribe(state: State<AppState>, token: Path<String>) -> ApiResult<Response> {
    page(state, token, Query(HashMap::new())).await
}

/// The posted form: each channel `granted`/`denied` (absent = unchanged), and `action`
/// (`holdfast_core::crm::preferences::choices_from_form`, the client portal's rules too).
fn parse_form(body: &[u8]) -> Result<Vec<(Channel, Status)>, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        Problem::field(
            holdfast_core::error::ErrorCode::Validation,
            "form",
            "is not a form this page sends",
        )
    })?;
    choices_from_form(&pairs).map_err(Problem::validation)
}

async fn save(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let (tenant, contact) = target(&state, &token).await?;
    let choices = parse_form(&body)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    let before = standing_for_change(&mut tx, &token, &contact).await?;
    own_choices(
        &mut tx,
        &contact,
        &before,
        &choices,
        &who(&client, Source::PreferenceCenter, None),
        now,
    )
    .await?;
    tx.commit().await?;
    // Post/redirect/get: a reload does not post again.
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/preferences/{token}?saved=1"))],
    )
        .into_response())
}

/// Whether the body is RFC 8058's one-click request: `List-Unsubscribe=One-Click` as a
/// urlencoded form, or as the field of a `multipart/form-data` body (which the RFC prefers).
fn is_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let text = String::from_utf8_lossy(body);
        let mut parts = text.split("name=\"List-Unsubscribe\"").skip(1);
        return parts.any(|rest| {
            rest.split_once("\r\n\r\n")
                .or_else(|| rest.split_once("\n\n"))
                .is_some_and(|(_, value)| value.trim_start().starts_with("One-Click"))
        });
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

/// RFC 8058: the mail client posts `List-Unsubscribe=One-Click`; email becomes denied.
async fn one_click(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let (tenant, contact) = target(&state, &token).await?;
    if !is_one_click(&headers, &body) {
        return Err(Problem::field(
            holdfast_core::error::ErrorCode::Validation,
            "List-Unsubscribe",
            "a one-click unsubscribe posts List-Unsubscribe=One-Click (RFC 8058)",
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    let before = standing_for_change(&mut tx, &token, &contact).await?;
    own_choices(
        &mut tx,
        &contact,
        &before,
        &[(Channel::Email, Status::Denied)],
        &who(
            &client,
            Source::PreferenceCenter,
            Some("one-click unsubscribe"),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "You are unsubscribed from email.\n",
    )
        .into_response())
}

/// A live confirmation link's target; anything else is the one 404.
async fn confirmation_target(
    state: &AppState,
    token: &str,
) -> ApiResult<(String, Tenant, ContactId, Channel)> {
    let digest = holdfast_core::token::parse_opaque(rules::CONFIRM_TOKEN_KIND, token)
        .ok_or_else(not_found)?;
    let (tenant, contact, channel) =
        store::unscoped_confirmation_target(&state.db, &digest, state.clock.now_ms())
            .await?
            .ok_or_else(not_found)?;
    Ok((digest, tenant, contact, channel))
}

async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (_, tenant, _, channel) = confirmation_target(&state, &token).await?;
    let mut tx = state.db.read(&tenant).await?;
    let name = workspace_name(&mut tx).await?;
    tx.commit().await?;
    let body = format!(
        "<p>Do you want to receive {} from {}?</p>\
         <form method=\"post\" action=\"/consent/confirm/{}\">\
         <button type=\"submit\">Yes, confirm</button></form>\
         <p class=\"note\">If you did not ask for this, close this page: nothing changes.</p>",
        escape(&channel_label(channel).to_lowercase()),
        escape(&name),
        escape(&token)
    );
    Ok(html(StatusCode::OK, "Please confirm", &body))
}

async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (digest, tenant, contact, channel) = confirmation_target(&state, &token).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.write(&tenant).await?;
    if !store::spend_link(&mut tx, store::SingleUseLink::Confirmation, &digest, now).await? {
        return Err(not_found());
    }
    let before = store::standing(&mut tx, &contact, Lock::ForUpdate)
        .await?
        .ok_or_else(not_found)?;
    // Only a channel still waiting is confirmed: a later "no" from the contact or an operator
    // is not overturned by an old link.
    if before.status(channel) == Status::Pending {
        own_choices(
            &mut tx,
            &contact,
            &before,
            &[(channel, Status::Granted)],
            &who(&client, Source::Confirmation, None),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(html(
        StatusCode::OK,
        "Thank you",
        "<p>Your choice is saved.</p>",
    ))
}

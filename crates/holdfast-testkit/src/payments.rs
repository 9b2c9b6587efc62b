//! A payment provider's API on `127.0.0.1`, for Holdfast's `payments_api_base`: it opens
//! Stripe Checkout Sessions (`POST /v1/checkout/sessions`) and Square payment links
//! (`POST /v2/online-checkout/payment-links`) the way those APIs answer, and answers Mercado
//! Pago payment look-ups (`GET /v1/payments/{id}`) with what a test put there. Every request is
//! kept, so a test can check what Holdfast sent (the amount, the currency, the key).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

impl ApiCall {
    /// A form field of a form-encoded body (Stripe's API).
    pub fn form(&self, name: &str) -> Option<String> {
        self.body.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (decode(k) == name).then(|| decode(v))
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone, Default)]
struct Shared {
    calls: Arc<Mutex<Vec<ApiCall>>>,
    counter: Arc<AtomicU64>,
    mercadopago: Arc<Mutex<HashMap<String, serde_json::Value>>>,
}

/// The provider API, running until dropped with the test's runtime.
pub struct ProviderApi {
    /// `http://127.0.0.1:<port>`: Holdfast's `payments_api_base`.
    pub base: String,
    shared: Shared,
}

impl ProviderApi {
    pub async fn start() -> ProviderApi {
        let shared = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the provider API");
        let addr = listener.local_addr().expect("its address");
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ProviderApi {
            base: format!("http://{addr}"),
            shared,
        }
    }

    /// Every request received so far, oldest first.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.shared
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// What `GET /v1/payments/{id}` answers for `id`.
    pub fn set_mercadopago_payment(&self, id: &str, payment: serde_json::Value) {
        if let Ok(mut map) = self.shared.mercadopago.lock() {
            map.insert(id.to_owned(), payment);
        }
    }
}

async fn answer(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = ApiCall {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Ok(mut calls) = s.calls.lock() {
        calls.push(call.clone());
    }
    if call.authorization.is_none() {
        return (StatusCode::UNAUTHORIZED, "no key").into_response();
    }
    let n = s.counter.fetch_add(1, Ordering::SeqCst) + 1;
    match (method.as_str(), call.path.as_str()) {
        ("POST", "/v1/checkout/sessions") => axum::Json(serde_json::json!({
            "id": format!("cs_test_{n:04}"),
            "object": "checkout.session",
            "url": format!("https://checkout.stripe.com/c/pay/cs_test_{n:04}"),
            "amount_total": call.form("line_items[0][price_data][unit_amount]")
                .and_then(|a| a.parse::<i64>().ok()),
            "currency": call.form("line_items[0][price_data][currency]"),
            "payment_status": "unpaid",
        }))
        .into_response(),
        ("POST", "/v2/online-checkout/payment-links") => axum::Json(serde_json::json!({
            "payment_link": {
                "id": format!("PL{n:04}"),
                "url": format!("https://square.link/u/PL{n:04}"),
                "order_id": format!("ORDER{n:04}"),
            }
        }))
        .into_response(),
        ("GET", path) if path.starts_with("/v1/payments/") => {
            let id = path.trim_start_matches("/v1/payments/");
            match s.mercadopago.lock().ok().and_then(|m| m.get(id).cloned()) {
                Some(payment) => axum::Json(payment).into_response(),
                None => (StatusCode::NOT_FOUND, "no such payment").into_response(),
            }
        }
        _ => (StatusCode::NOT_FOUND, "unknown API").into_response(),
    }
}

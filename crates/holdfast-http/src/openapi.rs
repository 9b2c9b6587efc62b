//! The OpenAPI 3.1 document, generated from the route table and the wire types' JSON Schemas
//! (2020-12, the dialect OpenAPI 3.1 uses). A route cannot exist without appearing here.

use crate::guard::Guard;
use crate::problem::ProblemOut;
use crate::table::RouteSpec;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

fn operation(spec: &RouteSpec, generator: &mut SchemaGenerator) -> Value {
    let d = &spec.doc;
    let mut op = Map::new();
    let op_id = format!(
        "{}_{}",
        spec.method.as_str().to_lowercase(),
        spec.path
            .trim_matches('/')
            .replace(['/', '.', '-'], "_")
            .replace(['{', '}'], "")
    );
    op.insert("operationId".into(), json!(op_id));
    op.insert("summary".into(), json!(d.summary));
    op.insert("tags".into(), json!([d.tag]));
    let mut params: Vec<Value> = spec
        .path_params()
        .into_iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    for q in d.query {
        let ty = if q.integer { "integer" } else { "string" };
        params.push(json!({"name": q.name, "in": "query", "required": false, "description": q.description, "schema": {"type": ty}}));
    }
    if d.idempotent {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Retrying with the same key and body returns the first response; kept 24 h.",
            "schema": {"type": "string", "maxLength": 255}}));
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(request) = d.request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": request(generator)}}}),
        );
    }
    if let Some(part) = d.upload {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": [part],
                "properties": {part: {"type": "string", "format": "binary"}}}}}}),
        );
    }
    let success = match (d.response, d.status) {
        (_, 204) => json!({"description": "No content"}),
        (_, 303) => {
            json!({"description": "See Other", "headers": {"Location": {"required": true, "schema": {"type": "string"}}}})
        }
        (Some(response), status) => {
            json!({"description": status_text(status), "content": {d.response_type: {"schema": response(generator)}}})
        }
        (None, status) => {
            json!({"description": status_text(status), "content": {d.response_type: {}}})
        }
    };
    let problem = json!({"description": "Error (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}});
    let mut responses = json!({d.status.to_string(): success, "4XX": problem, "5XX": problem});
    if let (Some(also), Some(map)) = (d.also, responses.as_object_mut()) {
        let mut same = success.clone();
        same["description"] = json!(status_text(also));
        map.insert(also.to_string(), same);
    }
    op.insert("responses".into(), responses);
    if let Some(module) = spec.module {
        op.insert("x-holdfast-module".into(), json!(module.as_str()));
    }
    match spec.guard {
        Guard::Staff { permission } => {
            op.insert("security".into(), json!([{"apiKey": []}]));
            op.insert("x-holdfast-permission".into(), json!(permission.as_str()));
        }
        Guard::StaffStepUp { permission } => {
            op.insert("security".into(), json!([{"apiKey": []}]));
            op.insert("x-holdfast-permission".into(), json!(permission.as_str()));
            op.insert("x-holdfast-step-up".into(), json!(true));
        }
        Guard::User => {
            op.insert("security".into(), json!([{"accessToken": []}]));
        }
        Guard::Public { .. } => {
            op.insert("security".into(), json!([]));
        }
        Guard::Signed => {
            op.insert("security".into(), json!([]));
            op.insert(
                "x-holdfast-signature".into(),
                json!("provider webhook signature"),
            );
        }
        Guard::Billing => {
            op.insert("security".into(), json!([]));
            op.insert(
                "x-holdfast-signature".into(),
                json!("Stripe signature under the operator's billing endpoint secret"),
            );
        }
        Guard::Cron => {
            op.insert("security".into(), json!([{"cronSecret": []}]));
        }
        Guard::Portal => {
            op.insert("security".into(), json!([{"portalSession": []}]));
        }
        Guard::Widget { .. } => {
            op.insert("security".into(), json!([]));
            op.insert(
                "x-holdfast-widget".into(),
                json!("the browser's Origin must be one of the widget's allowed origins"),
            );
        }
    }
    Value::Object(op)
}

fn status_text(status: u16) -> &'static str {
    match status {
        201 => "Created",
        202 => "Accepted",
        _ => "OK",
    }
}

/// The document for the routes of a table.
pub fn document<'a>(specs: impl Iterator<Item = &'a RouteSpec>) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    generator.subschema_for::<ProblemOut>();
    let mut paths = Map::new();
    for spec in specs.filter(|spec| !spec.doc.page) {
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(
                spec.method.as_str().to_lowercase(),
                operation(spec, &mut generator),
            );
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Holdfast API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Customer operations for small service businesses. Errors are RFC 9457 problem+json; lists use ?limit=&cursor=."
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (hf_live_…) or a user's access token"},
                "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A signed-in user's access token from /api/v1/auth/login"},
                "cronSecret": {"type": "apiKey", "in": "header", "name": "X-Holdfast-Cron-Secret", "description": "The configured cron_secret (HOLDFAST_CRON_SECRET)"},
                "portalSession": {"type": "apiKey", "in": "cookie", "name": "__Host-hf_portal", "description": "A customer's client portal session, started by a sign-in link; never a staff credential"}
            }
        }
    })
}

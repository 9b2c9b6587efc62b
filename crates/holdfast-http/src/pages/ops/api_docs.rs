//! `/api/docs`: the OpenAPI document (`/api/v1/openapi.json`) rendered for developers under the
//! console's policy — an overview with the contents, and a page per tag (`/api/docs/{tag}`)
//! with each operation's method, path, summary, who may call it, parameters, request and
//! response schemas, then the schemas those operations use. A page per tag keeps each one light
//! (the whole document on one page would weigh several times the console's 100 KB budget). No
//! script: the popular viewers either break under `style-src 'self'` (Redoc, Scalar, RapiDoc
//! inject inline styles) or would ship megabytes of script (Swagger UI), so the document is
//! read here with the template engine, every value escaped.

use crate::console;
use crate::guard::{Guard, RateLimit};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::table::{Doc, RouteTable};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use holdfast_core::error::{ApiError, ErrorCode};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub fn routes(t: &mut RouteTable) {
    let public = Guard::Public {
        rate_limit: RateLimit::Standard,
    };
    t.add(
        Method::GET,
        "/api/docs",
        public,
        Doc::page(
            "Console",
            "The API's documentation, for developers: the overview and contents",
        ),
        get(api_docs),
    );
    t.add(
        Method::GET,
        "/api/docs/{tag}",
        public,
        Doc::page(
            "Console",
            "The API's documentation: one tag's operations and the schemas they use",
        ),
        get(api_docs_tag),
    );
}

struct Param {
    name: String,
    location: String,
    required: bool,
    kind: String,
    description: String,
}

/// A body: its media type and schema (the schema's name when it has one, to link to).
struct Body {
    media: String,
    kind: String,
    schema: Option<String>,
}

struct Answer {
    status: String,
    description: String,
    body: Option<Body>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    access: String,
    parameters: Vec<Param>,
    request: Option<Body>,
    responses: Vec<Answer>,
}

struct Tag {
    name: String,
    operations: Vec<Operation>,
}

struct Property {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

struct Schema {
    name: String,
    kind: String,
    description: String,
    properties: Vec<Property>,
}

/// The document read whole: its operations by tag, and its schemas.
struct Document {
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

/// `/api/docs`: the overview, each tag with its operations' summaries, and the problem schema
/// every error uses.
#[derive(Template)]
#[template(path = "api_docs.html", whitespace = "minimize")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

/// `/api/docs/{tag}`: one tag's operations in full, and the schemas they use.
#[derive(Template)]
#[template(path = "api_docs_tag.html", whitespace = "minimize")]
struct TagPage {
    title: String,
    tag: Tag,
    schemas: Vec<Schema>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The name a `$ref` points to (`#/components/schemas/ContactOut` → `ContactOut`).
fn ref_name(schema: &Value) -> Option<String> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_owned)
}

/// A schema as a developer reads its type: `string (date-time)`, `array of ContactOut`,
/// `integer or null`, `one of "open", "closed"`.
fn kind(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", shown.join(", "));
    }
    if let Some(value) = schema.get("const") {
        return value.to_string();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let joiner = if key == "allOf" { " and " } else { " or " };
            return parts.iter().map(kind).collect::<Vec<_>>().join(joiner);
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let shown: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => match schema.get("items") {
                Some(items) => format!("array of {}", kind(items)),
                None => "array".to_owned(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(values) if values.is_object() => format!("map of {}", kind(values)),
                _ => "object".to_owned(),
            },
            "string" => match schema.get("format").and_then(Value::as_str) {
                Some(format) => format!("string ({format})"),
                None => "string".to_owned(),
            },
            other => other.to_owned(),
        })
        .collect();
    if shown.is_empty() {
        "any".to_owned()
    } else {
        shown.join(" or ")
    }
}

/// The first body of a `content` map.
fn body(content: Option<&Value>) -> Option<Body> {
    let (media, entry) = content?.as_object()?.iter().next()?;
    let schema = entry.get("schema");
    Some(Body {
        media: media.clone(),
        kind: schema.map(kind).unwrap_or_default(),
        schema: schema.and_then(ref_name),
    })
}

/// Who may call an operation, from its security and Holdfast's extensions.
fn access(op: &Value) -> String {
    let scheme = op
        .get("security")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .and_then(Value::as_object)
        .and_then(|s| s.keys().next().cloned());
    let mut parts = vec![match scheme.as_deref() {
        Some("apiKey") => "An API key or a user's access token".to_owned(),
        Some("accessToken") => "A signed-in user's access token".to_owned(),
        Some("cronSecret") => "The cron secret (X-Holdfast-Cron-Secret)".to_owned(),
        _ => "Public".to_owned(),
    }];
    if let Some(permission) = op.get("x-holdfast-permission").and_then(Value::as_str) {
        parts.push(format!("permission {permission}"));
    }
    if op.get("x-holdfast-step-up").and_then(Value::as_bool) == Some(true) {
        parts.push("a recent step-up for signed-in users".to_owned());
    }
    if let Some(module) = op.get("x-holdfast-module").and_then(Value::as_str) {
        parts.push(format!("the {module} module on"));
    }
    for key in ["x-holdfast-signature", "x-holdfast-widget"] {
        if let Some(note) = op.get(key).and_then(Value::as_str) {
            parts.push(note.to_owned());
        }
    }
    parts.join("; ")
}

fn operation(path: &str, method: &str, op: &Value) -> Operation {
    let parameters = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| Param {
                    name: text(p, "name"),
                    location: text(p, "in"),
                    required: p.get("required").and_then(Value::as_bool) == Some(true),
                    kind: p.get("schema").map(kind).unwrap_or_default(),
                    description: text(p, "description"),
                })
                .collect()
        })
        .unwrap_or_default();
    // Statuses with the same answer (4XX and 5XX: a problem) are shown once, together.
    let mut responses: Vec<(Value, Answer)> = Vec::new();
    for (status, r) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match responses.iter_mut().find(|(same, _)| same == r) {
            Some((_, answer)) => answer.status = format!("{}, {status}", answer.status),
            None => responses.push((
                r.clone(),
                Answer {
                    status: status.clone(),
                    description: text(r, "description"),
                    body: body(r.get("content")).filter(|b| !b.kind.is_empty()),
                },
            )),
        }
    }
    let responses = responses.into_iter().map(|(_, answer)| answer).collect();
    Operation {
        anchor: text(op, "operationId"),
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(op, "summary"),
        access: access(op),
        parameters,
        request: body(op.get("requestBody").and_then(|b| b.get("content"))),
        responses,
    }
}

fn schema(name: &str, s: &Value) -> Schema {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = s
        .get("properties")
        .and_then(Value::as_object)
        .map(|ps| {
            ps.iter()
                .map(|(field, p)| Property {
                    name: field.clone(),
                    kind: kind(p),
                    required: required.contains(&field.as_str()),
                    description: text(p, "description"),
                })
                .collect()
        })
        .unwrap_or_default();
    Schema {
        name: name.to_owned(),
        kind: kind(s),
        description: text(s, "description"),
        properties,
    }
}

/// Every schema name `value` refers to (`$ref`), at any depth.
fn refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = ref_name(value) {
                found.insert(name);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

/// The schemas the operations of `tag` use, and the schemas those use in turn.
fn schemas_of(doc: &Value, tag: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let empty = Map::new();
    for methods in doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty)
        .values()
    {
        for op in methods.as_object().unwrap_or(&empty).values() {
            if tag_of(op) == tag {
                refs(op, &mut found);
            }
        }
    }
    let components = doc.pointer("/components/schemas");
    let mut todo: Vec<String> = found.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let mut more = BTreeSet::new();
        if let Some(schema) = components.and_then(|c| c.get(&name)) {
            refs(schema, &mut more);
        }
        for next in more {
            if found.insert(next.clone()) {
                todo.push(next);
            }
        }
    }
    found
}

fn tag_of(op: &Value) -> &str {
    op.get("tags")
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
        .unwrap_or("other")
}

/// The document's content, read whole.
fn read(doc: &Value) -> Document {
    let info = doc.get("info").cloned().unwrap_or_default();
    let mut tags: Vec<Tag> = Vec::new();
    let empty = Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, methods) in paths {
        for (method, op) in methods.as_object().unwrap_or(&empty) {
            let tag = tag_of(op);
            let operation = operation(path, method, op);
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(found) => found.operations.push(operation),
                None => tags.push(Tag {
                    name: tag.to_owned(),
                    operations: vec![operation],
                }),
            }
        }
    }
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|s| s.iter().map(|(name, s)| schema(name, s)).collect())
        .unwrap_or_default();
    Document {
        title: text(&info, "title"),
        version: text(&info, "version"),
        description: text(&info, "description"),
        tags,
        schemas,
    }
}

/// The served OpenAPI document, parsed.
fn document(state: &AppState) -> ApiResult<Value> {
    Ok(serde_json::from_str(state.openapi.as_str()).map_err(|e| {
        tracing::error!(error = %e, "the OpenAPI document does not parse");
        ApiError::new(ErrorCode::Internal, "the API's document could not be read")
    })?)
}

async fn api_docs(State(state): State<AppState>) -> ApiResult<Response> {
    let doc = read(&document(&state)?);
    let page = DocsPage {
        title: doc.title,
        version: doc.version,
        description: doc.description,
        tags: doc.tags,
        schemas: doc
            .schemas
            .into_iter()
            .filter(|s| s.name == "ProblemOut")
            .collect(),
    };
    Ok(console::render(StatusCode::OK, &page))
}

async fn api_docs_tag(
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> ApiResult<Response> {
    let raw = document(&state)?;
    let used = schemas_of(&raw, &tag);
    let doc = read(&raw);
    let Some(found) = doc.tags.into_iter().find(|t| t.name == tag) else {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "the API has no such tag; /api/docs lists them",
        ));
    };
    let page = TagPage {
        title: doc.title,
        tag: found,
        schemas: doc
            .schemas
            .into_iter()
            .filter(|s| used.contains(&s.name))
            .collect(),
    };
    Ok(console::render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::kind;
    use serde_json::json;

    #[test]
    fn types_read_as_developers_write_them() {
        assert_eq!(
            kind(&json!({"$ref": "#/components/schemas/ContactOut"})),
            "ContactOut"
        );
        assert_eq!(
            kind(&json!({"type": ["integer", "null"]})),
            "integer or null"
        );
        assert_eq!(
            kind(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Tag"}})),
            "array of Tag"
        );
        assert_eq!(
            kind(&json!({"type": "string", "format": "date-time"})),
            "string (date-time)"
        );
        assert_eq!(
            kind(&json!({"enum": ["open", "closed"]})),
            "one of \"open\", \"closed\""
        );
        assert_eq!(
            kind(&json!({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]})),
            "A or null"
        );
        assert_eq!(
            kind(&json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "map of string"
        );
        assert_eq!(kind(&json!({})), "any");
    }
}

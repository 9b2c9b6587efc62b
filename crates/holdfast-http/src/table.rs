//! The route table's parts: every route is data — method, path, declared guard, module and
//! OpenAPI description — registered through one builder, [`RouteTable::add`]. Nothing reaches
//! the router without a guard; the guard sweep test walks the table. Which slices fill it is
//! `routes.rs`'s business alone.

use crate::guard::{Guard, guarded};
use crate::state::AppState;
use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use holdfast_core::access::modules::{Module, ModuleSet};
use schemars::{JsonSchema, Schema, SchemaGenerator};

pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A query parameter as documented.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub description: &'static str,
    pub integer: bool,
}

/// The OpenAPI description of a route, declared next to it.
#[derive(Debug, Clone)]
pub struct Doc {
    pub summary: &'static str,
    pub tag: &'static str,
    pub request: Option<SchemaFn>,
    /// A `multipart/form-data` body carrying one file in the part of this name (instead of a
    /// JSON `request`).
    pub upload: Option<&'static str>,
    pub response: Option<SchemaFn>,
    pub response_type: &'static str,
    pub status: u16,
    pub query: &'static [QueryParam],
    pub idempotent: bool,
    /// A console page or a page's action: HTML, left out of the OpenAPI document, and a refusal
    /// is answered as a page (without a session: a redirect to sign-in).
    pub page: bool,
    /// A second success status with the same body (an idempotent create answers 200 with the
    /// record that already existed, 201 when it made one).
    pub also: Option<u16>,
}

impl Doc {
    pub fn new(tag: &'static str, summary: &'static str) -> Self {
        Doc {
            summary,
            tag,
            request: None,
            upload: None,
            response: None,
            response_type: "application/json",
            status: 200,
            query: &[],
            idempotent: false,
            page: false,
            also: None,
        }
    }
    /// Documents a second success status answered with the same body.
    pub fn also(mut self, status: u16) -> Self {
        self.also = Some(status);
        self
    }

    /// A console page or action (see [`Doc::page`]).
    pub fn page(tag: &'static str, summary: &'static str) -> Self {
        Doc {
            page: true,
            response_type: "text/html",
            ..Doc::new(tag, summary)
        }
    }
    pub fn request<T: JsonSchema>(mut self) -> Self {
        self.request = Some(schema_of::<T>);
        self
    }
    /// The body is `multipart/form-data` with one file in the part `part`.
    pub fn upload(mut self, part: &'static str) -> Self {
        self.upload = Some(part);
        self
    }
    pub fn response<T: JsonSchema>(mut self, status: u16) -> Self {
        self.response = Some(schema_of::<T>);
        self.status = status;
        self
    }
    pub fn text(mut self, content_type: &'static str) -> Self {
        self.response_type = content_type;
        self
    }
    pub fn no_content(mut self) -> Self {
        self.status = 204;
        self
    }
    /// Answers `303 See Other` with a `Location` (browser sign-in steps).
    pub fn redirect(mut self) -> Self {
        self.status = 303;
        self
    }
    pub fn query(mut self, params: &'static [QueryParam]) -> Self {
        self.query = params;
        self
    }
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub guard: Guard,
    pub doc: Doc,
    /// The module the route belongs to; `None` for the core (always on).
    pub module: Option<Module>,
}

impl RouteSpec {
    /// The path segment before a parameter: `contacts` for `{id}` in `/api/v1/contacts/{id}`.
    pub fn resource_of(&self, param: &str) -> &'static str {
        self.path
            .split('/')
            .rev()
            .skip_while(|seg| {
                seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) != Some(param)
            })
            .nth(1)
            .unwrap_or("")
    }

    /// Path parameter names, e.g. `["id"]` for `/api/v1/contacts/{id}`.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

pub struct RouteTable {
    routes: Vec<(RouteSpec, MethodRouter<AppState>)>,
    /// Set while a module registers its routes.
    module: Option<Module>,
}

impl RouteTable {
    pub(crate) fn new() -> Self {
        RouteTable {
            routes: Vec::new(),
            module: None,
        }
    }

    /// The modules that have routes: the only ones a workspace is offered (listed by
    /// `GET /api/v1/modules`, and possible to turn on).
    pub fn offered_modules(&self) -> ModuleSet {
        ModuleSet::of(
            &self
                .specs()
                .filter_map(|spec| spec.module)
                .collect::<Vec<_>>(),
        )
    }

    /// Registers one method on one path. The handler is a single-method router (`get(h)`,
    /// `post(h)` …) whose method must match `method`.
    pub fn add(
        &mut self,
        method: Method,
        path: &'static str,
        guard: Guard,
        doc: Doc,
        handler: MethodRouter<AppState>,
    ) {
        self.routes.push((
            RouteSpec {
                method,
                path,
                guard,
                doc,
                module: self.module,
            },
            handler,
        ));
    }

    /// Registers a module's routes: when the workspace has the module off, they answer 404.
    pub fn module(&mut self, module: Module, register: impl FnOnce(&mut RouteTable)) {
        let outer = self.module.replace(module);
        register(self);
        self.module = outer;
    }

    pub fn specs(&self) -> impl Iterator<Item = &RouteSpec> {
        self.routes.iter().map(|(spec, _)| spec)
    }

    pub fn into_router(self, state: AppState) -> Router {
        let mut router: Router<AppState> = Router::new();
        for (spec, handler) in self.routes {
            let handler = guarded(
                handler,
                state.clone(),
                (&spec.method, spec.path),
                spec.guard,
                spec.module,
                spec.doc.page,
            );
            // Outside the guard, so that its refusals become pages too.
            let handler = if spec.doc.page {
                handler.route_layer(axum::middleware::from_fn(crate::console::as_page))
            } else {
                handler
            };
            router = router.route(spec.path, handler);
        }
        router.with_state(state)
    }
}

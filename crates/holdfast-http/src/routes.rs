//! The route table: every route is data — method, path, declared guard and its OpenAPI
//! description — registered through one builder. Nothing reaches the router without a guard;
//! the guard sweep test walks this table.

use crate::guard::guarded;
use crate::state::AppState;
use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use holdfast_core::access::modules::{Module, ModuleSet};
use holdfast_core::access::policy::Permission;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// How many requests a public route accepts per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// `public_rate_limit_per_minute` from the configuration.
    Standard,
    /// Sign-in endpoints: `auth_rate_limit_per_minute` per client address, with a burst of 10
    /// (or two seconds' worth, if larger).
    Auth,
    /// Ten times the standard limit: liveness, readiness and metrics are polled by
    /// orchestrators and scrapers from a few addresses.
    Probe,
    PerMinute(u32),
}

/// Who may call a route. Later: portal session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Public {
        rate_limit: RateLimit,
    },
    /// A workspace's staff: an API key or a signed-in user's access token, whose role grants
    /// `permission`.
    Staff {
        permission: Permission,
    },
    /// As `Staff`, for sensitive actions: a signed-in user must also have re-entered their
    /// password (and second factor) in the last 10 minutes (`POST /api/v1/auth/step-up`).
    /// API keys have no password and pass on their permission alone.
    StaffStepUp {
        permission: Permission,
    },
    /// A signed-in user acting on their own account (sessions); API keys are refused with 403.
    User,
    /// An inbound provider webhook, `/hooks/{provider}/{workspace_slug}`: rate-limited per
    /// client address, then the body's signature must verify under the workspace's secret for
    /// that provider (else 401, counted and logged without the request). The handler receives
    /// a [`crate::guard::VerifiedHook`].
    Signed,
    /// A scheduler: the `X-Holdfast-Cron-Secret` header must equal the configured
    /// `cron_secret` (constant-time); 404 while none is configured.
    Cron,
    /// The website widget's public routes, `/api/v1/widget/{key}/…` (`widget_guard.rs`): a
    /// per-address budget, the key's workspace (unknown, disabled or help desk off: 404), the
    /// browser's `Origin` among the workspace's allowed origins (else 403), and for a
    /// submission (`submit`) budgets per address and per key. The handler receives a
    /// [`crate::widget_guard::WidgetCaller`]; answers carry CORS headers for that origin only.
    Widget {
        submit: bool,
    },
}

impl Guard {
    pub fn is_public(&self) -> bool {
        matches!(self, Guard::Public { .. })
    }
}

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
    pub response: Option<SchemaFn>,
    pub response_type: &'static str,
    pub status: u16,
    pub query: &'static [QueryParam],
    pub idempotent: bool,
}

impl Doc {
    pub fn new(tag: &'static str, summary: &'static str) -> Self {
        Doc {
            summary,
            tag,
            request: None,
            response: None,
            response_type: "application/json",
            status: 200,
            query: &[],
            idempotent: false,
        }
    }
    pub fn request<T: JsonSchema>(mut self) -> Self {
        self.request = Some(schema_of::<T>);
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
            router = router.route(
                spec.path,
                guarded(handler, state.clone(), spec.guard, spec.path, spec.module),
            );
        }
        router.with_state(state)
    }
}

/// The modules that have routes: the only ones a workspace is offered (listed by
/// `GET /api/v1/modules`, and possible to turn on). Read from the route table once.
pub fn offered_modules() -> ModuleSet {
    static OFFERED: std::sync::OnceLock<ModuleSet> = std::sync::OnceLock::new();
    *OFFERED.get_or_init(|| {
        ModuleSet::of(
            &route_table()
                .specs()
                .filter_map(|spec| spec.module)
                .collect::<Vec<_>>(),
        )
    })
}

/// Every route Holdfast serves.
pub fn route_table() -> RouteTable {
    let mut table = RouteTable {
        routes: Vec::new(),
        module: None,
    };
    crate::ops::routes(&mut table);
    table.module(Module::Crm, |t| {
        // Fixed paths under /api/v1/contacts before the `{id}` routes (the router prefers
        // them anyway; this keeps the table readable).
        crate::api::contact_imports::routes(t);
        crate::api::contact_export::routes(t);
        crate::api::contacts::routes(t);
        crate::api::companies::routes(t);
        crate::api::contact_fields::routes(t);
        // Consent per contact and the workspace's consent mode. (The contact's own
        // preference pages stay outside: public, they know no workspace until the token is
        // read, and an unsubscribe link must keep working whatever the modules.)
        crate::api::consent::routes(t);
    });
    crate::api::privacy::routes(&mut table);
    crate::api::api_keys::routes(&mut table);
    crate::api::auth::routes(&mut table);
    crate::api::oidc::routes(&mut table);
    crate::api::account::routes(&mut table);
    crate::api::audit::routes(&mut table);
    crate::api::roles::routes(&mut table);
    crate::api::members::routes(&mut table);
    crate::api::two_factor::routes(&mut table);
    crate::api::workspace::routes(&mut table);
    crate::api::settings::routes(&mut table);
    crate::api::webhooks::routes(&mut table);
    crate::api::tickets::routes(&mut table);
    crate::api::saved_replies::routes(&mut table);
    crate::api::events::routes(&mut table);
    crate::api::hooks::routes(&mut table);
    crate::api::widget::routes(&mut table);
    crate::api::preferences::routes(&mut table);
    table
}

//! Holdfast's HTTP layer: the route table (every route with its declared guard), the guards,
//! the API slices, operations endpoints and the HTTP edge (problem+json, request ids,
//! security headers, limits, metrics, access log).
//!
//! Handlers parse, call the store with the `Tenant` the guard produced, and map errors. No SQL
//! here, and no authorisation decisions outside `guard` and `holdfast_core::access::policy`.

pub mod acme;
pub mod api;
pub(crate) mod audit;
pub mod console;
pub mod cookies;
mod download;
mod edge;
mod extract;
pub mod guard;
pub mod openapi;
pub mod pages;
mod paging;
mod portal_cors;
pub mod problem;
mod ratelimit;
pub mod routes;
mod session;
pub mod signed;
mod state;
pub mod table;
pub mod tls;
mod upload;
pub mod widget_guard;

pub use edge::with_edge;
pub use guard::{Guard, RateLimit};
pub use routes::route_table;
pub use state::AppState;

/// The complete application router.
pub fn app(state: AppState) -> axum::Router {
    with_edge(router(state.clone()), state)
}

/// The route table's router (no edge layers), with what is read off the table: the OpenAPI
/// document and the modules on offer.
pub fn router(state: AppState) -> axum::Router {
    let table = route_table();
    let openapi = serde_json::to_string(&openapi::document(table.specs())).unwrap_or_default();
    let offered = table.offered_modules();
    table.into_router(state.serving(openapi, offered))
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state.clone()), state, shutdown).await
}

/// Serves `router` (the route table's, perhaps with extra routes) behind the edge layers until
/// `shutdown`, then drains in-flight requests; live event streams end at once.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.closing.clone();
    axum::serve(listener, edge::make_service(router, state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live event streams end now rather than hold the drain open.
            closing.send_replace(true);
        })
        .await
}

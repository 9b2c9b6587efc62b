//! Holdfast's HTTP layer: the route table (every route with its declared guard), the guards,
//! the API slices, operations endpoints and the HTTP edge (problem+json, request ids,
//! security headers, limits, metrics, access log).
//!
//! Handlers parse, call the store with the `Tenant` the guard produced, and map errors. No SQL
//! here, and no authorisation decisions outside `guard` and `holdfast_core::access::policy`.

pub mod api;
pub(crate) mod audit;
pub mod cookies;
mod edge;
mod extract;
pub mod guard;
mod metrics;
pub mod oidc;
pub mod openapi;
mod ops;
pub mod outbound;
pub mod outreach;
pub mod passwords;
pub mod privacy;
pub mod problem;
mod ratelimit;
pub mod routes;
pub mod signed;
mod state;
pub mod ticket_mail;
pub mod webhooks;
pub mod widget_guard;
pub mod worker;

pub use edge::with_edge;
pub use routes::{Guard, RateLimit, route_table};
pub use state::AppState;

use std::net::SocketAddr;

/// The complete application router.
pub fn app(state: AppState) -> axum::Router {
    let router = route_table().into_router(state.clone());
    with_edge(router, state)
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(
        listener,
        route_table().into_router(state.clone()),
        state,
        shutdown,
    )
    .await
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
    axum::serve(
        listener,
        with_edge(router, state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Live event streams end now rather than hold the drain open.
        closing.send_replace(true);
    })
    .await
}

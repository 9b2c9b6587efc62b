//! The client portal's realm (0058, 0059): a workspace's customers sign in with a link sent by
//! mail and act only on their own records. `auth` turns a portal session cookie or a portal
//! access token into a [`auth::PortalActor`] (the one place that makes a portal
//! [`crate::Tenant`] and its [`auth::PortalScope`]), signs a customer in with a link and
//! rotates API sessions' refresh tokens; `origins` keeps the sites that may call the portal
//! API from a browser; `links` keeps the sign-in links;
//! `access` keeps who may sign in; `brand` how the portal looks (0063); `passwords` keeps the optional portal passwords (0060) and
//! their reset links; `sessions` lists and ends a contact's sessions; `overview`
//! reads what the customer sees first, `tickets` their requests and conversations, `jobs` and
//! `invoices` their visits and invoices, each through the scope. Rules:
//! `holdfast_core::portal`.

pub mod access;
pub mod auth;
pub mod brand;
pub mod invoices;
pub mod jobs;
pub mod links;
pub mod origins;
pub mod overview;
pub mod passwords;
pub mod sessions;
pub mod tickets;

//! Black-box tests: each starts the real server on free ports with a fresh database and talks
//! HTTP to it. The database is a SQLite file, or with `TEST_DATABASE=postgres` a database of
//! its own on the PostgreSQL server at `TEST_POSTGRES_URL`: scripts/test.sh runs the whole suite
//! both ways. Tests read and arrange stored state only through the storage seam.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod abuse;
mod admin;
mod api_tokens;
mod attacks;
mod authorize;
mod bff;
mod claims;
mod clock_lab;
mod consent;
mod cors;
mod device;
mod discovery;
mod dpop;
mod health;
mod issuers;
mod keys;
mod logout;
mod metrics;
mod openapi;
mod par;
mod policies;
mod private_key_jwt;
mod protected_resource;
mod refresh;
mod refusals;
mod registration;
mod request_id;
mod resilience;
mod resource;
mod resource_indicators;
mod server_logins;
mod server_scopes;
mod servers;
mod token;
mod token_exchange;

//! Black-box tests: each starts the real server on free ports with a fresh SQLite database and
//! talks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod abuse;
mod admin;
mod api_tokens;
mod attacks;
mod authorize;
mod bff;
mod consent;
mod cors;
mod discovery;
mod keys;
mod refresh;
mod resource;
mod token;

//! One file per route.

pub mod admin;
pub mod callback;
pub mod debugger;
pub mod home;
pub mod labs;
pub mod not_found;
pub mod orders;
pub mod products;
pub mod profile;
pub mod refusals;
pub mod timeline;
pub mod token;

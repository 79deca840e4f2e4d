//! `/labs`: break things safely and watch the server and the app react.
//!
//! The refresh family: each of the user's logins (`GET /api/me/grants`) drawn as its chain of
//! refresh tokens (issued, spent, expired, revoked, and why), the one this tab holds marked (it
//! hashes its own token as the server does). In REST mode, "Refresh now" rotates the token, and
//! "Replay the spent token" presents the spent one again: the server takes the second use for
//! theft (RFC 9700 §4.14.2) and revokes the whole family, this tab's token and its access tokens
//! included, which the chain shows after logging in again.
//!
//! The clock lab (demo mode): move the server's clock ahead (`POST /api/lab/clock`) and call the
//! API: the token the app holds has expired by the server's time, and the app renews it (or,
//! past the refresh token's lifetime too, asks to log in again). The page lists the exchanges
//! that call caused.
//!
//! The key-rotation lab (demo mode): rotate the root issuer's signing keys and see that a JWKS
//! cached before the rotation still verifies the next token.
//!
//! The API-token lab (demo mode): the user's own API tokens through their life cycle.

mod api_tokens;
mod clock;
mod family;
mod keys;

use leptos::prelude::*;

use self::api_tokens::ApiTokenLab;
use self::clock::ClockLab;
use self::family::RefreshFamily;
use self::keys::KeyLab;
use crate::api::ApiError;
use crate::components::{ErrorPanel, RequireLogin};

#[component]
pub fn Labs() -> impl IntoView {
    // Bumped whenever a lab may have changed the user's refresh families.
    let reload = RwSignal::new(0u32);
    view! {
        <section class="page labs">
            <header class="page-head">
                <h1>"Labs"</h1>
                <p class="muted">
                    "Break things on purpose and watch the server and this app react. Everything "
                    "here acts on your own login only; the Timeline shows each exchange."
                </p>
            </header>
            <RequireLogin what="the labs (they show your own logins)">
                <section class="lab" data-testid="lab-clock">
                    <ClockLab families=reload />
                </section>
                <section class="lab" data-testid="lab-keys">
                    <KeyLab />
                </section>
                <section class="lab" data-testid="lab-family">
                    <RefreshFamily reload />
                </section>
                <section class="lab" data-testid="lab-api-tokens">
                    <ApiTokenLab />
                </section>
            </RequireLogin>
        </section>
    }
}

/// A lab that could not load: outside demo mode (404) it says so, anything else is an error
/// with `title`.
fn unavailable(error: ApiError, lab: &'static str, title: &'static str) -> AnyView {
    match error {
        ApiError::Rejected { status: 404, .. } => view! {
            <p class="muted">{lab}" runs only on a demo server (--demo)."</p>
        }
        .into_any(),
        e => view! { <ErrorPanel title=title.to_owned() detail=e.to_string() /> }.into_any(),
    }
}

//! `/token`: the access token this browser holds, decoded, and when it will be refreshed.
//!
//! Only a display: the signature is not checked here (the API checks it on every request).

use std::time::Duration;

use leptos::prelude::*;

use crate::components::RequireLogin;
use crate::format;
use crate::jwt::{self, DecodedToken};
use crate::refresh::use_refresher;
use crate::session::use_session;

#[component]
pub fn Token() -> impl IntoView {
    let session = use_session();
    let decoded = move || session.token().map(|token| jwt::decode(&token));
    view! {
        <section class="page token">
            <header class="page-head">
                <h1>"Your access token"</h1>
                <p class="muted">
                    "This JWT is exactly what the browser sends to the API in every request, as "
                    <code>"Authorization: Bearer …"</code>
                    ". It is kept in a cookie; the API never reads the cookie, only the header. "
                    "Before it expires, the app trades its refresh token for a new one."
                </p>
            </header>
            <RequireLogin what="your access token">
                {move || match decoded() {
                    Some(Ok(token)) => view! { <TokenDetails token /> }.into_any(),
                    Some(Err(e)) => view! { <p class="flash error" role="alert">{e.to_string()}</p> }.into_any(),
                    None => ().into_any(),
                }}
            </RequireLogin>
        </section>
    }
}

#[component]
fn TokenDetails(token: DecodedToken) -> impl IntoView {
    let now = RwSignal::new(js_sys::Date::now());
    if let Ok(ticker) =
        set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_secs(1))
    {
        on_cleanup(move || ticker.clear());
    }

    let [header, payload, signature] = token.segments.clone();
    let header_json = jwt::pretty(&token.header);
    let payload_json = jwt::pretty(&token.payload);

    let summary = token.claims.map(|claims| {
        let exp_ms = claims.exp as f64 * 1000.0;
        let left = move || ((exp_ms - now.get()) / 1000.0).ceil() as i64;
        let countdown = move || {
            if left() > 0 {
                view! { <span class="ok">"expires in " {format::countdown(left())}</span> }
                    .into_any()
            } else {
                view! { <span class="expired">"expired — the API will answer 401"</span> }
                    .into_any()
            }
        };
        let scopes = claims
            .scope
            .iter()
            .map(|scope| view! { <li class="chip">{scope.to_owned()}</li> })
            .collect::<Vec<_>>();
        view! {
            <div class="card">
                <dl class="facts">
                    <dt>"Subject (sub)"</dt>
                    <dd>{claims.sub}</dd>
                    <dt>"Issuer (iss)"</dt>
                    <dd>
                        <code>{claims.iss}</code>
                    </dd>
                    <dt>"Audience (aud)"</dt>
                    <dd>
                        <code>{claims.aud}</code>
                    </dd>
                    <dt>"Client (client_id)"</dt>
                    <dd>
                        <code>{claims.client_id}</code>
                    </dd>
                    <dt>"Issued (iat)"</dt>
                    <dd>{format::local_time_ms(claims.iat as f64 * 1000.0)}</dd>
                    <dt>"Expires (exp)"</dt>
                    <dd>
                        {format::local_time_ms(exp_ms)} " · " {countdown}
                    </dd>
                    <dt>"Scopes"</dt>
                    <dd>
                        <ul class="chips">{scopes}</ul>
                    </dd>
                </dl>
            </div>
        }
    });

    view! {
        {summary}
        <RefreshStatus now />
        <div class="card">
            <h2>"As sent"</h2>
            <pre class="raw-token">
                <span class="seg-header">{header}</span>
                "."
                <span class="seg-payload">{payload}</span>
                "."
                <span class="seg-signature">{signature}</span>
            </pre>
            <p class="muted small">
                <span class="legend seg-header">"header"</span>
                " . "
                <span class="legend seg-payload">"payload"</span>
                " . "
                <span class="legend seg-signature">"signature"</span>
                " — each part is base64url; the signature is checked by the API, not here."
            </p>
        </div>
        <div class="two-columns">
            <div class="card">
                <h2>"Header"</h2>
                <pre class="json">{header_json}</pre>
            </div>
            <div class="card">
                <h2>"Claims"</h2>
                <pre class="json">{payload_json}</pre>
            </div>
        </div>
    }
}

/// The refresh token this tab holds (never shown whole) and when the next refresh runs.
#[component]
fn RefreshStatus(now: RwSignal<f64>) -> impl IntoView {
    let session = use_session();
    let refresher = use_refresher();
    let status = move || {
        match (session.refresh_hint(), refresher.next_refresh_ms()) {
        (Some(hint), Some(next_ms)) => {
            let countdown = move || {
                let left = ((next_ms - now.get()) / 1000.0).ceil() as i64;
                if refresher.is_refreshing() {
                    "refreshing now…".to_owned()
                } else if left > 0 {
                    format!("in {}", format::countdown(left))
                } else {
                    "due now".to_owned()
                }
            };
            view! {
                <dl class="facts">
                    <dt>"Refresh token"</dt>
                    <dd class="refresh-token">
                        "held by this tab, in sessionStorage: " <code>{hint} "…"</code>
                    </dd>
                    <dt>"Next refresh"</dt>
                    <dd class="next-refresh">
                        <time datetime=format::iso_time_ms(next_ms)>
                            {format::local_time_ms(next_ms)}
                        </time>
                        " · "
                        <span class="ok">{countdown}</span>
                    </dd>
                </dl>
                <p class="muted small">
                    "At 80 % of the access token's lifetime (or a minute before it expires, if "
                    "that is earlier) the app sends the refresh token to the token endpoint and "
                    "gets a new access token and a new refresh token. Each refresh token works "
                    "once: presenting a used one again ends the whole login. Logging out revokes it."
                </p>
            }
                .into_any()
        }
        _ => view! {
            <p class="muted">
                "This tab holds no refresh token: when the access token expires, you will log in again."
            </p>
        }
            .into_any(),
    }
    };
    view! {
        <div class="card refresh-status">
            <h2>"Staying logged in"</h2>
            {status}
        </div>
    }
}

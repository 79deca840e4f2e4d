//! `/token`: the access token this browser holds, decoded, and when it will be refreshed.
//!
//! Only a display: the signature is not checked here (the API checks it on every request).
//!
//! In MVC mode there is no token in the browser to show: the page says why, and shows instead the
//! claims the server decoded and the server's own exchanges with the token endpoint.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::bff::{Exchange, SessionInfo};
use shared::config::AppMode;
use shared::oauth::AccessTokenClaims;

use crate::api::Api;
use crate::components::RequireLogin;
use crate::format;
use crate::jwt::{self, DecodedToken};
use crate::pages::admin::{AdminTable, unix_time};
use crate::refresh::use_refresher;
use crate::session::use_session;

/// The IETF's "OAuth 2.0 for Browser-Based Applications", section on the Backend for Frontend.
const BFF_PATTERN_URL: &str = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-browser-based-apps#name-backend-for-frontend-bff";

#[component]
pub fn Token() -> impl IntoView {
    match use_session().mode() {
        AppMode::Rest => view! { <BrowserToken /> }.into_any(),
        AppMode::Mvc => view! { <ServerToken /> }.into_any(),
    }
}

/// REST mode: the token in the cookie.
#[component]
fn BrowserToken() -> impl IntoView {
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
                {move || {
                    session
                        .claims()
                        .and_then(|claims| claims.cnf)
                        .map(|cnf| {
                            view! {
                                <p class="flash" role="status" data-testid="dpop-bound">
                                    "Sender-constrained (DPoP): this token is bound to the key "
                                    "this browser keeps (cnf.jkt " <code>{cnf.jkt}</code>
                                    "). It goes as " <code>"Authorization: DPoP …"</code>
                                    ", each request with a " <code>"DPoP"</code>
                                    " proof the key signed; the API refuses it without one."
                                </p>
                            }
                        })
                }}
                {move || match decoded() {
                    Some(Ok(token)) => view! { <TokenDetails token /> }.into_any(),
                    Some(Err(e)) => view! { <p class="flash error" role="alert">{e.to_string()}</p> }.into_any(),
                    None => ().into_any(),
                }}
            </RequireLogin>
        </section>
    }
}

/// The current time, ticking every second while the page is open.
fn ticking_clock() -> RwSignal<f64> {
    let now = RwSignal::new(js_sys::Date::now());
    if let Ok(ticker) =
        set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_secs(1))
    {
        on_cleanup(move || ticker.clear());
    }
    now
}

/// The claims people care about, with a countdown to `exp`; `when_expired` says what follows.
#[component]
fn ClaimsSummary(
    claims: AccessTokenClaims,
    now: RwSignal<f64>,
    when_expired: &'static str,
) -> impl IntoView {
    let exp_ms = claims.exp as f64 * 1000.0;
    let left = move || ((exp_ms - now.get()) / 1000.0).ceil() as i64;
    let countdown = move || {
        if left() > 0 {
            view! { <span class="ok">"expires in " {format::countdown(left())}</span> }.into_any()
        } else {
            view! { <span class="expired">"expired — " {when_expired}</span> }.into_any()
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
                    <code>{claims.aud.to_string()}</code>
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
}

#[component]
fn TokenDetails(token: DecodedToken) -> impl IntoView {
    let now = ticking_clock();
    let [header, payload, signature] = token.segments.clone();
    let header_json = jwt::pretty(&token.header);
    let payload_json = jwt::pretty(&token.payload);
    let summary = token.claims.map(|claims| {
        view! { <ClaimsSummary claims now when_expired="the API will answer 401" /> }
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

/// MVC mode: why there is no token here, what the server says about it, and the server's
/// exchanges with the authorization server.
#[component]
fn ServerToken() -> impl IntoView {
    let session = use_session();
    let api = expect_context::<Api>();
    // The server may have refreshed since the app started: show its session as it is now. A 401
    // ends the session (through `Api`); any other failure leaves what the app already knows.
    spawn_local(async move {
        if let Ok(info) = api.server_session().await {
            session.set_server_session(info);
        }
    });
    view! {
        <section class="page token">
            <header class="page-head">
                <h1>"Where is your access token?"</h1>
                <p class="muted">
                    "On the server. This app runs in MVC mode: the access token never reaches "
                    "your browser, so there is nothing here to decode."
                </p>
            </header>
            <div class="card bff-explainer">
                <h2>"Why the browser holds no token"</h2>
                <p>
                    "The app's server, a backend-for-frontend, logged you in as a confidential "
                    "client and keeps your access and refresh tokens in a server-side session. "
                    "This browser holds only a session cookie: it is "<code>"HttpOnly"</code>
                    ", so no script in the page can read it, "<code>"SameSite=Strict"</code>
                    " and bound to this origin. The page calls "<code>"/bff/api/…"</code>
                    " on its own origin; the server calls the API with "
                    <code>"Authorization: Bearer …"</code>" itself. Anything that changes data "
                    "also needs the session's CSRF token in the "<code>"x-csrf-token"</code>
                    " header, which another site cannot send."
                </p>
                <p>
                    "Why: a token in a cookie that scripts can read (REST mode) is readable by "
                    "any script that runs in the page, an injected one or a compromised "
                    "dependency, which can send it elsewhere and use it until it expires. Such a "
                    "script can still act through the page while it is open, but it cannot take "
                    "the token away. This is the Backend for Frontend pattern of the IETF's "
                    <a href=BFF_PATTERN_URL rel="noopener noreferrer" target="_blank">
                        "OAuth 2.0 for Browser-Based Applications"
                    </a>"."
                </p>
            </div>
            <RequireLogin what="what the server holds for you">
                {move || session.server_session().map(|info| view! { <ServerSession info /> })}
            </RequireLogin>
        </section>
    }
}

#[component]
fn ServerSession(info: SessionInfo) -> impl IntoView {
    let now = ticking_clock();
    let claims_json = serde_json::to_value(&info.claims)
        .map(|claims| jwt::pretty(&claims))
        .unwrap_or_default();
    let refresh = if info.refreshable {
        "the server holds a refresh token and renews the access token by itself"
    } else {
        "no refresh token: when the access token expires, you log in again"
    };
    view! {
        <h2>"The access token's claims"</h2>
        <p class="muted">"Decoded by the server and sent without the token itself."</p>
        <ClaimsSummary
            claims=info.claims
            now
            when_expired="the server refreshes it on the next call"
        />
        <div class="two-columns">
            <div class="card">
                <h2>"Claims"</h2>
                <pre class="json">{claims_json}</pre>
            </div>
            <div class="card">
                <h2>"The server-side session"</h2>
                <dl class="facts">
                    <dt>"Ends"</dt>
                    <dd>{unix_time(info.expires_at)}</dd>
                    <dt>"Ends if unused"</dt>
                    <dd>{unix_time(info.idle_expires_at)}</dd>
                    <dt>"Staying logged in"</dt>
                    <dd>{refresh}</dd>
                </dl>
            </div>
        </div>
        <h2>"The server's exchanges with the authorization server"</h2>
        <p class="muted">
            "What the server sent and got back on your behalf, oldest first. Tokens appear only "
            "as their last characters: enough to see them change, far too little to use."
        </p>
        <ExchangeTable exchanges=info.exchanges />
    }
}

const EXCHANGE_COLUMNS: &[&str] = &[
    "Time",
    "Grant type",
    "Endpoint",
    "Client auth",
    "Status",
    "Scope",
    "Expires in",
    "Access token",
    "Refresh token",
];

#[component]
pub fn ExchangeTable(exchanges: Vec<Exchange>) -> impl IntoView {
    let rows = exchanges
        .into_iter()
        .map(|exchange| {
            let status_class = if exchange.status < 400 {
                "ok"
            } else {
                "expired"
            };
            let status = match &exchange.error {
                Some(error) => format!("{} {error}", exchange.status),
                None => exchange.status.to_string(),
            };
            let scope = exchange
                .scope
                .map_or_else(|| "—".to_owned(), |scope| scope.to_string());
            let expires_in = exchange
                .expires_in
                .map_or_else(|| "—".to_owned(), |secs| format!("{secs} s"));
            let hint = |hint: Option<String>| hint.map(|hint| view! { <code>"…" {hint}</code> });
            view! {
                <tr class="exchange">
                    <td class="nowrap">{unix_time(exchange.at)}</td>
                    <td class="nowrap">
                        <code>{exchange.grant_type}</code>
                    </td>
                    <td>
                        <code>{exchange.endpoint}</code>
                    </td>
                    <td class="nowrap">
                        <code>{exchange.client_auth}</code>
                    </td>
                    <td class=status_class>{status}</td>
                    <td>{scope}</td>
                    <td class="nowrap">{expires_in}</td>
                    <td class="nowrap">{hint(exchange.access_token_hint)}</td>
                    <td class="nowrap">{hint(exchange.refresh_token_hint)}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="Server-side token exchanges" columns=EXCHANGE_COLUMNS>
            {rows}
        </AdminTable>
    }
}

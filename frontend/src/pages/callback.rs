//! `/callback`: the end of the authorization code flow (RFC 6749 §4.1.2).
//!
//! The authorization server sends the browser here with `code` and `state` (or `error`); the
//! page checks them, redeems the code at the token endpoint with the PKCE verifier, stores the
//! token and moves on to the products (or where a step-up login asked to return).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use shared::config::AppMode;
use shared::oauth::ErrorResponse;

use crate::api::{self, ApiError, Deployment};
use crate::app::use_go;
use crate::components::{ErrorPanel, Loading};
use crate::oauth;
use crate::session::use_session;
use crate::timeline::{self, Entry, Note, Step};

/// Why the login did not complete, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    title: String,
    detail: String,
}

impl Failure {
    fn new(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            detail: detail.into(),
        }
    }

    /// RFC 6749 §4.1.2.1 / §5.2: `error` is a code for programs, `error_description` for people.
    fn oauth(error: &str, description: Option<&str>) -> Self {
        Self::new(
            format!("The authorization server answered: {error}"),
            description.unwrap_or("It gave no description."),
        )
    }
}

/// The callback in the timeline, with the checks this page makes before redeeming the code.
fn record_callback(
    sent: Option<&str>,
    state: Option<&str>,
    iss: Option<&str>,
    code: Option<&str>,
    issuer: &str,
) {
    let href = window().location().href().unwrap_or_default();
    let state_check = match (sent, state) {
        (None, _) => "✗ this tab started no login (or already finished it)".to_owned(),
        (Some(sent), Some(state)) if sent == state => {
            "✓ the value sent at authorize came back unchanged (RFC 6749 §10.12)".to_owned()
        }
        (Some(_), Some(_)) => "✗ not the value sent at authorize: the answer is ignored".to_owned(),
        (Some(_), None) => "✗ missing".to_owned(),
    };
    let iss_check = match iss {
        Some(iss) if iss == issuer => format!("✓ {iss}, the server this app logs in at (RFC 9207)"),
        Some(iss) => format!("✗ {iss}, but this app logs in at {issuer}"),
        None => "absent".to_owned(),
    };
    let mut entry = Entry::new(Step::Callback, "GET", href)
        .note(Note::new("state", state_check))
        .note(Note::new("iss", iss_check));
    if let Some(code) = code {
        entry = entry.note(Note::secret("code (one-time, redeemed next)", code));
    }
    timeline::record(entry);
}

#[component]
pub fn Callback() -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    // MVC mode: the authorization server returns to the server's `/bff/callback`, never here.
    if deployment.config.mode == AppMode::Mvc {
        return view! {
            <section class="page callback">
                <h1>"Nothing to do here"</h1>
                <ErrorPanel
                    title="This app runs in MVC mode".to_owned()
                    detail="Logins return to the server (/bff/callback), which keeps the tokens; \
                            the browser never redeems a code."
                        .to_owned()
                />
            </section>
        }
        .into_any();
    }
    let query = use_query_map().get_untracked();
    let param = |name: &str| query.get(name);
    let (code, state, iss) = (param("code"), param("state"), param("iss"));
    let (error, error_description) = (param("error"), param("error_description"));

    let session = use_session();
    let go = use_go();

    // Runs once: nothing in it is reactive.
    let outcome = LocalResource::new(move || {
        let (code, state, iss) = (code.clone(), state.clone(), iss.clone());
        let (error, error_description) = (error.clone(), error_description.clone());
        let deployment = deployment.clone();
        let go = go.clone();
        async move {
            // Whatever happens next, the state and verifier are used up.
            let pending = oauth::take_pending_login();
            record_callback(
                pending.as_ref().map(|pending| pending.state.as_str()),
                state.as_deref(),
                iss.as_deref(),
                code.as_deref(),
                &deployment.config.issuer,
            );
            if let Some(error) = error {
                return Err(Failure::oauth(&error, error_description.as_deref()));
            }
            let Some(pending) = pending else {
                return Err(Failure::new(
                    "This login was not started here",
                    "The browser has no record of starting a login in this tab (or it was \
                     already completed). Start again from the home page.",
                ));
            };
            // RFC 6749 §10.12: a response whose state is not ours may be a forged login.
            if state.as_deref() != Some(pending.state.as_str()) {
                return Err(Failure::new(
                    "Login refused: the state does not match",
                    "The response does not belong to the login this browser started, so it was \
                     ignored (this protects you against cross-site request forgery).",
                ));
            }
            let server = deployment.server.as_ref().map_err(|e| {
                Failure::new("The authorization server is not available", e.to_string())
            })?;
            // RFC 9207 §2.4: the response must come from the issuer we sent the user to (a
            // mix-up attack would bring a code from another one).
            match iss {
                Some(iss) if iss != deployment.config.issuer => {
                    return Err(Failure::new(
                        "Login refused: wrong issuer",
                        format!(
                            "The response says it comes from {iss}, but this app logs in at {}.",
                            deployment.config.issuer
                        ),
                    ));
                }
                None if server.authorization_response_iss_parameter_supported => {
                    return Err(Failure::new(
                        "Login refused: no issuer",
                        "The authorization server promises an iss parameter (RFC 9207), but \
                         this response has none.",
                    ));
                }
                _ => {}
            }
            let Some(code) = code else {
                return Err(Failure::new(
                    "No authorization code",
                    "The authorization server sent the browser back without a code.",
                ));
            };
            let token = api::exchange_code(
                server,
                &deployment.config.client_id,
                &code,
                &oauth::redirect_uri(),
                &pending.verifier,
            )
            .await
            .map_err(|e| match e {
                ApiError::Rejected {
                    body:
                        Some(ErrorResponse {
                            error,
                            error_description,
                        }),
                    ..
                } => Failure::oauth(&error, error_description.as_deref()),
                other => Failure::new(
                    "The code could not be exchanged for a token",
                    other.to_string(),
                ),
            })?;
            // A step-up login replaces one that may still hold a refresh token: end that login
            // on the server too (RFC 7009), best effort and without waiting for it.
            let replaced = session.refresh_grant();
            session
                .log_in(&token)
                .map_err(|why| Failure::new("The token could not be stored", why))?;
            if let Some(replaced) = replaced {
                let (server, client_id) = (server.clone(), deployment.config.client_id.clone());
                spawn_local(async move {
                    let _ = api::revoke(&server, &client_id, &replaced.refresh_token).await;
                });
            }
            if let (Some(scope), Some(claims)) = (&pending.step_up, session.claims_untracked()) {
                oauth::record_step_up(scope, &claims.sub, claims.scope.contains(scope));
            }
            // Replace the history entry: the code in this URL is spent.
            go(pending.return_to.as_deref().unwrap_or("/products"), true);
            Ok(())
        }
    });

    view! {
        <section class="page callback">
            <Suspense fallback=|| {
                view! {
                    <h1>"Logging in"</h1>
                    <Loading text="Exchanging the authorization code for a token…" />
                }
            }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(()) => {
                            view! {
                                <h1>"Logged in"</h1>
                                <Loading text="Opening the app…" />
                            }
                                .into_any()
                        }
                        Err(Failure { title, detail }) => {
                            view! {
                                <h1>"Login failed"</h1>
                                <ErrorPanel title detail />
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

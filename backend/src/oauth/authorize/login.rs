//! The login: a username and password checked under the rate limits, and then a code for the
//! client, or the consent screen first (see [`super::consent`]).

use std::net::IpAddr;
use std::time::Duration;

use shared::oauth::GrantType;

use super::consent;
use super::page::PageError;
use super::request::AuthorizationRequest;
use super::response::{code_expiry, issue_code};
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::oauth::scope_for_user;
use crate::servers::Governing;
use crate::state::AppState;
use crate::storage::{CodeGrant, ScopeInfo, User};
use crate::throttle::{Verdict, address_key};

const MAX_USERNAME_LEN: usize = 256;
/// Bounds the work one login attempt can cost the server.
const MAX_PASSWORD_LEN: usize = 1024;

/// What the user did on the login form.
pub enum Attempt<'a> {
    Cancel,
    LogIn {
        username: &'a str,
        password: &'a str,
    },
}

/// How a login attempt ends.
#[derive(Debug)]
pub enum Outcome {
    /// Show the form again, with this message.
    Retry(&'static str),
    /// Too many attempts: the form again, answered 429 with `Retry-After`.
    Throttled(Duration),
    /// The user cancelled: the client hears `access_denied`.
    Cancelled,
    /// Logged in, but the authorization server's access policy refuses this user the client
    /// or the scopes: back to the client with this error.
    Refused {
        error: &'static str,
        description: String,
        /// The policy's explanation, for the event log.
        why: Box<crate::refusals::Why>,
    },
    /// Logged in: back to the client with this code.
    Code(String),
    /// Logged in, but the client needs the user's consent first: the consent screen for these
    /// scopes, answering under this ticket.
    Consent {
        ticket: String,
        scopes: Vec<ScopeInfo>,
    },
}

/// One post of the login form for `request`, from `address`, at `now_us`. `csrf` is the
/// browser's anti-forgery token (the consent ticket is bound to it).
///
/// Every post counts against the address first ([`address_allows`]), then the credentials
/// against the username ([`credentials`]).
pub async fn log_in(
    state: &AppState,
    request: &AuthorizationRequest,
    attempt: Attempt<'_>,
    csrf: &str,
    address: IpAddr,
    now_us: i64,
) -> Result<Outcome, PageError> {
    if let Some(wait) = address_allows(state, address, now_us).await? {
        return Ok(Outcome::Throttled(wait));
    }
    let (username, password) = match attempt {
        Attempt::Cancel => {
            let event = Event::new(EventKind::ConsentDenied)
                .client(&request.client.id)
                .address(address)
                .detail("cancelled at the login form");
            state.events.record(event).await;
            return Ok(Outcome::Cancelled);
        }
        Attempt::LogIn { username, password } => (username, password),
    };
    let user = match credentials(
        state,
        &request.client.id,
        username,
        password,
        address,
        now_us,
    )
    .await?
    {
        Credentials::Valid(user) => user,
        Credentials::Retry(message) => return Ok(Outcome::Retry(message)),
        Credentials::Throttled(wait) => return Ok(Outcome::Throttled(wait)),
    };
    let db = &state.db;
    let now = Timestamp::from_micros(now_us);
    // RFC 6749 §3.3: what the user's role does not allow is left out, not refused; the token
    // response says what was granted.
    let scope = scope_for_user(&user, request.scope.clone());
    // At a custom server, its access policy decides now that the user (and their role) is
    // known; the token endpoint decides again when the code is redeemed.
    let audience = request.audiences.audience();
    let governing = Governing {
        client_id: &request.client.id,
        grant_type: GrantType::AuthorizationCode,
        refreshes: None,
        user: Some(&user),
        scope: &scope,
        audience: audience.as_ref(),
    };
    if let Err(refused) = request.server.govern(db, governing).await? {
        let event = Event::new(EventKind::PolicyDenied)
            .client(&request.client.id)
            .user(&user.id)
            .address(address)
            .detail(refused.description.clone());
        state.events.record(event).await;
        return Ok(Outcome::Refused {
            error: refused.why.authorization_error().as_str(),
            why: Box::new(refused.explain()),
            description: refused.description,
        });
    }
    let grant = CodeGrant {
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope,
        user_id: user.id,
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        auth_time: now,
        expires_at: code_expiry(state, now),
        audiences: request.audiences.clone(),
        server_id: request.server.id().map(str::to_owned),
        server_generation: request.server.generation().map(str::to_owned),
        dpop_jkt: request.dpop_jkt.clone(),
    };
    if !super::pushed::finish(state, request, csrf).await? {
        return Err(PageError::bad_request(
            "This login has already ended (the form was sent twice). Go back to the application \
             and log in again.",
        ));
    }
    match consent::needed(state, &request.server, &request.client, &grant).await? {
        None => Ok(Outcome::Code(issue_code(state, &grant).await?)),
        Some(scopes) => {
            let ticket = consent::ask(state, &grant, request.state.clone(), csrf, now).await?;
            Ok(Outcome::Consent { ticket, scopes })
        }
    }
}

/// Counts a login post from `address` at `now_us`; `Some(wait)` when the address has posted
/// too many. Every post counts, before anything else happens (RFC 9700 §4.16 leaves the means
/// open; OWASP asks for limits per account and per source).
pub async fn address_allows(
    state: &AppState,
    address: IpAddr,
    now_us: i64,
) -> Result<Option<Duration>, PageError> {
    match state
        .throttles
        .login_per_address
        .hit(&state.db, &address_key(address), now_us)
        .await?
    {
        Verdict::Refused(wait) => return Ok(Some(wait)),
        Verdict::LastAllowed => {
            let event = Event::new(EventKind::LoginThrottled)
                .address(address)
                .detail("login attempts from this address");
            state.events.record(event).await;
        }
        Verdict::Allowed => {}
    }
    Ok(None)
}

/// What a username and password turned out to be.
#[derive(Debug)]
pub enum Credentials {
    /// An enabled user's.
    Valid(User),
    /// Not a user's: the form again, with this message.
    Retry(&'static str),
    /// Too many failures for this username.
    Throttled(Duration),
}

/// Checks `username` and `password`, posted for `client_id` from `address`, under the
/// per-username limit (the per-address one is [`address_allows`]'s), and logs the outcome.
///
/// A failure for the username is reserved before the password is hashed, and given back if the
/// password is right: a throttled guess costs no Argon2 run, and the right password gets the
/// same 429 as a wrong one, so the throttle reveals nothing. Both limits are counted in the
/// database, so across every instance.
pub async fn credentials(
    state: &AppState,
    client_id: &str,
    username: &str,
    password: &str,
    address: IpAddr,
    now_us: i64,
) -> Result<Credentials, PageError> {
    checked_credentials(state, client_id, username, password, address, now_us, None).await
}

/// [`credentials`], for a check that is not a login (`purpose` says what for, in the events
/// it records: a password confirmed to log out of every app is not a login).
pub async fn checked_credentials(
    state: &AppState,
    client_id: &str,
    username: &str,
    password: &str,
    address: IpAddr,
    now_us: i64,
    purpose: Option<&'static str>,
) -> Result<Credentials, PageError> {
    let throttles = &state.throttles;
    let db = &state.db;
    if username.is_empty() || password.is_empty() {
        return Ok(Credentials::Retry("Enter your username and password."));
    }
    if username.len() > MAX_USERNAME_LEN || password.len() > MAX_PASSWORD_LEN {
        return Ok(Credentials::Retry("Invalid username or password."));
    }
    let user_exhausted = match throttles.login_per_user.hit(db, username, now_us).await? {
        Verdict::Refused(wait) => return Ok(Credentials::Throttled(wait)),
        verdict => verdict == Verdict::LastAllowed,
    };
    let checked = check_password(state, username, password).await;
    if !matches!(checked, Ok(None)) {
        throttles
            .login_per_user
            .refund(db, username, now_us)
            .await?;
    }
    let Some(user) = checked? else {
        let mut event = Event::new(EventKind::LoginFailed)
            .client(client_id)
            .user(username)
            .address(address);
        if let Some(purpose) = purpose {
            event = event.detail(purpose);
        }
        state.events.record(event).await;
        if user_exhausted {
            let event = Event::new(EventKind::LoginThrottled)
                .user(username)
                .address(address)
                .detail("failed logins for this username");
            state.events.record(event).await;
        }
        return Ok(Credentials::Retry("Invalid username or password."));
    };
    crate::logs::identify(client_id, Some(&user.id));
    let mut event = Event::new(EventKind::LoginSucceeded)
        .client(client_id)
        .user(&user.id)
        .address(address);
    if let Some(purpose) = purpose {
        event = event.detail(purpose);
    }
    state.events.record(event).await;
    Ok(Credentials::Valid(user))
}

/// The user `username` names, if `password` is theirs and they are enabled. Argon2 is
/// deliberately slow, so it runs off the async workers; an unknown user costs the same time.
async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<User>, PageError> {
    let user = state.db.user_by_username(username).await?;
    let password = password.to_owned();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let valid =
        tokio::task::spawn_blocking(move || crypto::verify_password(&password, stored.as_deref()))
            .await
            .map_err(PageError::internal)?;
    Ok(user.filter(|u| valid && !u.disabled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::params::Params;
    use crate::state::testing::{HERE, demo_state};

    async fn request(state: &AppState, client: &str) -> AuthorizationRequest {
        let raw = format!(
            "response_type=code&client_id={client}\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback&scope=openid+orders:read\
             &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        );
        AuthorizationRequest::validate(state, &state.root, &Params::parse(raw.as_bytes()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_first_party_login_gets_a_code_and_a_third_party_one_asks_first() {
        let (state, _dir) = demo_state(&[]).await;
        let now_us = state.clock.now_us();
        let attempt = || Attempt::LogIn {
            username: "user0",
            password: "password0",
        };
        let spa = request(&state, "demo-spa").await;
        let outcome = log_in(&state, &spa, attempt(), "csrf", HERE, now_us)
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Code(_)), "{outcome:?}");
        assert_eq!(state.db.count("authorization_codes").await.unwrap(), 1);

        let partner = request(&state, "demo-partner").await;
        match log_in(&state, &partner, attempt(), "csrf", HERE, now_us)
            .await
            .unwrap()
        {
            Outcome::Consent { scopes, .. } => {
                let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
                assert_eq!(names, ["openid", "orders:read"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(state.db.count("consent_tickets").await.unwrap(), 1);
        assert_eq!(state.db.count("authorization_codes").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn failed_logins_are_limited_per_username_and_the_right_password_gets_no_hint() {
        let (state, _dir) = demo_state(&["--login-failures-per-user", "2/300"]).await;
        let spa = request(&state, "demo-spa").await;
        let now_us = state.clock.now_us();
        let wrong = || Attempt::LogIn {
            username: "user0",
            password: "wrong-password",
        };
        for _ in 0..2 {
            let outcome = log_in(&state, &spa, wrong(), "c", HERE, now_us)
                .await
                .unwrap();
            assert!(matches!(outcome, Outcome::Retry(_)), "{outcome:?}");
        }
        let right = Attempt::LogIn {
            username: "user0",
            password: "password0",
        };
        let outcome = log_in(&state, &spa, right, "c", HERE, now_us)
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Throttled(_)), "{outcome:?}");
        // Another username is not affected; after the interval, one more try.
        let other = Attempt::LogIn {
            username: "user1",
            password: "password1",
        };
        let outcome = log_in(&state, &spa, other, "c", HERE, now_us)
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Code(_)), "{outcome:?}");
        let later = now_us + 150_000_000;
        let right = Attempt::LogIn {
            username: "user0",
            password: "password0",
        };
        let outcome = log_in(&state, &spa, right, "c", HERE, later).await.unwrap();
        assert!(matches!(outcome, Outcome::Code(_)), "{outcome:?}");
    }
}

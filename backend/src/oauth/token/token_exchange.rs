//! RFC 8693: token exchange. A confidential client (typically an API that received a user's
//! access token and must call another API for them) presents the token it holds, the subject
//! token, and gets an access token of this server for another audience, for the same subject.
//!
//! By default it **delegates** (§1.1): the token it issues names who acts for the subject in
//! its `act` claim (§4.1), the actor token's subject when one is presented, else the client that
//! exchanged it, with the actors of the subject token nested within. **Impersonation** (a token
//! that names no new actor, so that the client passes for the subject) is issued only at a
//! custom server whose allowing rule says `impersonation`, and only when no actor token is
//! presented (an actor token asks for delegation); the root issuer has no policies, and never
//! impersonates.
//!
//! What the new token may hold is bounded three times: by the subject token (an exchange
//! narrows, never widens, §1.1: "the new token may have fewer privileges"), by the client's
//! registration, and at a custom server by its access policies, whose rule for the
//! token-exchange grant decides, names itself in a refusal, and sets the lifetime. The new
//! token never outlives the subject token, and it is issued under the subject token's login
//! (`grant_id`), so that the login's end (logout, a reused refresh token, a disabled user)
//! ends it too.

use shared::oauth::{Actor, Audience, GrantType, token_type};
use shared::scope::{ADMIN, ScopeSet};

use super::client_credentials::USER_ONLY;
use super::{Caller, Granted, Lives, denied, lifetimes};
use crate::access_token::{MAX_TOKEN_LEN, Subject};
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::refusals::Why;
use crate::servers::{self, Accepted, AuthServer, Governing, Offered};
use crate::state::AppState;
use crate::storage::{Client, User};

/// An actor chain longer than this (the subject token's, plus the new actor) is refused: each
/// exchange adds one, and a token that went through this many hands is not one to pass on.
pub const MAX_ACTORS: usize = 4;

/// A token presented in an exchange, with the type its `*_token_type` named (§2.1).
#[derive(Debug)]
pub struct Presented {
    pub token: String,
    pub kind: &'static str,
}

/// A token-exchange request's parameters, checked for syntax (§2.1).
#[derive(Debug)]
pub struct Request {
    pub subject: Presented,
    pub actor: Option<Presented>,
    /// The type of token asked for (`requested_token_type`): an access token, which is what
    /// this server issues, unless the client asked for it as a `jwt`.
    pub requested: &'static str,
    pub scope: Option<ScopeSet>,
}

/// `value` as one of the token types this server takes and issues: access tokens, all of them
/// JWTs (RFC 9068), so either identifier names them.
fn known_type(value: &str) -> Option<&'static str> {
    [token_type::ACCESS_TOKEN, token_type::JWT]
        .into_iter()
        .find(|known| *known == value)
}

/// The token types this server takes: its access tokens and those of the issuers it trusts,
/// all of them JWTs (RFC 9068), so either identifier names them.
fn token_type_of(name: &str, value: &str) -> Result<&'static str, OAuthError> {
    known_type(value).ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "{name} {:?} is not a type this server exchanges: it takes access tokens ({}, \
                 or {} for the JWT they are), of this server or of an issuer it trusts (RFC \
                 8693 §3)",
            crate::issuers::verify::clip(value),
            token_type::ACCESS_TOKEN,
            token_type::JWT
        ))
    })
}

impl Request {
    /// §2.1's parameters: `subject_token` and `subject_token_type` required, `actor_token_type`
    /// with `actor_token` and never without it, `requested_token_type` optional.
    pub fn parse(params: &Params, scope: Option<ScopeSet>) -> Result<Self, OAuthError> {
        let token = |name: &str| -> Result<Option<String>, OAuthError> {
            match params.get(name) {
                Some(token) if token.len() > MAX_TOKEN_LEN => {
                    Err(OAuthError::invalid_request(format!(
                        "{name} is {} bytes long; no access token this server takes is longer \
                         than {MAX_TOKEN_LEN}",
                        token.len()
                    )))
                }
                token => Ok(token.map(str::to_owned)),
            }
        };
        let subject = token("subject_token")?.ok_or_else(|| {
            OAuthError::invalid_request(
                "missing subject_token: the access token to exchange (RFC 8693 §2.1)",
            )
        })?;
        let subject_type = params.get("subject_token_type").ok_or_else(|| {
            OAuthError::invalid_request(format!(
                "missing subject_token_type: say what subject_token is, e.g. \
                 subject_token_type={} (RFC 8693 §2.1)",
                token_type::ACCESS_TOKEN
            ))
        })?;
        let subject = Presented {
            token: subject,
            kind: token_type_of("subject_token_type", subject_type)?,
        };
        let actor = match (token("actor_token")?, params.get("actor_token_type")) {
            (Some(token), Some(kind)) => Some(Presented {
                token,
                kind: token_type_of("actor_token_type", kind)?,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(OAuthError::invalid_request(format!(
                    "actor_token is sent without actor_token_type, which is required with it, \
                     e.g. actor_token_type={} (RFC 8693 §2.1)",
                    token_type::ACCESS_TOKEN
                )));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type is sent without actor_token: send both, or neither \
                     (RFC 8693 §2.1)",
                ));
            }
        };
        let requested = match params.get("requested_token_type") {
            None => token_type::ACCESS_TOKEN,
            Some(asked) => known_type(asked).ok_or_else(|| {
                OAuthError::invalid_request(format!(
                    "requested_token_type {:?} is not one this server issues: it issues \
                         access tokens ({}); leave requested_token_type out, or ask for that \
                         (RFC 8693 §2.1)",
                    crate::issuers::verify::clip(asked),
                    token_type::ACCESS_TOKEN
                ))
            })?,
        };
        Ok(Self {
            subject,
            actor,
            requested,
            scope,
        })
    }
}

/// A token of the exchange, verified: its claims, and who issued it.
struct Verified {
    accepted: Accepted,
}

impl Verified {
    /// Its subject, as the new token names it: this server's own as it is; a trusted issuer's
    /// qualified with that issuer (`{iss}#{sub}`, as the API names their owners), so that it
    /// never passes for one of this server's users.
    fn subject(&self) -> String {
        let claims = &self.accepted.claims;
        match self.accepted.external {
            None => claims.sub.clone(),
            Some(_) => format!("{}#{}", claims.iss, claims.sub),
        }
    }

    /// It as an actor (§4.1): its subject, and, for a trusted issuer's, that issuer.
    fn as_actor(&self) -> Actor {
        let claims = &self.accepted.claims;
        Actor {
            sub: Some(claims.sub.clone()),
            iss: self.accepted.external.as_ref().map(|_| claims.iss.clone()),
            act: None,
        }
    }
}

/// Verifies the `name` (`subject_token`, `actor_token`) `presented` at `server`: a live access
/// token of this server, or of a trusted external issuer. An access token of another of this
/// deployment's servers is exchanged at that server (it decides what its tokens become).
async fn verified(
    state: &AppState,
    server: &AuthServer,
    name: &'static str,
    presented: &Presented,
    now: Timestamp,
) -> Result<Verified, OAuthError> {
    let refused_with = |why: String, remedy: &str| {
        OAuthError::invalid_request(format!("the {name} is refused: {why}")).because(
            Why::check(name)
                .expected(format!(
                    "a live access token of {} or of an issuer it trusts",
                    server.issuer
                ))
                .got(why)
                .remedy(remedy.to_owned()),
        )
    };
    let refused = |why: String| {
        refused_with(
            why,
            "present a token that is not expired or revoked, from such an issuer",
        )
    };
    let token = presented.token.as_str();
    let Some(iss) = servers::claimed_issuer(token) else {
        return Err(refused(
            "it is not a JWT with an iss claim (an access token of this server, or of an issuer \
             it trusts)"
                .into(),
        ));
    };
    if iss == server.issuer {
        return match server.tokens.verify_live(&state.db, token, now).await? {
            // The verification leaves a small leeway past `exp`; an exchange passes on what is
            // live, and no more.
            Ok(claims) if claims.exp <= now.unix() => {
                Err(refused("the access token expired".into()))
            }
            Ok(claims) => Ok(Verified {
                accepted: Accepted {
                    claims,
                    external: None,
                },
            }),
            Err(why) => Err(refused(why.to_owned())),
        };
    }
    let root = &state.root;
    let local = match iss == root.issuer {
        true => Some(root.endpoint("/token")),
        false => state
            .servers
            .by_issuer(&iss, &root.issuer)
            .map(|other| other.endpoint("/token")),
    };
    if let Some(endpoint) = local {
        return Err(refused_with(
            format!(
                "it was issued by {iss}, another issuer of this deployment: exchange it at its \
                 token endpoint, {endpoint}"
            ),
            "exchange it at the token endpoint of the issuer that issued it",
        ));
    }
    let accepted = match servers::verify_external(state, &iss, token, now).await? {
        Ok(accepted) => accepted,
        Err(why) => return Err(refused(why)),
    };
    if accepted.claims.exp <= now.unix() {
        return Err(refused("the access token expired".into()));
    }
    // A trusted issuer is trusted for one audience (its tokens' `aud`): its tokens are
    // exchanged only at a server that issues for that audience, never turned into tokens of
    // a server whose APIs never agreed to trust it.
    if !accepted
        .claims
        .aud
        .iter()
        .any(|audience| server.tokens.issues_for(audience))
    {
        return Err(refused_with(
            format!(
                "it was issued by the trusted issuer {iss} for {}, which {} does not issue \
                 tokens for",
                accepted.claims.aud, server.issuer
            ),
            "exchange it at an authorization server that issues tokens for the audience the \
             issuer is trusted for",
        ));
    }
    Ok(Verified { accepted })
}

/// What a token exchange issues: `caller` acting for the subject token's subject at `server`,
/// at `now`, for `audience` (the request's `audience` and `resource` parameters, resolved;
/// `None` for the server's default audience).
pub async fn exchange(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    request: Request,
    audience: Option<Audience>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let client = caller.client;
    let subject = verified(state, server, "subject_token", &request.subject, now).await?;
    // RFC 9449: a token bound to a key is passed on only by the holder of that key, so that a
    // stolen one cannot be exchanged for a bearer token (or one bound to the thief's key).
    if let Some(cnf) = &subject.accepted.claims.cnf
        && caller.dpop != Some(cnf.jkt.as_str())
    {
        return Err(OAuthError::invalid_request(format!(
            "the subject_token is bound to a DPoP key (cnf.jkt {}): send this request with a \
             DPoP proof signed by that key (RFC 9449 §5)",
            cnf.jkt
        )));
    }
    let actor = match &request.actor {
        Some(presented) => {
            let actor = verified(state, server, "actor_token", presented, now).await?;
            // The actor token is the calling client's own (issued to it): a token of another
            // client would let this one be named as that client's user in `act`.
            if actor.accepted.claims.client_id != client.id {
                return Err(OAuthError::invalid_request(format!(
                    "the actor_token was issued to client {:?}, not to {:?}, which sends it: \
                     an actor token is one the calling client holds for the party that acts",
                    crate::issuers::verify::clip(&actor.accepted.claims.client_id),
                    client.id
                )));
            }
            actor.as_actor()
        }
        None => Actor {
            sub: Some(client.id.clone()),
            iss: None,
            act: None,
        },
    };
    let claims = &subject.accepted.claims;
    if subject.accepted.external.is_none()
        && claims.grant_id.is_none()
        && claims.sub == claims.client_id
    {
        // A client's own token (client credentials) speaks for no one but that client: an
        // exchange would let another pass for it, which its own credentials are for.
        return Err(OAuthError::invalid_request(format!(
            "the subject_token was issued to client {:?} acting for itself (client \
             credentials): there is no user to act for; a client gets its own tokens with its \
             own credentials",
            claims.client_id
        )));
    }
    may_act(claims.may_act.as_ref(), &claims.iss, &actor, &server.issuer)?;
    // Prior actors of a trusted issuer's token are that issuer's: named with it here, where
    // an actor without `iss` is this server's.
    let prior = claims.act.clone().map(|mut prior| {
        if subject.accepted.external.is_some() {
            let mut next = Some(&mut prior);
            while let Some(actor) = next {
                actor.iss.get_or_insert_with(|| claims.iss.clone());
                next = actor.act.as_deref_mut();
            }
        }
        Box::new(prior)
    });
    let act = Actor {
        act: prior.clone(),
        ..actor
    };
    if act.depth() > MAX_ACTORS {
        return Err(OAuthError::invalid_request(format!(
            "the subject_token has already been exchanged {} times (its act claim names that \
             many actors); this server passes a token on at most {MAX_ACTORS} times: exchange a \
             token nearer the user's own",
            act.depth() - 1
        )));
    }
    let offered = server.offered(&state.db).await?;
    let scope = scope(client, &claims.scope, offered.as_ref(), request.scope)?;
    let user = user_of(state, &subject).await?;
    let governing = Governing {
        client_id: &client.id,
        grant_type: GrantType::TokenExchange,
        refreshes: None,
        user: user.as_ref(),
        scope: &scope,
        audience: audience.as_ref(),
    };
    let governed = match server.govern(&state.db, governing).await? {
        Ok(governed) => governed,
        Err(refused) => {
            let user = user.as_ref().map(|u| u.id.as_str());
            return Err(denied(state, caller, user, refused).await);
        }
    };
    // Never past the subject token's own expiry: the exchange passes on its access, for no
    // longer than it was given.
    let remaining = u64::try_from(claims.exp - now.unix()).unwrap_or(0).max(1);
    let lifetime = Lives::of(state, lifetimes(client, governed.as_ref()))
        .access
        .min(remaining);
    // Impersonation: the new token names the actors the subject token named, and no new one.
    let impersonates =
        request.actor.is_none() && governed.as_ref().is_some_and(|g| g.allowed.impersonation);
    let note = match impersonates {
        true => format!(
            "{} impersonates {} (RFC 8693 token exchange)",
            client.id,
            subject.subject()
        ),
        false => format!(
            "{} acts for {} (RFC 8693 token exchange)",
            act.sub.as_deref().unwrap_or_default(),
            subject.subject()
        ),
    };
    let act = match impersonates {
        true => prior.map(|prior| *prior),
        false => Some(act),
    };
    let sub = subject.subject();
    let grant_id = match subject.accepted.external {
        None => claims.grant_id.as_deref(),
        Some(_) => None,
    };
    let issued = server.tokens.issue_with(
        Subject {
            sub: &sub,
            client_id: &client.id,
            grant_id,
            scope,
            lifetime,
            audience,
            jkt: caller.dpop,
            act,
        },
        &governed
            .as_ref()
            .map(|g| g.access.clone())
            .unwrap_or_default(),
        now,
    )?;
    let mut response = issued.response;
    response.issued_token_type = Some(request.requested.to_owned());
    Ok(Granted {
        response,
        sub,
        decided: governed.map(|g| g.allowed),
        note: Some(note),
    })
}

/// RFC 8693 §4.4: a subject token (of `subject_iss`) with `may_act` may be exchanged only by
/// the party it names: its `sub`, of its `iss`, or without one of the subject token's issuer.
/// An actor without `iss` is of `issuer` (this server).
fn may_act(
    may_act: Option<&Actor>,
    subject_iss: &str,
    actor: &Actor,
    issuer: &str,
) -> Result<(), OAuthError> {
    let Some(allowed) = may_act else {
        return Ok(());
    };
    let actor_iss = actor.iss.as_deref().unwrap_or(issuer);
    let allowed_iss = allowed.iss.as_deref().unwrap_or(subject_iss);
    let matches = allowed.sub.is_some() && allowed.sub == actor.sub && allowed_iss == actor_iss;
    if matches {
        return Ok(());
    }
    let named = |a: &Actor| {
        let sub = a.sub.as_deref().unwrap_or("(no sub)");
        match &a.iss {
            Some(iss) => format!("{sub} of {iss}"),
            None => sub.to_owned(),
        }
    };
    Err(OAuthError::invalid_request(format!(
        "the subject_token's may_act claim lets only {} act for its subject, not {} (RFC 8693 \
         §4.4)",
        named(allowed),
        named(actor)
    ))
    .because(
        Why::check("may_act")
            .expected(named(allowed))
            .got(named(actor))
            .remedy("exchange it as the party its may_act names, or with its actor_token"),
    ))
}

/// This server's user the subject token speaks for: its subject, when it is a login's (an
/// access token issued under a grant); `None` for a client acting for itself and for a trusted
/// issuer's subject, who is not one of this server's users. A login's token of a user since
/// deleted or disabled is refused (the user's end ends what they delegated).
async fn user_of(state: &AppState, subject: &Verified) -> Result<Option<User>, OAuthError> {
    let claims = &subject.accepted.claims;
    if subject.accepted.external.is_some() || claims.grant_id.is_none() {
        return Ok(None);
    }
    match state.db.user_by_id(&claims.sub).await? {
        Some(user) if !user.disabled => Ok(Some(user)),
        _ => Err(OAuthError::invalid_request(
            "the subject_token is refused: its user no longer exists or is disabled",
        )),
    }
}

/// The scope of the new token: what `asked` names (or, without it, what the subject token
/// holds that `client` is registered for), each scope held by the subject token (an exchange
/// never widens it), registered for the client, and offered by the server (`offered`; `None`
/// at the root issuer). `openid` and `offline_access` are left out: an exchange issues an
/// access token, never an ID or a refresh token.
pub fn scope(
    client: &Client,
    held: &ScopeSet,
    offered: Option<&Offered>,
    asked: Option<ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    // `openid` and `offline_access` ask for tokens an exchange does not issue: left out.
    let usable = |s: &&str| !USER_ONLY[..2].contains(s);
    let scope: ScopeSet = match asked {
        None => held
            .iter()
            .filter(usable)
            .filter(|s| *s != ADMIN)
            .filter(|s| client.scopes.contains(s))
            .collect(),
        Some(asked) => {
            let asked: ScopeSet = asked.iter().filter(usable).collect();
            if asked.contains(ADMIN) {
                // The admin API is the administrator's own, never a delegate's.
                return Err(OAuthError::invalid_scope(
                    "admin is never passed on by a token exchange: the admin API takes the \
                     administrator's own tokens",
                ));
            }
            let unheld: Vec<&str> = asked.difference(held).collect();
            if !unheld.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "the subject_token does not hold {}: an exchange may narrow its scope ({held}), \
                     never widen it (RFC 8693 §1.1)",
                    unheld.join(" ")
                )));
            }
            let unregistered: Vec<&str> = asked.difference(&client.scopes).collect();
            if !unregistered.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "client {:?} may not be granted: {}; it may ask for: {}",
                    client.id,
                    unregistered.join(" "),
                    client.scopes
                )));
            }
            asked
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "no scope to grant: the subject_token holds {held}, and client {:?} is registered \
             for {}; an exchange grants only scopes in both (openid and offline_access aside)",
            client.id, client.scopes
        )));
    }
    if let Some(why) = offered.and_then(|offered| offered.refusal(&scope)) {
        return Err(OAuthError::invalid_scope(why));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;
    use shared::oauth::ErrorCode;

    fn params(raw: &str) -> Params {
        Params::parse(raw.as_bytes()).unwrap()
    }

    const AT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";

    #[test]
    fn the_subject_and_its_type_are_required_and_an_actor_comes_with_its_type() {
        let ok = Request::parse(
            &params(&format!("subject_token=t&subject_token_type={AT}")),
            None,
        )
        .unwrap();
        assert_eq!(ok.subject.kind, token_type::ACCESS_TOKEN);
        assert_eq!(ok.requested, token_type::ACCESS_TOKEN);
        assert!(ok.actor.is_none());
        for (raw, expected) in [
            (format!("subject_token_type={AT}"), "missing subject_token"),
            ("subject_token=t".to_owned(), "missing subject_token_type"),
            (
                "subject_token=t&subject_token_type=urn:x:saml2".to_owned(),
                "subject_token_type \"urn:x:saml2\" is not a type",
            ),
            (
                format!("subject_token=t&subject_token_type={AT}&actor_token=a"),
                "actor_token is sent without actor_token_type",
            ),
            (
                format!("subject_token=t&subject_token_type={AT}&actor_token_type={AT}"),
                "actor_token_type is sent without actor_token",
            ),
            (
                format!(
                    "subject_token=t&subject_token_type={AT}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token"
                ),
                "requested_token_type",
            ),
            (
                format!(
                    "subject_token={}&subject_token_type={AT}",
                    "a".repeat(MAX_TOKEN_LEN + 1)
                ),
                "subject_token is 4097 bytes long",
            ),
        ] {
            let e = Request::parse(&params(&raw), None).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{raw}");
            assert!(e.description.starts_with(expected), "{}", e.description);
        }
        let with_actor = Request::parse(
            &params(&format!(
                "subject_token=t&subject_token_type={AT}&actor_token=a&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
            )),
            None,
        )
        .unwrap();
        assert_eq!(with_actor.actor.unwrap().kind, token_type::JWT);
        assert_eq!(with_actor.requested, token_type::JWT);
    }

    #[tokio::test]
    async fn the_scope_narrows_and_never_widens() {
        let (state, _dir) = demo_state(&[]).await;
        let mut client = state.db.client("demo-service").await.unwrap().unwrap();
        client.scopes = ScopeSet::parse("products:read orders:read").unwrap();
        let held = ScopeSet::parse("openid offline_access products:read orders:write").unwrap();
        let ask = |raw: &str| Some(ScopeSet::parse(raw).unwrap());
        // Without scope: what both hold.
        assert_eq!(
            scope(&client, &held, None, None).unwrap().to_string(),
            "products:read"
        );
        // openid asks for nothing an exchange issues: left out.
        assert_eq!(
            scope(&client, &held, None, ask("openid products:read"))
                .unwrap()
                .to_string(),
            "products:read"
        );
        let wider = scope(&client, &held, None, ask("orders:read")).unwrap_err();
        assert_eq!(wider.code, ErrorCode::InvalidScope);
        assert!(
            wider
                .description
                .starts_with("the subject_token does not hold orders:read"),
            "{}",
            wider.description
        );
        let unregistered = scope(&client, &held, None, ask("orders:write")).unwrap_err();
        assert!(
            unregistered
                .description
                .contains("may not be granted: orders:write"),
            "{}",
            unregistered.description
        );
        let nothing = scope(&client, &ScopeSet::parse("email").unwrap(), None, None).unwrap_err();
        assert!(nothing.description.starts_with("no scope to grant"));
    }

    #[test]
    fn may_act_names_who_may_exchange() {
        let actor = |sub: &str, iss: Option<&str>| Actor {
            sub: Some(sub.to_owned()),
            iss: iss.map(str::to_owned),
            act: None,
        };
        let here = "https://as.example";
        let partner = "https://partner.example";
        // A subject token of this server: an actor without iss is this server's.
        assert!(may_act(None, here, &actor("svc", None), here).is_ok());
        let only_svc = actor("svc", None);
        assert!(may_act(Some(&only_svc), here, &actor("svc", None), here).is_ok());
        let refused = may_act(Some(&only_svc), here, &actor("rogue", None), here).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidRequest);
        assert!(
            refused.description.contains("lets only svc act"),
            "{}",
            refused.description
        );
        // Another issuer's svc is not this one's.
        assert!(may_act(Some(&only_svc), here, &actor("svc", Some(partner)), here).is_err());
        // A partner's token naming its own svc (no iss): the partner's svc, not a local one.
        assert!(may_act(Some(&only_svc), partner, &actor("svc", None), here).is_err());
        assert!(may_act(Some(&only_svc), partner, &actor("svc", Some(partner)), here).is_ok());
        // Naming the issuer explicitly.
        let local_svc = actor("svc", Some(here));
        assert!(may_act(Some(&local_svc), partner, &actor("svc", None), here).is_ok());
        // A may_act that names nobody lets nobody act.
        assert!(may_act(Some(&Actor::default()), here, &actor("svc", None), here).is_err());
    }
}

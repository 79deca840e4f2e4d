//! Resource indicators (RFC 8707): a client names, with `resource` at the authorization and
//! token endpoints, the protected resources it wants an access token for, and the token's `aud`
//! is restricted to them, so that a token leaked by one API cannot be replayed at another.
//!
//! Each authorization server issues tokens for a set of audiences: the root issuer for the
//! API's audience (`AUDIENCE`), a custom server for its default audience and its extra ones.
//! A `resource` is one of those audiences, or the resource identifier of one of this origin's
//! APIs as its RFC 9728 metadata gives it (`{ISSUER}/api`, or one of its URLs), which stands
//! for the audience that API requires, wherever the server issues for it (RFC 8707 §2 lets a
//! server map a resource to a more general identifier). Without `resource`, a token is for the
//! server's default audience. Anything else is `invalid_target`, with a description that names
//! what this server issues for and, when another of this server's authorization servers
//! issues for it, which one.

use shared::oauth::Audience;

use super::error::OAuthError;
use crate::config::Config;
use crate::protected_resource::{Resource, api_named};
use crate::refusals::Why;
use crate::servers::{AuthServer, Servers};

/// At most this many resources in one request: a token is for a few APIs, not a catalogue.
pub const MAX_RESOURCES: usize = 5;
/// No resource identifier is longer; a longer one is refused before it is compared.
const MAX_RESOURCE_LEN: usize = 512;

/// What the resources a request names resolve to.
pub struct Target<'a> {
    config: &'a Config,
    server: &'a AuthServer,
}

impl<'a> Target<'a> {
    pub fn new(config: &'a Config, server: &'a AuthServer) -> Self {
        Self { config, server }
    }

    /// The audiences `server` issues for, its default one first.
    fn audiences(&self) -> Vec<&'a str> {
        match &self.server.stored {
            Some(stored) => stored.audiences().collect(),
            None => std::iter::once(self.config.audience.as_str())
                .chain(self.config.extra_audiences.iter().map(String::as_str))
                .collect(),
        }
    }

    /// The audiences of a token for `resources` (the request's `resource` parameters), or
    /// `None` when it names none (the server's default audience). `servers` are asked, for a
    /// resource this server does not issue for, which one does (for the description only).
    pub fn resolve(
        &self,
        resources: &[String],
        servers: &Servers,
    ) -> Result<Option<Audience>, OAuthError> {
        if resources.len() > MAX_RESOURCES {
            return Err(OAuthError::invalid_target(format!(
                "{} resources were named; at most {MAX_RESOURCES} may be (RFC 8707 §2)",
                resources.len()
            )));
        }
        let audiences = self.audiences();
        let mut resolved = Vec::with_capacity(resources.len());
        for resource in resources {
            well_formed(resource)?;
            resolved.push(self.audience_of(resource, &audiences, servers)?);
        }
        Ok(Audience::of(resolved))
    }

    /// The audience `resource` stands for at this server.
    fn audience_of(
        &self,
        resource: &str,
        audiences: &[&str],
        servers: &Servers,
    ) -> Result<String, OAuthError> {
        if audiences.contains(&resource) {
            return Ok(resource.to_owned());
        }
        // The admin API accepts the root issuer's tokens only.
        let api = api_named(self.config, resource)
            .filter(|api| *api == Resource::Api || self.server.stored.is_none());
        let api_audience = self.config.audience.as_str();
        if api.is_some() && audiences.contains(&api_audience) {
            return Ok(api_audience.to_owned());
        }
        let who = match self.server.id() {
            Some(id) => format!("authorization server {id}"),
            None => "this issuer".to_owned(),
        };
        let mut description = format!(
            "{who} does not issue access tokens for resource {}; it issues them for {}",
            clip(resource),
            audiences.join(", ")
        );
        if audiences.contains(&api_audience) {
            description.push_str(&format!(
                " (the API at {} is {api_audience})",
                self.config.endpoint("/api")
            ));
        }
        let wanted = if api.is_some() {
            api_audience
        } else {
            resource
        };
        let elsewhere: Vec<String> = servers
            .issuers_for(wanted)
            .into_iter()
            .filter(|issuer| *issuer != self.server.issuer)
            .collect();
        if !elsewhere.is_empty() {
            description.push_str(&format!(
                "; the authorization servers {} do",
                elsewhere.join(", ")
            ));
        }
        Err(OAuthError::invalid_target(description).because(
            Why::check("audience")
                .expected(format!(
                    "a resource {who} issues tokens for: {}",
                    audiences.join(", ")
                ))
                .got(clip(resource))
                .remedy(
                    "name one of those resources (resource=…), or ask the authorization server \
                     that issues tokens for this one",
                ),
        ))
    }
}

/// RFC 8707 §2: "an absolute URI ... MUST NOT include a fragment component".
fn well_formed(resource: &str) -> Result<(), OAuthError> {
    let ok = resource.len() <= MAX_RESOURCE_LEN
        && resource.bytes().all(|b| b.is_ascii_graphic())
        && url::Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
    if ok {
        Ok(())
    } else {
        Err(OAuthError::invalid_target(format!(
            "resource {} is not an absolute URI without a fragment, of at most \
             {MAX_RESOURCE_LEN} characters (RFC 8707 §2), e.g. api://default or \
             https://api.example.com",
            clip(resource)
        ))
        .because(
            Why::check("resource")
                .expected(format!(
                    "an absolute URI without a fragment, at most {MAX_RESOURCE_LEN} characters \
                     (RFC 8707 §2)"
                ))
                .got(clip(resource))
                .remedy("send the resource as an absolute URI, e.g. api://default"),
        ))
    }
}

/// A resource as a description shows it: quoted, and cut short.
fn clip(resource: &str) -> String {
    const SHOWN: usize = 100;
    match resource.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}…", &resource[..end]),
        None => format!("{resource:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;
    use shared::oauth::ErrorCode;

    fn strings(all: &[&str]) -> Vec<String> {
        all.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn the_root_issuer_takes_its_audience_and_the_api_identifiers() {
        let (state, _dir) = demo_state(&[]).await;
        let target = Target::new(&state.config, &state.root);
        let api = state.config.endpoint("/api");
        assert_eq!(target.resolve(&[], &state.servers).unwrap(), None);
        for named in [
            vec!["api://default"],
            vec![api.as_str()],
            vec![&format!("{api}/orders")],
            vec![&format!("{api}?kind=x"), "api://default"],
            vec![&state.config.endpoint("/admin/users")],
        ] {
            let resolved = target.resolve(&strings(&named), &state.servers).unwrap();
            assert_eq!(resolved, Some(Audience::one("api://default")), "{named:?}");
        }
        for (named, says) in [
            (
                "https://evil.example/api",
                "this issuer does not issue access tokens for resource \"https://evil.example/api\"; it issues them for api://default (the API at",
            ),
            ("api", "resource \"api\" is not an absolute URI"),
            ("https://api.example/#x", "without a fragment"),
            (&format!("{api}ary"), "does not issue"),
            (&format!("{api}/../admin/users"), "does not issue"),
            (&format!("{api}/%2e%2e/admin"), "does not issue"),
            (
                &format!("https://x/{}", "a".repeat(600)),
                "at most 512 characters",
            ),
        ] {
            let e = target
                .resolve(&[named.to_owned()], &state.servers)
                .err()
                .unwrap();
            assert_eq!(e.code, ErrorCode::InvalidTarget, "{named}");
            assert!(e.description.contains(says), "{named}: {}", e.description);
        }
        let many = vec!["api://default".to_owned(); MAX_RESOURCES + 1];
        let e = target.resolve(&many, &state.servers).err().unwrap();
        assert!(e.description.contains("at most 5"), "{}", e.description);
    }
}

//! Scopes, as RFC 6749 §3.3 defines them: a space-delimited, order-free set of scope tokens.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Ask for an ID token: the request is an OpenID Connect one (OpenID Connect Core §3.1.2.1).
/// Only a grant with an end-user has one.
pub const OPENID: &str = "openid";
/// Ask for a refresh token (OpenID Connect Core §11), so the grant outlives the access token.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Read the product catalogue.
pub const PRODUCTS_READ: &str = "products:read";
/// Read the caller's own orders.
pub const ORDERS_READ: &str = "orders:read";
/// Place orders.
pub const ORDERS_WRITE: &str = "orders:write";
/// Use the admin API (`/admin/*`). Granted only to users with the admin role, whatever the
/// client asks for.
pub const ADMIN: &str = "admin";
/// OpenID Connect's scopes (Core §5.4, §11): every custom authorization server offers them,
/// beside its own.
pub const OPENID_SCOPES: [&str; 4] = [OPENID, "profile", "email", OFFLINE_ACCESS];
/// Scopes the server gives a meaning to: they can be described in the admin API, not deleted.
pub const BUILTIN: [&str; 8] = [
    OPENID,
    "profile",
    "email",
    OFFLINE_ACCESS,
    PRODUCTS_READ,
    ORDERS_READ,
    ORDERS_WRITE,
    ADMIN,
];

/// A set of scope tokens. Kept sorted so that the same set always prints the same way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

/// Why a `scope` string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
    InvalidCharacter(String),
    /// More than [`ScopeSet::MAX_TOKENS`] tokens, or a token longer than [`ScopeSet::MAX_TOKEN_LEN`].
    TooLong,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCharacter(token) => write!(
                f,
                "scope token {token:?} contains a character that RFC 6749 §3.3 does not allow \
                 (scopes are separated by single spaces and may not contain '\"' or '\\')"
            ),
            Self::TooLong => write!(
                f,
                "scope is too long (at most {} tokens of at most {} characters)",
                ScopeSet::MAX_TOKENS,
                ScopeSet::MAX_TOKEN_LEN
            ),
        }
    }
}

impl std::error::Error for ScopeError {}

impl ScopeSet {
    /// Far more than any client needs; bounds the work a hostile request can cause.
    pub const MAX_TOKENS: usize = 64;
    pub const MAX_TOKEN_LEN: usize = 128;

    /// Parses a `scope` parameter. Tokens are separated by one or more spaces (RFC 6749 §3.3
    /// says one; being lenient about runs of spaces costs nothing and helps hand-typed requests).
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            if token.len() > Self::MAX_TOKEN_LEN {
                return Err(ScopeError::TooLong);
            }
            if !token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
            {
                return Err(ScopeError::InvalidCharacter(token.to_owned()));
            }
            set.insert(token.to_owned());
            if set.len() > Self::MAX_TOKENS {
                return Err(ScopeError::TooLong);
            }
        }
        Ok(Self(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Takes `scope` out of the set; says whether it was there.
    pub fn remove(&mut self, scope: &str) -> bool {
        self.0.remove(scope)
    }

    /// The tokens of `self` that `other` lacks.
    pub fn difference<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = ScopeError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl<'a> FromIterator<&'a str> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        Self(iter.into_iter().map(str::to_owned).collect())
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// On the wire a scope set is one space-separated string (RFC 6749 §3.3).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ScopeSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Scope tokens separated by single spaces (RFC 6749 §3.3), e.g. \"openid products:read\"",
            ))
            .examples(["products:read orders:read"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ScopeSet {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_dedups() {
        let set = ScopeSet::parse("orders:read  products:read orders:read").unwrap();
        assert_eq!(set.to_string(), "orders:read products:read");
        assert!(set.contains("products:read"));
        assert!(!set.contains("orders:write"));
    }

    #[test]
    fn empty_is_empty() {
        assert!(ScopeSet::parse("").unwrap().is_empty());
        assert!(ScopeSet::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn refuses_characters_outside_the_grammar() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "a\tb", "a\nb", "\u{7f}"] {
            assert!(
                matches!(ScopeSet::parse(bad), Err(ScopeError::InvalidCharacter(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_oversized_input() {
        assert_eq!(ScopeSet::parse(&"a".repeat(129)), Err(ScopeError::TooLong));
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert_eq!(ScopeSet::parse(&many.join(" ")), Err(ScopeError::TooLong));
    }

    #[test]
    fn subset_and_difference() {
        let granted = ScopeSet::parse("a b c").unwrap();
        let asked = ScopeSet::parse("b d").unwrap();
        assert!(!asked.is_subset(&granted));
        assert_eq!(asked.difference(&granted).collect::<Vec<_>>(), ["d"]);
    }
}

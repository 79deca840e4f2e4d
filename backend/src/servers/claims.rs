//! Custom claims: what an authorization server adds to its tokens beyond the claims it sets
//! itself, each when any of its scopes is granted, or always; a constant, or an attribute of
//! the logged-in user (one every user has, or a custom one, which a user may lack: then the
//! claim is left out); in the access token, the ID token, or both.

use std::collections::BTreeMap;

use shared::scope::ScopeSet;

use crate::storage::{ClaimValue, StoredClaim, User};

/// The two tokens a claim can go into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    Access,
    Id,
}

/// The custom claims the `carrier` token of a grant with `scope` carries, by name, for `user`
/// (`None`: a client acting for itself, whose tokens leave out the claims with a user's
/// attribute). A stored claim whose name is not a custom claim's (a row written by hand, or a
/// name reserved since) is never carried: it would repeat, or stand for, a claim the server
/// sets itself.
pub fn carried(
    claims: &[StoredClaim],
    scope: &ScopeSet,
    user: Option<&User>,
    carrier: Carrier,
) -> BTreeMap<String, serde_json::Value> {
    claims
        .iter()
        .filter(|claim| match carrier {
            Carrier::Access => claim.token.in_access(),
            Carrier::Id => claim.token.in_id(),
        })
        .filter(|claim| {
            let allowed = shared::admin::check_claim_name(&claim.name).is_ok();
            if !allowed {
                tracing::warn!(claim = %claim.name, "a stored custom claim has a reserved name; left out");
            }
            allowed
        })
        .filter(|claim| {
            claim
                .scopes
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|s| scope.contains(s)))
        })
        .filter_map(|claim| {
            let value = match &claim.value {
                ClaimValue::Constant(value) => value.clone(),
                ClaimValue::User(attribute) => user?.attribute(*attribute),
                ClaimValue::Custom(name) => user?.custom_attribute(name)?,
            };
            Some((claim.name.clone(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared::admin::{ClaimToken, UserAttribute};

    use super::*;

    #[test]
    fn a_claim_comes_with_any_of_its_scopes_or_always() {
        let claim = |name: &str, scopes: Option<&str>, value| StoredClaim {
            name: name.into(),
            scopes: scopes.map(|s| ScopeSet::parse(s).unwrap()),
            value: ClaimValue::Constant(value),
            token: Default::default(),
        };
        let claims = [
            claim("tier", None, json!("gold")),
            claim(
                "region",
                Some("orders:read orders:write"),
                json!(["eu", "us"]),
            ),
            claim("limit", Some("reports:read"), json!(100)),
        ];
        let scope = ScopeSet::parse("orders:write products:read").unwrap();
        assert_eq!(
            carried(&claims, &scope, None, Carrier::Access),
            BTreeMap::from([
                ("region".to_owned(), json!(["eu", "us"])),
                ("tier".to_owned(), json!("gold")),
            ])
        );
        assert_eq!(carried(&[], &scope, None, Carrier::Access), BTreeMap::new());
        // A reserved name stored by other means is never carried.
        let forged = [
            claim("Sub", None, json!("someone-else")),
            claim("tier", None, json!(1)),
        ];
        assert_eq!(
            carried(&forged, &scope, None, Carrier::Access),
            BTreeMap::from([("tier".to_owned(), json!(1))])
        );

        // A user's attribute, in the tokens with a user only; each claim in the tokens it names.
        let user = User {
            id: "usr_1".into(),
            username: "ada".into(),
            name: "Ada L.".into(),
            email: "ada@example.com".into(),
            password_hash: String::new(),
            disabled: false,
            role: shared::admin::Role::Admin,
            groups: crate::storage::Spaced(vec!["eu".into(), "staff".into()]),
            attributes: crate::storage::Attributes(
                [("department".to_owned(), "R&D".to_owned())].into(),
            ),
            created_at: crate::clock::Timestamp::from_unix(0),
        };
        let of = |name: &str, attribute, token| StoredClaim {
            name: name.into(),
            scopes: None,
            value: ClaimValue::User(attribute),
            token,
        };
        let from_user = [
            of("login", UserAttribute::Username, ClaimToken::Both),
            of("mail", UserAttribute::Email, ClaimToken::Id),
            of("staff_role", UserAttribute::Role, ClaimToken::Access),
            of("teams", UserAttribute::Groups, ClaimToken::Access),
        ];
        let custom = |name: &str, attribute: &str| StoredClaim {
            name: name.into(),
            scopes: None,
            value: ClaimValue::Custom(attribute.into()),
            token: ClaimToken::Access,
        };
        let from_user = [
            from_user.as_slice(),
            // A claim names the attribute in any letter case; one the user lacks is left out.
            &[custom("dept", "Department"), custom("cost", "cost_center")],
        ]
        .concat();
        assert_eq!(
            carried(&from_user, &scope, Some(&user), Carrier::Access),
            BTreeMap::from([
                ("dept".to_owned(), json!("R&D")),
                ("login".to_owned(), json!("ada")),
                ("staff_role".to_owned(), json!("admin")),
                ("teams".to_owned(), json!(["eu", "staff"])),
            ])
        );
        assert_eq!(
            carried(&from_user, &scope, Some(&user), Carrier::Id),
            BTreeMap::from([
                ("login".to_owned(), json!("ada")),
                ("mail".to_owned(), json!("ada@example.com")),
            ])
        );
        assert!(carried(&from_user, &scope, None, Carrier::Access).is_empty());
    }
}

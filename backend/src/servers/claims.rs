//! Custom claims: what an authorization server adds to its access tokens beyond the claims it
//! sets itself, each when any of its scopes is granted, or always.

use std::collections::BTreeMap;

use shared::scope::ScopeSet;

use crate::storage::StoredClaim;

/// The custom claims a token granted `scope` carries, by name. A stored claim whose name is not
/// a custom claim's (a row written by hand, or a name reserved since) is never carried: it
/// would repeat, or stand for, a claim the server sets itself.
pub fn carried(claims: &[StoredClaim], scope: &ScopeSet) -> BTreeMap<String, serde_json::Value> {
    claims
        .iter()
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
        .map(|claim| (claim.name.clone(), claim.value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_claim_comes_with_any_of_its_scopes_or_always() {
        let claim = |name: &str, scopes: Option<&str>, value| StoredClaim {
            name: name.into(),
            scopes: scopes.map(|s| ScopeSet::parse(s).unwrap()),
            value,
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
            carried(&claims, &scope),
            BTreeMap::from([
                ("region".to_owned(), json!(["eu", "us"])),
                ("tier".to_owned(), json!("gold")),
            ])
        );
        assert_eq!(carried(&[], &scope), BTreeMap::new());
        // A reserved name stored by other means is never carried.
        let forged = [
            claim("Sub", None, json!("someone-else")),
            claim("tier", None, json!(1)),
        ];
        assert_eq!(
            carried(&forged, &scope),
            BTreeMap::from([("tier".to_owned(), json!(1))])
        );
    }
}

//! Access policies (Okta's term): which token requests an authorization server allows, and the
//! lifetimes of what it issues.
//!
//! A server holds ordered policies, each for some clients (or all of them), each with ordered
//! rules matching the grant type, the user's role and groups (grants with a user only), the
//! requested scopes (an allow rule when it lists every one, a deny rule when it lists any) and
//! the audiences the token would be for (RFC 8707 resource indicators: the same way, and an
//! allow rule matches several at once only when it says so). The policies that apply to the
//! client are tried in order, and in each its rules in order: the first rule that matches
//! decides, allow (with its lifetimes) or deny. A request that no rule matches is refused, and
//! the refusal names what decided, or what came closest.

use shared::admin::{Role, RuleDecision};
use shared::oauth::{Audience, GrantType};
use shared::scope::ScopeSet;

use crate::storage::{Lifetimes, LoginOrigin, StoredPolicy, StoredRule};

/// What a token request asks, as the policies see it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The authorization server's id, for the descriptions.
    pub server: &'a str,
    pub client_id: &'a str,
    pub grant_type: GrantType,
    /// For a refresh, the grant its login came from (`authorization_code` or the device
    /// grant).
    pub refreshes: Option<LoginOrigin>,
    /// The user's role, in a grant with a user; `None` for client credentials.
    pub role: Option<Role>,
    /// The user's groups, in a grant with a user; empty for client credentials.
    pub groups: &'a [String],
    /// The scopes that would be granted.
    pub scope: &'a ScopeSet,
    /// The audiences the token would be for: the requested resources, else the server's
    /// default audience.
    pub audiences: &'a Audience,
}

/// A request a rule allowed: which one, and the lifetimes it sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub policy: String,
    pub rule: String,
    /// Each `None` is the server-wide default.
    pub lifetimes: Lifetimes,
    /// Whether a token exchange may impersonate the subject (see [`StoredRule::impersonation`]).
    pub impersonation: bool,
}

/// Why a request was refused, and what to tell the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub why: Why,
    pub description: String,
    /// The policy and rule that denied, for [`Why::Denied`].
    pub by: Option<(String, String)>,
    /// What would have been allowed, against what was asked, and what to do about it: the
    /// event log's explanation ([`Refused::explain`]).
    pub detail: Box<Detail>,
}

/// See [`Refused::detail`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub expected: String,
    pub got: String,
    pub remedy: &'static str,
}

impl Refused {
    /// The refusal as the security event log explains it (see [`crate::refusals`]).
    pub fn explain(&self) -> crate::refusals::Why {
        let check = match self.why {
            Why::Scope => "scope",
            Why::Target => "audience",
            Why::Denied | Why::NoRule => "policy",
        };
        crate::refusals::Why::check(check)
            .expected(self.detail.expected.clone())
            .got(self.detail.got.clone())
            .remedy(self.detail.remedy)
    }
}

/// The kinds of refusal, which the endpoints answer with different RFC error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// A deny rule matched (`unauthorized_client` at the token endpoint, `access_denied` at
    /// the authorization endpoint).
    Denied,
    /// Some allow rule matched the grant and the user but not every requested scope
    /// (`invalid_scope`).
    Scope,
    /// Some allow rule matched all but the audiences: one it does not list, or several where
    /// it allows one (`invalid_target`, RFC 8707 §2).
    Target,
    /// No policy applies to the client, or none of their rules matched the grant and the user
    /// (`unauthorized_client`).
    NoRule,
}

impl Why {
    /// The error the authorization endpoint answers a login refused for this reason (RFC 6749
    /// §4.1.2.1; RFC 8707 §2 for `invalid_target`).
    pub fn authorization_error(self) -> shared::oauth::ErrorCode {
        use shared::oauth::ErrorCode;
        match self {
            Self::Scope => ErrorCode::InvalidScope,
            Self::Target => ErrorCode::InvalidTarget,
            Self::Denied => ErrorCode::AccessDenied,
            Self::NoRule => ErrorCode::UnauthorizedClient,
        }
    }
}

impl StoredPolicy {
    fn applies_to(&self, client_id: &str) -> bool {
        self.clients.is_empty() || self.clients.iter().any(|c| c == client_id)
    }
}

impl StoredRule {
    /// Whether it matches the grant type and the user, scopes aside. A refresh continues the
    /// login that began with a code or a device code: it is matched by the rules for
    /// `refresh_token` and by those for the grant its login came from, and no other (a rule
    /// for the device grant alone does not cover the refreshes of a browser login). A login
    /// whose origin was not recorded is matched by a rule for either.
    fn matches_grant(&self, request: &Request<'_>) -> bool {
        let grant = self.grant_types.is_empty()
            || self.grant_types.contains(&request.grant_type)
            || request.grant_type == GrantType::RefreshToken
                && request.refreshes.is_some_and(|origin| match origin {
                    LoginOrigin::Grant(origin) => self.grant_types.contains(&origin),
                    LoginOrigin::Unrecorded => {
                        self.grant_types.iter().any(|grant| grant.logs_users_in())
                    }
                });
        let role = self.roles.is_empty() || request.role.is_some_and(|r| self.roles.contains(&r));
        // Like roles, groups match a user only (client credentials have none).
        let group = self.groups.is_empty()
            || request.role.is_some() && self.groups.iter().any(|g| request.groups.contains(g));
        grant && role && group
    }

    /// Without a scope list, any scopes. An allow rule matches when every requested scope is
    /// in its list (so it never grants more than it lists); a deny rule when any is (so asking
    /// for a denied scope beside others is still denied).
    fn matches_scope(&self, scope: &ScopeSet) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|listed| match self.decision {
                RuleDecision::Allow => scope.is_subset(listed),
                RuleDecision::Deny => scope.iter().any(|s| listed.contains(s)),
            })
    }

    /// The same for audiences; an allow rule matches several only with `several_audiences`.
    /// `Err` says, for an allow rule, what it allows instead.
    fn matches_audiences(&self, audiences: &Audience) -> Result<(), String> {
        let listed = |a: &str| {
            self.audiences
                .as_ref()
                .is_none_or(|l| l.iter().any(|x| x == a))
        };
        match self.decision {
            RuleDecision::Allow => {
                if let Some(listed) = self.audiences.as_ref()
                    && !audiences.iter().all(|a| listed.iter().any(|x| x == a))
                {
                    return Err(format!("allows only audiences {}", listed.join(", ")));
                }
                if audiences.len() > 1 && !self.several_audiences {
                    return Err("allows a token for one audience only".into());
                }
                Ok(())
            }
            RuleDecision::Deny if audiences.iter().any(listed) => Ok(()),
            RuleDecision::Deny => Err(String::new()),
        }
    }
}

/// Decides `request` with `policies` (in order).
pub fn decide(policies: &[StoredPolicy], request: &Request<'_>) -> Result<Allowed, Refused> {
    let grant = request.grant_type.as_str();
    let client = request.client_id;
    let mut applying = Vec::new();
    // Allow rules that matched all but the scopes: named in an `invalid_scope` refusal.
    let mut narrower = Vec::new();
    // Allow rules that matched all but the audiences: named in an `invalid_target` refusal.
    let mut elsewhere = Vec::new();
    for policy in policies.iter().filter(|p| p.applies_to(client)) {
        applying.push(format!("{:?}", policy.name));
        for rule in policy.rules.iter().filter(|r| r.matches_grant(request)) {
            if !rule.matches_scope(request.scope) {
                if let (RuleDecision::Allow, Some(allowed)) = (rule.decision, &rule.scopes) {
                    narrower.push(format!(
                        "policy {:?}, rule {:?} allows only {allowed}",
                        policy.name, rule.name
                    ));
                }
                continue;
            }
            if let Err(instead) = rule.matches_audiences(request.audiences) {
                if rule.decision == RuleDecision::Allow {
                    elsewhere.push(format!(
                        "policy {:?}, rule {:?} {instead}",
                        policy.name, rule.name
                    ));
                }
                continue;
            }
            return match rule.decision {
                RuleDecision::Allow => Ok(Allowed {
                    policy: policy.name.clone(),
                    rule: rule.name.clone(),
                    lifetimes: rule.lifetimes,
                    impersonation: rule.impersonation,
                }),
                RuleDecision::Deny => Err(Refused {
                    why: Why::Denied,
                    by: Some((policy.name.clone(), rule.name.clone())),
                    description: format!(
                        "policy {:?}, rule {:?} of authorization server {} denies the {grant} \
                         grant to client {client:?} (scope {}, audience {})",
                        policy.name, rule.name, request.server, request.scope, request.audiences
                    ),
                    detail: Box::new(Detail {
                        expected: format!(
                            "an allow rule matching the {grant} grant, scope {} and audience \
                             {} before any deny rule",
                            request.scope, request.audiences
                        ),
                        got: format!("policy {:?}, rule {:?} denies it", policy.name, rule.name),
                        remedy: "make a request the deny rule does not match (its scopes, \
                                 grant types, roles, groups or audiences), or have an \
                                 administrator change the rule (Admin, Servers, Policies)",
                    }),
                }),
            };
        }
    }
    let refused = |why, description, expected, got, remedy| {
        Err(Refused {
            why,
            description,
            by: None,
            detail: Box::new(Detail {
                expected,
                got,
                remedy,
            }),
        })
    };
    if applying.is_empty() {
        return refused(
            Why::NoRule,
            format!(
                "no access policy of authorization server {} applies to client {client:?}: \
                 an administrator must assign it to one",
                request.server
            ),
            format!(
                "an access policy of authorization server {} assigned to client {client:?}",
                request.server
            ),
            "no policy applies to the client".to_owned(),
            "have an administrator assign the client to a policy of the server (Admin, \
             Servers, Policies)",
        );
    }
    if !narrower.is_empty() {
        return refused(
            Why::Scope,
            format!(
                "no rule of authorization server {} allows scope {} for the {grant} grant to \
                 client {client:?}: {}",
                request.server,
                request.scope,
                narrower.join("; ")
            ),
            narrower.join("; "),
            format!("scope {}", request.scope),
            "ask for only the scopes a rule allows (the scope parameter), or have an \
             administrator add the scope to a rule",
        );
    }
    if !elsewhere.is_empty() {
        return refused(
            Why::Target,
            format!(
                "no rule of authorization server {} allows a token for {} with the {grant} \
                 grant to client {client:?}: {}",
                request.server,
                request.audiences,
                elsewhere.join("; ")
            ),
            elsewhere.join("; "),
            format!("a token for {}", request.audiences),
            "ask for a resource a rule allows (the resource parameter, RFC 8707), one at a \
             time unless the rule allows several",
        );
    }
    let user = request
        .role
        .map(|r| {
            let groups = match request.groups {
                [] => "in no group".to_owned(),
                groups => format!("in groups {}", groups.join(", ")),
            };
            format!(" and a user with role {r}, {groups}")
        })
        .unwrap_or_default();
    refused(
        Why::NoRule,
        format!(
            "no rule matched the {grant} grant with scope {} for client {client:?}{user} in the \
             policies of authorization server {} that apply to it ({})",
            request.scope,
            request.server,
            applying.join(", ")
        ),
        format!(
            "a rule matching the {grant} grant, scope {}{user}",
            request.scope
        ),
        format!(
            "policies {} apply, and none of their rules matches",
            applying.join(", ")
        ),
        "have an administrator add a rule for this grant, user and scope to one of the \
         policies, or ask for other scopes",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        name: &str,
        grants: &[GrantType],
        scopes: Option<&str>,
        decision: RuleDecision,
    ) -> StoredRule {
        StoredRule {
            name: name.into(),
            grant_types: grants.to_vec(),
            roles: Vec::new(),
            groups: Vec::new(),
            scopes: scopes.map(|s| ScopeSet::parse(s).unwrap()),
            audiences: None,
            several_audiences: false,
            impersonation: false,
            decision,
            lifetimes: Lifetimes::default(),
        }
    }

    fn policy(name: &str, clients: &[&str], rules: Vec<StoredRule>) -> StoredPolicy {
        StoredPolicy {
            name: name.into(),
            description: String::new(),
            clients: clients.iter().map(|c| (*c).to_owned()).collect(),
            rules,
        }
    }

    fn ask<'a>(client_id: &'a str, grant_type: GrantType, scope: &'a ScopeSet) -> Request<'a> {
        Request {
            server: "orders",
            client_id,
            grant_type,
            refreshes: (grant_type == GrantType::RefreshToken)
                .then_some(LoginOrigin::Grant(GrantType::AuthorizationCode)),
            role: None,
            groups: &[],
            scope,
            audiences: &DEFAULT,
        }
    }

    static DEFAULT: std::sync::LazyLock<Audience> =
        std::sync::LazyLock::new(|| Audience::one("api://orders"));

    const CC: GrantType = GrantType::ClientCredentials;
    const CODE: GrantType = GrantType::AuthorizationCode;
    const ALLOW: RuleDecision = RuleDecision::Allow;
    const DENY: RuleDecision = RuleDecision::Deny;

    #[test]
    fn the_first_matching_rule_of_the_first_applying_policy_decides() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let mut short = rule("short", &[CC], None, ALLOW);
        short.lifetimes.access_token_ttl = Some(60);
        let policies = vec![
            policy(
                "batch only",
                &["batch"],
                vec![rule("deny all", &[], None, DENY)],
            ),
            policy(
                "services",
                &[],
                vec![
                    rule("users", &[CODE], None, ALLOW),
                    short,
                    rule("later", &[CC], None, DENY),
                ],
            ),
            policy("never reached", &[], vec![rule("any", &[], None, DENY)]),
        ];
        let allowed = decide(&policies, &ask("svc", CC, &read)).unwrap();
        assert_eq!(
            (allowed.policy.as_str(), allowed.rule.as_str()),
            ("services", "short")
        );
        assert_eq!(allowed.lifetimes.access_token_ttl, Some(60));
        // The client the first policy names is decided by it.
        let denied = decide(&policies, &ask("batch", CC, &read)).unwrap_err();
        assert_eq!(denied.why, Why::Denied);
        assert!(
            denied.description.starts_with(
                "policy \"batch only\", rule \"deny all\" of authorization server orders denies \
                 the client_credentials grant to client \"batch\""
            ),
            "{}",
            denied.description
        );
    }

    #[test]
    fn a_refresh_is_covered_by_the_code_rule_or_decided_by_its_own() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let refresh = GrantType::RefreshToken;
        let code_only = vec![policy(
            "users",
            &[],
            vec![rule("code", &[CODE], None, ALLOW)],
        )];
        assert_eq!(
            decide(&code_only, &ask("spa", refresh, &read))
                .unwrap()
                .rule,
            "code"
        );
        let no_refresh = vec![policy(
            "users",
            &[],
            vec![
                rule("no refresh", &[refresh], None, DENY),
                rule("code", &[CODE], None, ALLOW),
            ],
        )];
        let denied = decide(&no_refresh, &ask("spa", refresh, &read)).unwrap_err();
        assert_eq!(denied.by.unwrap().1, "no refresh");
        assert_eq!(
            decide(&no_refresh, &ask("spa", CODE, &read)).unwrap().rule,
            "code"
        );
        let services = vec![policy("s", &[], vec![rule("cc", &[CC], None, ALLOW)])];
        assert!(decide(&services, &ask("spa", refresh, &read)).is_err());
        // A rule for the device grant covers the refreshes of device logins only.
        let devices = vec![policy(
            "devices",
            &[],
            vec![rule("tv", &[GrantType::DeviceCode], None, ALLOW)],
        )];
        let of_browser = decide(&devices, &ask("spa", refresh, &read)).unwrap_err();
        assert_eq!(of_browser.why, Why::NoRule);
        let of_device = Request {
            refreshes: Some(LoginOrigin::Grant(GrantType::DeviceCode)),
            ..ask("tv", refresh, &read)
        };
        assert_eq!(decide(&devices, &of_device).unwrap().rule, "tv");
        assert!(decide(&code_only, &of_device).is_err());
        // A login stored before origins were: a rule for either grant covers its refreshes.
        let unrecorded = Request {
            refreshes: Some(LoginOrigin::Unrecorded),
            ..ask("tv", refresh, &read)
        };
        assert_eq!(decide(&devices, &unrecorded).unwrap().rule, "tv");
        assert_eq!(decide(&code_only, &unrecorded).unwrap().rule, "code");
        assert!(decide(&services, &unrecorded).is_err());
    }

    #[test]
    fn a_policy_whose_rules_do_not_match_hands_over_to_the_next() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let policies = vec![
            policy("users", &[], vec![rule("code", &[CODE], None, ALLOW)]),
            policy("services", &[], vec![rule("cc", &[CC], None, ALLOW)]),
        ];
        let allowed = decide(&policies, &ask("svc", CC, &read)).unwrap();
        assert_eq!(allowed.policy, "services");
        let none = decide(&policies[..1], &ask("svc", CC, &read)).unwrap_err();
        assert_eq!(none.why, Why::NoRule);
        assert!(
            none.description.starts_with(
                "no rule matched the client_credentials grant with scope orders:read for \
                 client \"svc\" in the policies of authorization server orders that apply to \
                 it (\"users\")"
            ),
            "{}",
            none.description
        );
    }

    #[test]
    fn no_policy_for_the_client_refuses_and_says_so() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let policies = [policy(
            "other",
            &["someone-else"],
            vec![rule("any", &[], None, ALLOW)],
        )];
        for policies in [&policies[..], &[]] {
            let refused = decide(policies, &ask("svc", CC, &read)).unwrap_err();
            assert_eq!(refused.why, Why::NoRule);
            assert!(refused.description.starts_with(
                "no access policy of authorization server orders applies to client \"svc\""
            ));
        }
    }

    #[test]
    fn scopes_must_all_be_allowed_and_a_narrower_rule_is_named() {
        let both = ScopeSet::parse("orders:read orders:write").unwrap();
        let read = ScopeSet::parse("orders:read").unwrap();
        let policies = vec![policy(
            "services",
            &[],
            vec![
                rule("read only", &[CC], Some("orders:read"), ALLOW),
                // A deny rule that does not match is not offered as a way out.
                rule("no admin", &[CC], Some("admin"), DENY),
            ],
        )];
        assert_eq!(
            decide(&policies, &ask("svc", CC, &read)).unwrap().rule,
            "read only"
        );
        let refused = decide(&policies, &ask("svc", CC, &both)).unwrap_err();
        assert_eq!(refused.why, Why::Scope);
        assert_eq!(
            refused.description,
            "no rule of authorization server orders allows scope orders:read orders:write for \
             the client_credentials grant to client \"svc\": policy \"services\", rule \"read \
             only\" allows only orders:read"
        );
    }

    #[test]
    fn a_deny_rule_matches_a_request_for_any_scope_it_lists() {
        let policies = [policy(
            "services",
            &[],
            vec![
                rule("no writes", &[], Some("orders:write"), DENY),
                rule("any", &[], None, ALLOW),
            ],
        )];
        for raw in ["orders:write", "orders:read orders:write"] {
            let scope = ScopeSet::parse(raw).unwrap();
            let refused = decide(&policies, &ask("svc", CC, &scope)).unwrap_err();
            assert_eq!(refused.why, Why::Denied, "{raw}");
            assert_eq!(
                refused.by,
                Some(("services".to_owned(), "no writes".to_owned()))
            );
        }
        let read = ScopeSet::parse("orders:read").unwrap();
        assert_eq!(
            decide(&policies, &ask("svc", CC, &read)).unwrap().rule,
            "any"
        );
    }

    #[test]
    fn roles_match_users_only() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let mut admins = rule("admins", &[], None, ALLOW);
        admins.roles = vec![Role::Admin];
        let policies = vec![policy("p", &[], vec![admins])];
        let mut request = ask("spa", CODE, &read);
        request.role = Some(Role::Admin);
        assert!(decide(&policies, &request).is_ok());
        request.role = Some(Role::User);
        let refused = decide(&policies, &request).unwrap_err();
        assert!(
            refused
                .description
                .contains("and a user with role user, in no group")
        );
        // Client credentials have no user: a rule with roles never matches them.
        assert_eq!(
            decide(&policies, &ask("svc", CC, &read)).unwrap_err().why,
            Why::NoRule
        );
    }

    #[test]
    fn groups_match_users_in_any_of_them() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let mut eu = rule("eu office", &[], None, ALLOW);
        eu.groups = vec!["eu".into(), "emea".into()];
        let policies = vec![policy("p", &[], vec![eu])];
        let mut request = ask("spa", CODE, &read);
        request.role = Some(Role::User);
        let emea = ["emea".to_owned(), "staff".to_owned()];
        request.groups = &emea;
        assert_eq!(decide(&policies, &request).unwrap().rule, "eu office");
        let us = ["us".to_owned()];
        request.groups = &us;
        let refused = decide(&policies, &request).unwrap_err();
        assert!(
            refused
                .description
                .contains("a user with role user, in groups us"),
            "{}",
            refused.description
        );
        request.groups = &[];
        assert_eq!(decide(&policies, &request).unwrap_err().why, Why::NoRule);
        // Nor a client acting for itself, whatever it is called.
        assert_eq!(
            decide(&policies, &ask("eu", CC, &read)).unwrap_err().why,
            Why::NoRule
        );
    }

    #[test]
    fn audiences_are_matched_as_scopes_are_and_several_only_where_a_rule_says_so() {
        let read = ScopeSet::parse("orders:read").unwrap();
        let billing = Audience::one("api://billing");
        let both = Audience::of(["api://orders".to_owned(), "api://billing".into()]).unwrap();
        let mut orders_only = rule("orders only", &[CC], None, ALLOW);
        orders_only.audiences = Some(vec!["api://orders".into()]);
        let policies = vec![policy("services", &[], vec![orders_only.clone()])];
        assert!(decide(&policies, &ask("svc", CC, &read)).is_ok());
        let mut request = ask("svc", CC, &read);
        request.audiences = &billing;
        let refused = decide(&policies, &request).unwrap_err();
        assert_eq!(refused.why, Why::Target);
        assert_eq!(
            refused.description,
            "no rule of authorization server orders allows a token for api://billing with the \
             client_credentials grant to client \"svc\": policy \"services\", rule \"orders \
             only\" allows only audiences api://orders"
        );
        // Several at once: only a rule that says so.
        let any = rule("any", &[CC], None, ALLOW);
        request.audiences = &both;
        let refused = decide(&[policy("p", &[], vec![any.clone()])], &request).unwrap_err();
        assert_eq!(refused.why, Why::Target);
        assert!(
            refused
                .description
                .ends_with("rule \"any\" allows a token for one audience only"),
            "{}",
            refused.description
        );
        let mut several = any;
        several.several_audiences = true;
        assert!(decide(&[policy("p", &[], vec![several.clone()])], &request).is_ok());
        // A deny rule listing an audience denies any request naming it, and no other.
        let mut no_billing = rule("no billing", &[], None, DENY);
        no_billing.audiences = Some(vec!["api://billing".into()]);
        let policies = [policy("p", &[], vec![no_billing, several])];
        let denied = decide(&policies, &request).unwrap_err();
        assert_eq!(denied.why, Why::Denied);
        assert!(
            denied
                .description
                .ends_with("(scope orders:read, audience api://orders, api://billing)")
        );
        assert_eq!(
            decide(&policies, &ask("svc", CC, &read)).unwrap().rule,
            "any"
        );
    }

    #[test]
    fn the_default_policy_allows_everything_with_the_default_lifetimes() {
        let scope = ScopeSet::parse("anything").unwrap();
        let policies = [StoredPolicy::default_policy()];
        for grant in [CC, CODE, GrantType::RefreshToken] {
            let allowed = decide(&policies, &ask("x", grant, &scope)).unwrap();
            assert_eq!(allowed.lifetimes, Lifetimes::default());
            assert_eq!(allowed.rule, "Default Policy Rule");
        }
    }
}

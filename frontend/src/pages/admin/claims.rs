//! A custom server's custom claims: what its tokens carry beyond the claims it sets itself (a
//! constant or the user's attribute, built in or custom, in the access token, the ID token or
//! both), edited as a draft (add, delete) and saved whole (`PUT /admin/servers/{id}/claims`,
//! checked as a whole, 422 naming the claim otherwise).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::Value;
use shared::admin::{
    ClaimToken, CustomClaim, CustomClaims, RESERVED_CLAIMS, UserAttribute, check_claim_name,
};

use super::{DraftList, Pending, checks, loaded};
use crate::admin_api::use_admin_api;

#[component]
pub fn ClaimEditor(server: String) -> impl IntoView {
    let admin = use_admin_api();
    let loaded_server = server.clone();
    let claims = LocalResource::new(move || admin.claims(&loaded_server));
    let testid = format!("claims-{server}");
    view! {
        <div class="claim-editor" data-testid=testid>
            {loaded(
                Some("Loading custom claims…"),
                move || {
                    let server = server.clone();
                    Suspend::new(async move {
                        claims.await.map(|saved| view! { <Draft server initial=saved.claims /> })
                    })
                },
            )}
        </div>
    }
}

#[component]
fn Draft(server: String, initial: Vec<CustomClaim>) -> impl IntoView {
    let admin = use_admin_api();
    let edits = DraftList::new(initial);
    let draft = edits.items;
    let save = {
        let server = server.clone();
        move || {
            let (to, saved_for) = (server.clone(), server.clone());
            edits.save(
                move |claims| async move {
                    let body = CustomClaims { claims };
                    admin.save_claims(&to, body).await.map(|saved| saved.claims)
                },
                move |count| {
                    format!(
                        "Saved {count} custom claims of {saved_for}: its next tokens carry them."
                    )
                },
            );
        }
    };
    let rows = move || {
        draft.with(|claims| {
            claims
                .iter()
                .enumerate()
                .map(|(index, claim)| {
                    let name = claim.name.clone();
                    let scopes = claim
                        .scopes
                        .as_ref()
                        .map_or_else(|| "always".to_owned(), |s| format!("with {s}"));
                    let value = match (&claim.value, claim.user_attribute, &claim.custom_attribute)
                    {
                        (_, Some(attribute), _) => format!("the user's {attribute}"),
                        (_, _, Some(attribute)) => format!("the user's custom {attribute}"),
                        (Some(value), None, None) => value.to_string(),
                        (None, None, None) => String::new(),
                    };
                    let token = match claim.token {
                        ClaimToken::Access => "access token",
                        ClaimToken::Id => "ID token",
                        ClaimToken::Both => "both",
                    };
                    view! {
                        <tr data-testid=format!("claim-{name}")>
                            <td data-label="Claim"><code>{name.clone()}</code></td>
                            <td data-label="When">{scopes}</td>
                            <td data-label="Value"><code>{value}</code></td>
                            <td data-label="In">{token}</td>
                            <td class="actions">
                                <button
                                    type="button"
                                    class="button ghost small"
                                    aria-label=format!("Delete claim {name}")
                                    on:click=move |_| {
                                        edits.edit(|claims| {
                                            claims.remove(index);
                                        });
                                    }
                                >
                                    "Delete"
                                </button>
                            </td>
                        </tr>
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <h4>"Custom claims of " <code>{server}</code></h4>
        <p class="muted small">
            "Added to the server's tokens when any of their scopes is granted, or always: a "
            "constant, or the logged-in user's attribute, built in or custom (left out of a "
            "client's own tokens, and of a user's who lacks that custom attribute). "
            "Reserved names (" {RESERVED_CLAIMS.join(", ")} ", in any letter case) are refused."
        </p>
        <table class="admin-table" aria-label="Custom claims">
            <thead>
                <tr>
                    <th scope="col">"Claim"</th>
                    <th scope="col">"When"</th>
                    <th scope="col">"Value"</th>
                    <th scope="col">"In"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <AddClaim edits />
        {edits.footer("Save claims", save)}
    }
}

#[component]
fn AddClaim(edits: DraftList<CustomClaim>) -> impl IntoView {
    let draft = edits.items;
    let pending = Pending::new();
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    // "" for a constant, CUSTOM for a custom attribute (named in the value field), else the
    // user's attribute.
    let source = RwSignal::new(String::new());
    let token = RwSignal::new(ClaimToken::Access.as_str().to_owned());
    let checked = move || -> Result<CustomClaim, String> {
        let (mut constant, mut user_attribute, mut custom_attribute) = (None, None, None);
        match source.get_untracked().as_str() {
            "" => constant = Some(claim_value(&value.get_untracked())?),
            CUSTOM => custom_attribute = Some(attribute_name(&value.get_untracked())?),
            raw => user_attribute = Some(raw.parse::<UserAttribute>().map_err(|e| e.to_string())?),
        }
        let claim = CustomClaim {
            name: claim_name(&name.get_untracked())?,
            scopes: checks::rule_scopes(&scopes.get_untracked())?,
            value: constant,
            user_attribute,
            custom_attribute,
            token: token
                .get_untracked()
                .parse()
                .map_err(|e: shared::UnknownName| e.to_string())?,
        };
        if draft.with_untracked(|claims| {
            claims
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&claim.name))
        }) {
            return Err(format!("There is a claim named {} already.", claim.name));
        }
        Ok(claim)
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match checked() {
            Ok(claim) => {
                pending.clear();
                edits.edit(|claims| claims.push(claim));
                for field in [name, scopes, value, source] {
                    field.set(String::new());
                }
                token.set(ClaimToken::Access.as_str().to_owned());
            }
            Err(e) => pending.fail(e),
        }
    };
    view! {
        <form class="inline-form editor" aria-label="New claim" novalidate on:submit=submit>
            <div class="form-grid">
                <label class="field">
                    <span>"Claim name"</span>
                    <input type="text" name="name" autocomplete="off" placeholder="tier" bind:value=name />
                </label>
                <label class="field">
                    <span>"With scopes"</span>
                    <input type="text" name="scopes" autocomplete="off" placeholder="empty: always" bind:value=scopes />
                </label>
                <label class="field">
                    <span>"Source"</span>
                    <select name="source" bind:value=source>
                        <option value="">"a constant"</option>
                        {UserAttribute::ALL
                            .map(|a| {
                                view! {
                                    <option value=a.as_str()>{format!("the user's {a}")}</option>
                                }
                            })}
                        <option value=CUSTOM>"a custom attribute of the user"</option>
                    </select>
                </label>
                <label class="field">
                    <span>
                        {move || {
                            if source.with(|s| s == CUSTOM) { "Attribute name" } else { "Value" }
                        }}
                    </span>
                    <input
                        type="text"
                        name="value"
                        autocomplete="off"
                        placeholder=move || {
                            if source.with(|s| s == CUSTOM) {
                                "department"
                            } else {
                                "gold, 42, true or [\"a\", \"b\"]"
                            }
                        }
                        disabled=move || source.with(|s| !s.is_empty() && s != CUSTOM)
                        bind:value=value
                    />
                </label>
                <label class="field">
                    <span>"In"</span>
                    <select name="token" bind:value=token>
                        <option value="access">"the access token"</option>
                        <option value="id">"the ID token"</option>
                        <option value="both">"both"</option>
                    </select>
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button small">"Add claim"</button>
            </div>
        </form>
    }
}

/// The source select's value for a custom attribute (no attribute every user has is named
/// so).
const CUSTOM: &str = "custom";

/// The name of a user's custom attribute, as the server checks it.
fn attribute_name(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    shared::admin::check_attribute_name(value).map_err(|e| crate::api::capitalized(&e))?;
    Ok(value.to_owned())
}

/// A claim's name, as the server checks it.
fn claim_name(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    check_claim_name(value).map_err(|e| crate::api::capitalized(&e))?;
    Ok(value.to_owned())
}

/// What was typed, read as JSON when it is a number, `true`/`false`, a quoted string or a list
/// of strings, and as a plain string otherwise.
fn claim_value(raw: &str) -> Result<Value, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("A claim needs a value.".into());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::String(_))) => Ok(v),
        Ok(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(Value::Array(items)),
        Ok(Value::Array(_) | Value::Object(_) | Value::Null) => {
            Err("A value is a string, a number, true or false, or a list of strings.".into())
        }
        Err(_) => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_read_as_typed_or_as_text() {
        assert_eq!(claim_value("gold"), Ok(json!("gold")));
        assert_eq!(claim_value(" 42 "), Ok(json!(42)));
        assert_eq!(claim_value("true"), Ok(json!(true)));
        assert_eq!(claim_value("\"42\""), Ok(json!("42")));
        assert_eq!(claim_value("[\"eu\", \"us\"]"), Ok(json!(["eu", "us"])));
        for bad in ["", "null", "{\"a\": 1}", "[1, 2]"] {
            assert!(claim_value(bad).is_err(), "{bad:?}");
        }
        assert!(claim_name("sub").is_err());
        assert!(claim_name("Email").is_err());
        assert!(claim_name("a b").is_err());
        assert_eq!(attribute_name(" department ").as_deref(), Ok("department"));
        assert!(attribute_name("email").is_err());
        assert!(attribute_name("").is_err());
        assert_eq!(
            claim_name(" https://example.com/tier ").as_deref(),
            Ok("https://example.com/tier")
        );
    }
}

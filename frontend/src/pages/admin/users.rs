//! `/admin/users`: the accounts that can log in. Create one, disable or enable it, promote or
//! demote it, put it in groups (which access policies' rules match) and give it custom
//! attributes (which custom claims can carry), reset its password.
//! Disabling and resetting end the user's sessions (the server revokes their grants).

use std::collections::BTreeMap;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{MIN_PASSWORD_LEN, NewUser, PasswordReset, Role, User, UserUpdate};

use super::{
    AdminSection, AdminTable, Pending, announce, checks, confirm_action, loaded, row_error,
    row_form, toggle_button, unix_time,
};
use crate::admin_api::use_admin_api;

#[component]
pub fn Users() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let users = LocalResource::new(move || admin.users());
    let reload = Callback::new(move |()| users.refetch());
    view! {
        <AdminSection id="admin-users" title="Users" notice>
            {loaded(
                Some("Loading users…"),
                move || Suspend::new(async move {
                    users.await.map(|users| view! { <UserTable users reload notice /> })
                }),
            )}
            <NewUserForm reload notice />
        </AdminSection>
    }
}

#[component]
fn UserTable(
    users: Vec<User>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|user| view! { <UserRow user reload notice /> })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="Users" columns=USER_COLUMNS>
            {rows}
        </AdminTable>
    }
}

const USER_COLUMNS: &[&str] = &[
    "Username",
    "Name",
    "Email",
    "Role",
    "Groups",
    "Attributes",
    "Status",
    "Created",
    "Actions",
];

#[component]
fn UserRow(user: User, reload: Callback<()>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let resetting = RwSignal::new(false);
    let User {
        id,
        username,
        name,
        email,
        role,
        groups,
        attributes,
        disabled,
        created_at,
    } = user;
    let grouping = RwSignal::new(false);
    let change = {
        let id = id.clone();
        move |update: UserUpdate, done: String| {
            pending.run(admin.update_user(&id, update), move |_| {
                announce(notice, reload, done);
            });
        }
    };

    let status_action = if disabled {
        let change = change.clone();
        let who = username.clone();
        view! {
            <button
                type="button"
                class="button ghost small"
                disabled=move || pending.busy()
                on:click=move |_| {
                    change(
                        UserUpdate {
                            disabled: Some(false),
                            ..UserUpdate::default()
                        },
                        format!("Enabled {who}."),
                    )
                }
            >
                "Enable"
            </button>
        }
        .into_any()
    } else {
        let change = change.clone();
        let who = username.clone();
        confirm_action(
            pending,
            "Disable",
            "Confirm disable",
            format!("Disable {username}? Their sessions end now."),
            move || {
                change(
                    UserUpdate {
                        disabled: Some(true),
                        ..UserUpdate::default()
                    },
                    format!("Disabled {who}; their sessions have ended."),
                )
            },
        )
        .into_any()
    };

    let (role_label, role_confirm, new_role) = match role {
        Role::Admin => ("Make user", "Confirm demotion", Role::User),
        Role::User => ("Make admin", "Confirm promotion", Role::Admin),
    };
    let role_action = {
        let change = change.clone();
        let who = username.clone();
        confirm_action(
            pending,
            role_label,
            role_confirm,
            format!("Make {username} {}?", article(new_role)),
            move || {
                change(
                    UserUpdate {
                        role: Some(new_role),
                        ..UserUpdate::default()
                    },
                    format!("{who} is now {}.", article(new_role)),
                )
            },
        )
    };

    let groups_form = {
        let (username, groups, attributes, change) = (
            username.clone(),
            groups.clone(),
            attributes.clone(),
            change.clone(),
        );
        row_form(grouping, USER_COLUMNS, move || {
            let change = change.clone();
            view! {
                <ProfileForm
                    username=username.clone()
                    groups=groups.clone()
                    attributes=attributes.clone()
                    save=Callback::new(move |(update, done)| change(update, done))
                    on_close=move |()| grouping.set(false)
                />
            }
        })
    };
    let none = || view! { <span class="muted">"none"</span> }.into_any();
    let groups_shown = if groups.is_empty() {
        none()
    } else {
        view! { <code>{groups.join(" ")}</code> }.into_any()
    };
    let attributes_shown = if attributes.is_empty() {
        none()
    } else {
        view! { <code>{attribute_lines(&attributes).replace('\n', " ")}</code> }.into_any()
    };
    let reset_form = {
        let (id, username) = (id.clone(), username.clone());
        row_form(resetting, USER_COLUMNS, move || {
            view! {
                <ResetPassword
                    id=id.clone()
                    username=username.clone()
                    notice
                    on_close=move |()| resetting.set(false)
                />
            }
        })
    };

    view! {
        <tr data-testid=format!("user-{username}") class:disabled=disabled>
            <td data-label="Username">
                <strong>{username.clone()}</strong>
            </td>
            <td data-label="Name">{name}</td>
            <td data-label="Email">{email}</td>
            <td data-label="Role">
                <span class=format!("badge role-{}", role.as_str())>{role.as_str()}</span>
            </td>
            <td data-label="Groups">{groups_shown}</td>
            <td data-label="Attributes">{attributes_shown}</td>
            <td data-label="Status">{if disabled { "Disabled" } else { "Active" }}</td>
            <td data-label="Created">{unix_time(created_at)}</td>
            <td class="actions">
                {status_action} {role_action}
                {toggle_button(grouping, "Groups & attributes")}
                {toggle_button(resetting, "Reset password")}
            </td>
        </tr>
        {groups_form}
        {reset_form}
        {row_error(pending, USER_COLUMNS)}
    }
}

/// The user's groups (which access policies' rules match) and custom attributes (which custom
/// claims can carry), each replaced whole.
#[component]
fn ProfileForm(
    username: String,
    groups: Vec<String>,
    attributes: BTreeMap<String, String>,
    save: Callback<(UserUpdate, String)>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let pending = Pending::new();
    let groups = RwSignal::new(groups.join(" "));
    let attributes = RwSignal::new(attribute_lines(&attributes));
    let submit = {
        let username = username.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let checked = checks::group_list(&groups.get_untracked()).and_then(|groups| {
                Ok((groups, checks::attribute_list(&attributes.get_untracked())?))
            });
            let (groups, attributes) = match checked {
                Ok(checked) => checked,
                Err(e) => return pending.fail(e),
            };
            pending.clear();
            let done = format!(
                "{username} is in {} and has {} now.",
                if groups.is_empty() {
                    "no group".to_owned()
                } else {
                    groups.join(", ")
                },
                match attributes.len() {
                    0 => "no custom attribute".to_owned(),
                    1 => "1 custom attribute".to_owned(),
                    n => format!("{n} custom attributes"),
                }
            );
            let update = UserUpdate {
                groups: Some(groups),
                attributes: Some(attributes),
                ..UserUpdate::default()
            };
            save.run((update, done));
            on_close.run(());
        }
    };
    let label = format!("Groups and attributes of {username}");
    view! {
        <form class="inline-form" aria-label=label novalidate on:submit=submit>
            {groups_field("Groups", "space-separated, such as eu finance", groups)}
            {attributes_field(attributes)}
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button small">"Save groups and attributes"</button>
                <button type="button" class="button ghost small" on:click=move |_| on_close.run(())>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// Custom attributes as the attributes field shows them: `name=value`, one per line.
fn attribute_lines(attributes: &BTreeMap<String, String>) -> String {
    attributes
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A text area of custom attributes (checked by [`checks::attribute_list`]).
fn attributes_field(value: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="field">
            <span>"Custom attributes"</span>
            <textarea
                name="attributes"
                rows="3"
                autocomplete="off"
                placeholder="one name=value per line, such as department=sales"
                bind:value=value
            ></textarea>
        </label>
    }
}

/// A text field of group names (checked by [`checks::group_list`]), here and in rules.
pub fn groups_field(
    label: &'static str,
    placeholder: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input
                type="text"
                name="groups"
                autocomplete="off"
                placeholder=placeholder
                bind:value=value
            />
        </label>
    }
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Admin => "an administrator",
        Role::User => "a regular user",
    }
}

/// The new password is checked first; then a second button confirms, because the reset ends
/// every session of the user.
#[component]
fn ResetPassword(
    id: String,
    username: String,
    notice: RwSignal<Option<String>>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let password = RwSignal::new(String::new());
    let armed = RwSignal::new(false);
    let check = move |ev: SubmitEvent| {
        ev.prevent_default();
        match checks::password(&password.get_untracked()) {
            Ok(_) => {
                pending.clear();
                armed.set(true);
            }
            Err(e) => pending.fail(e),
        }
    };
    let confirm = {
        let username = username.clone();
        move |_| {
            armed.set(false);
            let new_password = match checks::password(&password.get_untracked()) {
                Ok(new_password) => new_password,
                Err(e) => return pending.fail(e),
            };
            let username = username.clone();
            pending.run(
                admin.reset_password(
                    &id,
                    PasswordReset {
                        password: new_password,
                    },
                ),
                move |()| {
                    notice.set(Some(format!(
                        "Reset the password of {username}; their sessions have ended."
                    )));
                    on_close.try_run(());
                },
            );
        }
    };
    let label = format!("Reset the password of {username}");
    view! {
        <form class="inline-form" aria-label=label novalidate on:submit=check>
            <label class="field">
                <span>"New password"</span>
                <input
                    type="password"
                    name="new-password"
                    autocomplete="new-password"
                    bind:value=password
                    on:input=move |_| armed.set(false)
                />
                <small class="muted">{format!("At least {MIN_PASSWORD_LEN} characters.")}</small>
            </label>
            <Show
                when=move || armed.get()
                fallback=move || {
                    view! {
                        <div class="form-actions">
                            <button
                                type="submit"
                                class="button primary small"
                                disabled=move || pending.busy()
                            >
                                "Set new password"
                            </button>
                            <button
                                type="button"
                                class="button ghost small"
                                on:click=move |_| on_close.run(())
                            >
                                "Cancel"
                            </button>
                        </div>
                    }
                }
            >
                <div class="confirm-step" role="group">
                    <span class="confirm-question">
                        "This ends every session of " {username.clone()} "."
                    </span>
                    <button type="button" class="button danger small" on:click=confirm.clone()>
                        "Confirm password reset"
                    </button>
                    <button
                        type="button"
                        class="button ghost small"
                        on:click=move |_| armed.set(false)
                    >
                        "Cancel"
                    </button>
                </div>
            </Show>
            {pending.error_view()}
        </form>
    }
}

#[component]
fn NewUserForm(reload: Callback<()>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let username = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("user".to_owned());
    let groups = RwSignal::new(String::new());
    let attributes = RwSignal::new(String::new());

    let checked = move || -> Result<NewUser, String> {
        Ok(NewUser {
            username: checks::username(&username.get_untracked())?,
            name: checks::name(&name.get_untracked(), "A name")?,
            email: checks::email(&email.get_untracked())?,
            password: checks::password(&password.get_untracked())?,
            role: if role.get_untracked() == "admin" {
                Role::Admin
            } else {
                Role::User
            },
            groups: checks::group_list(&groups.get_untracked())?,
            attributes: checks::attribute_list(&attributes.get_untracked())?,
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let user = match checked() {
            Ok(user) => user,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_user(user), move |user| {
            notice.set(Some(format!(
                "Created {} {}.",
                article(user.role),
                user.username
            )));
            for field in [username, name, email, password, groups, attributes] {
                field.set(String::new());
            }
            role.set("user".into());
            reload.try_run(());
        });
    };

    view! {
        <form class="card admin-form" aria-label="New user" novalidate on:submit=submit>
            <h3>"New user"</h3>
            <div class="form-grid">
                <label class="field">
                    <span>"Username"</span>
                    <input type="text" name="username" autocomplete="off" bind:value=username />
                </label>
                <label class="field">
                    <span>"Full name"</span>
                    <input type="text" name="name" autocomplete="off" bind:value=name />
                </label>
                <label class="field">
                    <span>"Email"</span>
                    <input type="email" name="email" autocomplete="off" bind:value=email />
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input
                        type="password"
                        name="password"
                        autocomplete="new-password"
                        bind:value=password
                    />
                    <small class="muted">{format!("At least {MIN_PASSWORD_LEN} characters.")}</small>
                </label>
                <label class="field">
                    <span>"Role"</span>
                    <select name="role" bind:value=role>
                        <option value="user">"User"</option>
                        <option value="admin">"Administrator"</option>
                    </select>
                </label>
                {groups_field("Groups", "optional, such as eu finance", groups)}
                {attributes_field(attributes)}
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Create user"
                </button>
            </div>
        </form>
    }
}

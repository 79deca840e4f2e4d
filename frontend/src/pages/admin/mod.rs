//! `/admin/*`: the admin console, one file per section, over the admin API
//! ([`crate::admin_api`]).
//!
//! The console needs an access token with the `admin` scope. The app's usual login does not ask
//! for it, so opening the console without it offers a "step-up" login that does, and returns
//! here. The server grants `admin` only to administrators and silently leaves it out for anyone
//! else (RFC 6749 §3.3); after such a login the page says so instead of offering the same login
//! again.
//!
//! Secrets the server hands out once (client secrets, API tokens) live only in a signal of the
//! section that received them: dismissing the box or leaving the section drops them, and they
//! are never written to any storage.

pub mod checks;
pub mod claims;
pub mod clients;
pub mod events;
pub mod issuers;
pub mod keys;
pub mod policies;
pub mod preview;
pub mod registration;
pub mod scopes;
pub mod server_scopes;
pub mod servers;
pub mod tokens;
pub mod users;

use std::collections::BTreeSet;
use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_location;
use shared::scope::ADMIN;

use crate::api::{self, Api, ApiError, Deployment};
use crate::components::{ConfirmButton, Loading, api_errors};
use crate::format;
use crate::oauth;
use crate::refresh::Refresher;
use crate::session::use_session;

/// The frame around every section: the step-up gate and the section tabs.
#[component]
pub fn AdminConsole() -> impl IntoView {
    let session = use_session();
    view! {
        <section class="page admin">
            <header class="page-head">
                <h1>"Admin console"</h1>
                <p class="muted">
                    "Users, clients, scopes, API tokens, authorization servers, trusted issuers, "
                    "signing keys and "
                    "the security log, "
                    "through the admin API (" <code>"/admin/*"</code> ", scope "
                    <code>{ADMIN}</code> ")."
                </p>
            </header>
            <Show when=move || session.has_scope(ADMIN) fallback=StepUp>
                <nav class="tabs" aria-label="Admin sections">
                    <A href="/admin/users">"Users"</A>
                    <A href="/admin/clients">"Clients"</A>
                    <A href="/admin/scopes">"Scopes"</A>
                    <A href="/admin/tokens">"API tokens"</A>
                    <A href="/admin/registration">"Registration"</A>
                    <A href="/admin/servers">"Authorization servers"</A>
                    <A href="/admin/issuers">"Trusted issuers"</A>
                    <A href="/admin/keys">"Signing keys"</A>
                    <A href="/admin/events">"Events"</A>
                </nav>
                <Outlet />
            </Show>
        </section>
    }
}

/// Shown instead of the console while the token lacks `admin`.
#[component]
fn StepUp() -> impl IntoView {
    let session = use_session();
    let refused = move || session.step_up_refused(ADMIN);
    view! {
        <Show when=refused fallback=AskForAdmin>
            <NotAdministrator />
        </Show>
    }
}

#[component]
fn AskForAdmin() -> impl IntoView {
    let session = use_session();
    let why = move || {
        if session.is_logged_in() {
            "Your current access token was issued without the admin scope, which the admin API \
             requires. Sign in again asking for it: the server grants it to administrators only."
        } else {
            "The console calls the admin API, which requires an access token with the admin \
             scope. Sign in with an administrator account."
        }
    };
    view! {
        <div class="card step-up">
            <h2>"The console needs the admin scope"</h2>
            <p>{why}</p>
            <StepUpButton label="Sign in as administrator" class="button primary" />
        </div>
    }
}

/// After a step-up login that did not get `admin`: the account is not an administrator.
#[component]
fn NotAdministrator() -> impl IntoView {
    let session = use_session();
    let api = expect_context::<Api>();
    // The token's `sub` is an opaque id; `/api/me` has the username (with `profile`).
    let username = LocalResource::new(move || {
        let api = api.clone();
        async move { api.me().await.ok().map(|me| me.username) }
    });
    view! {
        <div class="card step-up refused" data-testid="not-admin">
            <Suspense fallback=|| view! { <Loading /> }>
                {move || Suspend::new(async move {
                    let who = username
                        .await
                        .or_else(|| session.claims_untracked().map(|claims| claims.sub))
                        .unwrap_or_default();
                    view! { <h2>"Your account (" {who} ") is not an administrator"</h2> }
                })}
            </Suspense>
            <p>
                "You signed in asking for the admin scope, and the authorization server left it "
                "out of your token because your account does not have the admin role. An "
                "administrator can promote you in the console's Users section."
            </p>
            <StepUpButton label="Sign in as another user" class="button ghost" />
        </div>
    }
}

/// Starts a login that asks for `admin` too and comes back to this page.
#[component]
fn StepUpButton(label: &'static str, class: &'static str) -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let refresher = use_context::<Refresher>();
    let location = use_location();
    let error = RwSignal::new(None::<String>);
    let sign_in = move |_| {
        let here = location.pathname.get_untracked();
        if let Err(e) = oauth::start_admin_step_up(&deployment, &here, refresher) {
            error.set(Some(e.to_string()));
        }
    };
    view! {
        <button class=class on:click=sign_in>
            {label}
        </button>
        {move || error.get().map(|text| view! { <p class="flash error" role="alert">{text}</p> })}
    }
}

/// The state of one form or button that calls the admin API: whether a call is on its way, and
/// what went wrong (the client-side check's sentence or the server's `error_description`).
#[derive(Clone, Copy)]
pub struct Pending {
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

impl Pending {
    pub fn new() -> Self {
        Self {
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// What went wrong last (reactive).
    pub fn error(self) -> Option<String> {
        self.error.get()
    }

    /// A call is on its way (reactive).
    pub fn busy(self) -> bool {
        self.busy.get()
    }

    pub fn fail(self, message: impl Into<String>) {
        self.error.set(Some(message.into()));
    }

    pub fn clear(self) {
        self.error.set(None);
    }

    /// Runs `call` unless one is already on its way; `done` gets the answer, and an error is
    /// shown by [`Self::error_view`]. Nothing happens after the answer when the form is gone (the
    /// user left the section).
    pub fn run<T: 'static>(
        self,
        call: impl Future<Output = Result<T, ApiError>> + 'static,
        done: impl FnOnce(T) + 'static,
    ) {
        self.run_with(call, move |result| result.map(done));
    }

    /// Like [`Self::run`], with the whole result: `handle` returns the error to show, if any.
    pub fn run_with<T: 'static>(
        self,
        call: impl Future<Output = Result<T, ApiError>> + 'static,
        handle: impl FnOnce(Result<T, ApiError>) -> Result<(), ApiError> + 'static,
    ) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        self.error.set(None);
        spawn_local(async move {
            let result = call.await;
            // `try_set` hands the value back when the signal is gone with its form.
            if self.busy.try_set(false).is_some() {
                return;
            }
            if let Err(e) = handle(result) {
                self.error.set(Some(api::capitalized(&e.to_string())));
            }
        });
    }

    /// The error, next to the form.
    pub fn error_view(self) -> impl IntoView {
        move || {
            self.error
                .get()
                .map(|text| view! { <p class="flash error form-error" role="alert">{text}</p> })
        }
    }
}

/// A list the console edits here and saves whole (a server's access policies, its custom
/// claims): the draft, whether it differs from what is stored, the notice of the last save, and
/// the state of the save call.
pub struct DraftList<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    dirty: RwSignal<bool>,
    saved: RwSignal<Option<String>>,
    pub pending: Pending,
}

impl<T: Send + Sync + 'static> Clone for DraftList<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for DraftList<T> {}

impl<T: Clone + PartialEq + Send + Sync + 'static> DraftList<T> {
    pub fn new(stored: Vec<T>) -> Self {
        Self {
            items: RwSignal::new(stored),
            dirty: RwSignal::new(false),
            saved: RwSignal::new(None),
            pending: Pending::new(),
        }
    }

    /// Changes the draft (to be saved).
    pub fn edit(self, edit: impl FnOnce(&mut Vec<T>)) {
        self.items.update(edit);
        self.dirty.set(true);
        self.saved.set(None);
    }

    /// Sends the draft with `call`. What was stored replaces the draft, unless the draft was
    /// edited while saving: those edits stay, still to be saved. `said` words the notice for the
    /// number of items stored.
    pub fn save<F>(
        self,
        call: impl FnOnce(Vec<T>) -> F,
        said: impl FnOnce(usize) -> String + 'static,
    ) where
        F: Future<Output = Result<Vec<T>, ApiError>> + 'static,
    {
        let sent = self.items.get_untracked();
        let answer = call(sent.clone());
        self.pending.run(answer, move |stored| {
            let count = stored.len();
            if self.items.with_untracked(|now| *now == sent) {
                self.items.set(stored);
                self.dirty.set(false);
            }
            self.saved.set(Some(said(count)));
        });
    }

    /// The last save's notice or error, and the button labelled `label` that runs `on_save`
    /// while there is something to save.
    pub fn footer(
        self,
        label: &'static str,
        on_save: impl Fn() + Send + Sync + 'static,
    ) -> impl IntoView {
        view! {
            {move || {
                self.saved
                    .get()
                    .map(|text| view! { <p class="confirmation notice" role="status">{text}</p> })
            }}
            {self.pending.error_view()}
            <div class="form-actions">
                <button
                    type="button"
                    class="button primary"
                    disabled=move || self.pending.busy() || !self.dirty.get()
                    on:click=move |_| on_save()
                >
                    {label}
                </button>
                <Show when=move || self.dirty.get()>
                    <span class="muted small" role="status">"Unsaved changes"</span>
                </Show>
            </div>
        }
    }
}

/// One section of the console: its heading (`id` labels the section), an optional intro, the
/// success notice when it has one, then `children`.
#[component]
pub fn AdminSection(
    id: &'static str,
    title: &'static str,
    /// A paragraph under the heading.
    #[prop(optional, into)]
    intro: ViewFn,
    #[prop(optional)] notice: Option<RwSignal<Option<String>>>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="admin-section" aria-labelledby=id>
            <h2 id=id>{title}</h2>
            {intro.run()}
            {notice.map(notice_view)}
            {children()}
        </section>
    }
}

/// What the admin API answers, shown by `content` (a `Suspend` over the resources): a spinner
/// saying `loading` (the default one for `None`) until then, and the errors instead if it failed.
pub fn loaded(loading: Option<&'static str>, content: impl IntoView + 'static) -> impl IntoView {
    let fallback = move || match loading {
        Some(text) => view! { <Loading text /> }.into_any(),
        None => view! { <Loading /> }.into_any(),
    };
    view! {
        <Transition fallback>
            <ErrorBoundary fallback=api_errors>{content}</ErrorBoundary>
        </Transition>
    }
}

/// A table of a section, one column per header; its rows are `children`.
#[component]
pub fn AdminTable(
    /// The table's accessible name.
    label: &'static str,
    columns: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <div class="card table-card">
            <crate::components::Table class="admin-table" label columns>
                {children()}
            </crate::components::Table>
        </div>
    }
}

/// A table row across all `columns` under a row of an [`AdminTable`] (an editor, an error).
fn full_row(
    class: &'static str,
    columns: &'static [&'static str],
    content: impl IntoView,
) -> impl IntoView {
    view! {
        <tr class=class>
            <td colspan=columns.len().to_string()>{content}</td>
        </tr>
    }
}

/// A row's button that opens and closes the form under it ([`row_form`]).
pub fn toggle_button(open: RwSignal<bool>, label: &'static str) -> impl IntoView {
    toggle_button_of(open, label, None)
}

/// [`toggle_button`], named "`label` of `of`" for assistive technologies when several rows
/// have the same button.
pub fn toggle_button_of(
    open: RwSignal<bool>,
    label: &'static str,
    of: Option<&str>,
) -> impl IntoView + use<> {
    let name = of.map(|of| format!("{label} of {of}"));
    view! {
        <button
            type="button"
            class="button ghost small"
            aria-label=name
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|open| *open = !*open)
        >
            {label}
        </button>
    }
}

/// The form `form` makes (an editor), under a row and across all `columns`, while `open`.
pub fn row_form<V: IntoView + 'static>(
    open: RwSignal<bool>,
    columns: &'static [&'static str],
    form: impl Fn() -> V + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let row = move || full_row("row-form", columns, form());
    view! { <Show when=move || open.get()>{row.clone()}</Show> }
}

/// The error of a row's last call, in a row of its own under it.
pub fn row_error(pending: Pending, columns: &'static [&'static str]) -> impl IntoView {
    move || {
        pending.error().map(|text| {
            full_row(
                "row-error",
                columns,
                view! { <p class="flash error" role="alert">{text}</p> },
            )
        })
    }
}

/// A [`ConfirmButton`] for an action of a row, disabled while `pending` has a call on its way.
pub fn confirm_action(
    pending: Pending,
    label: &'static str,
    confirm: &'static str,
    question: String,
    on_confirm: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <ConfirmButton
            label
            confirm
            question
            disabled=Signal::derive(move || pending.busy())
            on_confirm=move |()| on_confirm()
        />
    }
}

/// After a call that changed a listed item: says `text` at the top of the section and reloads
/// its list.
pub fn announce(notice: RwSignal<Option<String>>, reload: Callback<()>, text: String) {
    notice.set(Some(text));
    reload.try_run(());
}

/// A success message at the top of a section ("Created user alice.").
pub fn notice_view(notice: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        notice.get().map(|text| {
            view! {
                <div class="confirmation notice" role="status">
                    <span>{text}</span>
                    <button
                        type="button"
                        class="dismiss"
                        aria-label="Dismiss"
                        on:click=move |_| notice.set(None)
                    >
                        "×"
                    </button>
                </div>
            }
        })
    }
}

/// A checkbox per name (scopes, grant types), in a fieldset; `selected` holds the checked ones.
#[component]
pub fn CheckList(
    #[prop(into)] legend: String,
    names: Vec<String>,
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let boxes = names
        .into_iter()
        .map(|name| {
            let key = name.clone();
            let toggled = name.clone();
            view! {
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || selected.with(|set| set.contains(&key))
                        on:change:target=move |ev| {
                            let checked = ev.target().checked();
                            selected
                                .update(|set| {
                                    if checked {
                                        set.insert(toggled.clone());
                                    } else {
                                        set.remove(&toggled);
                                    }
                                });
                        }
                    />
                    <span>{name}</span>
                </label>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <fieldset class="checks">
            <legend>{legend}</legend>
            {boxes}
        </fieldset>
    }
}

/// A Unix time from the admin API, in the reader's time zone.
pub fn unix_time(seconds: i64) -> impl IntoView {
    let ms = seconds as f64 * 1000.0;
    view! { <time datetime=format::iso_time_ms(ms)>{format::local_time_ms(ms)}</time> }
}

/// An optional Unix time, or a dash.
pub fn maybe_time(seconds: Option<i64>) -> AnyView {
    match seconds {
        Some(seconds) => unix_time(seconds).into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

/// Scopes (or grant types) as chips.
pub fn scope_chips<'a>(scopes: impl IntoIterator<Item = &'a str>) -> AnyView {
    let chips = scopes
        .into_iter()
        .map(|scope| view! { <li class="chip">{scope.to_owned()}</li> })
        .collect::<Vec<_>>();
    view! { <ul class="chips">{chips}</ul> }.into_any()
}

//! `/admin/events[?request_id=ID]`: the security event log, newest first, filtered by kind,
//! user, client, request id, start time and number; a refusal shows its explanation.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shared::admin::{Event, EventKind, MAX_EVENTS};

use super::{AdminSection, AdminTable, Pending, checks, loaded, unix_time};
use crate::admin_api::{EventFilter, use_admin_api};
use crate::components::Explained;

const DEFAULT_LIMIT: i64 = 100;

#[component]
pub fn Events() -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    // A link from elsewhere may name the request to look at.
    let asked = use_query_map()
        .with_untracked(|q| q.get("request_id"))
        .unwrap_or_default();
    let filter = RwSignal::new(EventFilter {
        limit: Some(DEFAULT_LIMIT),
        request_id: asked.clone(),
        ..EventFilter::default()
    });
    let events = LocalResource::new(move || filter.with(|filter| admin.events(filter)));

    let kind = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let client = RwSignal::new(String::new());
    let request_id = RwSignal::new(asked);
    let since = RwSignal::new(String::new());
    let limit = RwSignal::new(DEFAULT_LIMIT.to_string());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (since, limit) = match (
            local_time(&since.get_untracked()),
            checks::event_limit(&limit.get_untracked()),
        ) {
            (Ok(since), Ok(limit)) => (since, limit),
            (Err(e), _) | (_, Err(e)) => return pending.fail(e),
        };
        pending.clear();
        let wanted = EventFilter {
            kind: kind.get_untracked(),
            user: user.get_untracked(),
            client: client.get_untracked(),
            request_id: request_id.get_untracked(),
            since,
            limit,
        };
        // A new filter loads by itself; the same one again means "refresh".
        if filter.with_untracked(|current| *current == wanted) {
            events.refetch();
        } else {
            filter.set(wanted);
        }
    };
    // Suggestions for the kind filter: every kind the server logs.
    let kinds = EventKind::ALL
        .iter()
        .map(|kind| view! { <option value=kind.as_str()></option> })
        .collect::<Vec<_>>();

    view! {
        <AdminSection id="admin-events" title="Security events">
            <form class="card admin-form filters" aria-label="Event filters" novalidate on:submit=submit>
                <div class="form-grid">
                    <label class="field">
                        <span>"Kind"</span>
                        <input
                            type="text"
                            name="kind"
                            list="event-kinds"
                            placeholder="any"
                            autocomplete="off"
                            bind:value=kind
                        />
                        <datalist id="event-kinds">{kinds}</datalist>
                    </label>
                    <label class="field">
                        <span>"User id"</span>
                        <input
                            type="text"
                            name="user"
                            placeholder="any"
                            autocomplete="off"
                            bind:value=user
                        />
                    </label>
                    <label class="field">
                        <span>"Client id"</span>
                        <input
                            type="text"
                            name="client"
                            placeholder="any"
                            autocomplete="off"
                            bind:value=client
                        />
                    </label>
                    <label class="field">
                        <span>"Request id"</span>
                        <input
                            type="text"
                            name="request_id"
                            placeholder="any"
                            autocomplete="off"
                            bind:value=request_id
                        />
                    </label>
                    <label class="field">
                        <span>"Since"</span>
                        <input type="datetime-local" name="since" bind:value=since />
                    </label>
                    <label class="field">
                        <span>"At most"</span>
                        <input type="number" name="limit" min="1" max=MAX_EVENTS bind:value=limit />
                    </label>
                </div>
                {pending.error_view()}
                <div class="form-actions">
                    <button type="submit" class="button primary">
                        "Refresh"
                    </button>
                </div>
            </form>
            {loaded(
                Some("Loading events…"),
                move || Suspend::new(async move {
                    events.await.map(|events| view! { <EventTable events /> })
                }),
            )}
        </AdminSection>
    }
}

/// A `datetime-local` value (the reader's time zone) as Unix seconds; empty means no bound.
fn local_time(raw: &str) -> checks::Checked<Option<i64>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    // Without an offset, `Date.parse` reads a date-time as local time, as the field shows it.
    let ms = js_sys::Date::parse(raw);
    if ms.is_nan() {
        Err("The start time is not a date and time.".into())
    } else {
        Ok(Some((ms / 1000.0).floor() as i64))
    }
}

fn or_dash(value: Option<String>) -> AnyView {
    match value {
        Some(value) => view! { <code>{value}</code> }.into_any(),
        None => view! { <span class="muted">"—"</span> }.into_any(),
    }
}

#[component]
fn EventTable(events: Vec<Event>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="card empty">"No events match."</p> }.into_any();
    }
    let count = events.len();
    let rows = events
        .into_iter()
        .map(|event| {
            let detail = match (event.explanation, event.request_id) {
                (Some(explanation), Some(request_id)) => {
                    view! { <Explained request_id explanation /> }.into_any()
                }
                (_, request_id) => view! {
                    {event.detail}
                    {request_id
                        .map(|id| view! { <span class="muted small">" · request " <code>{id}</code></span> })}
                }
                .into_any(),
            };
            view! {
                <tr class="event" data-kind=event.kind.clone()>
                    <td data-label="Time">{unix_time(event.at)}</td>
                    <td data-label="Kind">
                        <code>{event.kind.clone()}</code>
                    </td>
                    <td data-label="User">{or_dash(event.user_id)}</td>
                    <td data-label="Client">{or_dash(event.client_id)}</td>
                    <td data-label="Address">{or_dash(event.address)}</td>
                    <td data-label="Detail">{detail}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <p class="muted small">{format!("{count} events, newest first.")}</p>
        <AdminTable
            label="Security events"
            columns=&["Time", "Kind", "User", "Client", "Address", "Detail"]
        >
            {rows}
        </AdminTable>
    }
    .into_any()
}

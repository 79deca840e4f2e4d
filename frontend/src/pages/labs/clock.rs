//! The clock lab (demo mode): move the server's clock ahead and watch the app recover.

use leptos::prelude::*;
use shared::api::{ClockLab as ClockLabView, ClockMove};

use super::unavailable;
use crate::api::{Api, ApiError};
use crate::components::Loading;
use crate::format::{countdown, local_time_ms};
use crate::timeline;

/// What the clock lab offers: (label, seconds to add, what it shows).
const MOVES: &[(&str, i64, &str)] = &[
    (
        "+16 min",
        16 * 60,
        "past the access token's 15 minutes: the next API call is refused as expired, and the \
         app renews the token with its refresh token and calls again",
    ),
    (
        "+25 h",
        25 * 3600,
        "past the refresh token's idle day too: renewing fails and the app asks you to log in \
         again",
    ),
];

/// The clock lab (demo mode): move the server's clock ahead and watch the app recover.
#[component]
pub(super) fn ClockLab(families: RwSignal<u32>) -> impl IntoView {
    let api = expect_context::<Api>();
    // The clock as last read or moved. A move shows the clock its own answer gives: reading
    // it again would spend the expired token before "Call the API" does.
    let clock = RwSignal::new(None::<Result<ClockLabView, ApiError>>);
    let offset = Memo::new(move |_| {
        clock
            .get()
            .and_then(Result::ok)
            .map_or(0, |clock| clock.offset_secs)
    });
    let loader = api.clone();
    leptos::task::spawn_local(async move {
        let read = loader.get::<ClockLabView>("/api/lab/clock").await;
        clock.try_set(Some(read));
    });
    let busy = RwSignal::new(false);
    let steps = RwSignal::new(None::<(Vec<String>, String)>);
    let mover = api.clone();
    let move_to = move |offset_secs: i64| {
        let api = mover.clone();
        busy.set(true);
        steps.set(None);
        leptos::task::spawn_local(async move {
            let moved = api
                .send_json::<_, ClockLabView>(
                    gloo_net::http::Method::POST,
                    "/api/lab/clock",
                    Some(&ClockMove { offset_secs }),
                )
                .await;
            busy.try_set(false);
            match moved {
                Ok(view) => {
                    clock.try_set(Some(Ok(view)));
                }
                // The clock as last read stays (and so does the offset the next move adds to).
                Err(e) => {
                    steps.try_set(Some((Vec::new(), format!("The clock was not moved: {e}"))));
                }
            }
        });
    };
    let caller = api.clone();
    let call_api = move |_| {
        let api = caller.clone();
        let since = js_sys::Date::now();
        busy.set(true);
        // The outcome of this call only, once it is known.
        steps.set(None);
        leptos::task::spawn_local(async move {
            let answer = match api.me().await {
                Ok(me) => format!("The API answered: {} ({}).", me.name, me.username),
                Err(e) => format!("The call failed: {e}"),
            };
            let happened = timeline::entries_untracked()
                .into_iter()
                .filter(|entry| entry.at_ms >= since)
                .map(|entry| {
                    let path = entry
                        .url
                        .split_once("://")
                        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                        .unwrap_or(entry.url.clone());
                    let status = entry
                        .status
                        .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
                    format!("{} {path} → {status}", entry.method)
                })
                .collect();
            steps.try_set(Some((happened, answer)));
            busy.try_set(false);
            // A renewal extended the chain.
            families.try_update(|n| *n += 1);
        });
    };
    let moves = MOVES
        .iter()
        .map(|(label, secs, what)| {
            let move_to = move_to.clone();
            view! {
                <button
                    type="button"
                    class="button small"
                    title=*what
                    disabled=move || busy.get()
                    on:click=move |_| move_to(offset.get_untracked() + secs)
                >
                    {*label}
                </button>
            }
        })
        .collect_view();
    let reset = move_to.clone();
    view! {
        <h2>"The server's clock"</h2>
        <p class="muted">
            "Every decision of the server reads one clock: token expiry, refresh-token lifetimes, "
            "key rotation, rate limits. Move it ahead (for every instance, and every user of this "
            "demo) and watch what the app does with a token that has expired by the server's "
            "time. The Timeline shows each exchange."
        </p>
        {move || {
                match clock.get() {
                    None => view! { <Loading /> }.into_any(),
                    Some(Ok(view)) => {
                        view! {
                            <dl class="facts" data-testid="server-clock" data-offset=view.offset_secs>
                                <dt>"Server time"</dt>
                                <dd>{local_time_ms(view.server_time as f64 * 1000.0)}</dd>
                                <dt>"This browser's time"</dt>
                                <dd>{local_time_ms(js_sys::Date::now())}</dd>
                                <dt>"Ahead of the system clock"</dt>
                                <dd>
                                    {if view.offset_secs == 0 {
                                        "not moved".to_owned()
                                    } else {
                                        countdown(view.offset_secs)
                                    }}
                                </dd>
                            </dl>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => unavailable(e, "The clock lab", "The server's clock could not be moved or read"),
                }
            }}
        <div class="lab-actions">
            {moves}
            <button
                type="button"
                class="button ghost small"
                data-testid="clock-reset"
                disabled=move || busy.get() || offset.get() == 0
                on:click=move |_| reset(0)
            >
                "Reset"
            </button>
            <button
                type="button"
                class="button primary small"
                data-testid="call-api"
                disabled=move || busy.get()
                on:click=call_api
            >
                "Call the API (GET /api/me)"
            </button>
        </div>
        {move || {
            steps
                .get()
                .map(|(happened, answer)| {
                    let happened = happened
                        .into_iter()
                        .map(|step| view! { <li><code>{step}</code></li> })
                        .collect_view();
                    view! {
                        <div class="card lab-steps" data-testid="call-outcome" role="status">
                            <p>{answer}</p>
                            <ol>{happened}</ol>
                        </div>
                    }
                })
        }}
    }
}

//! The flow as a sequence diagram (SVG): who talks to whom, in order, for the app's mode. The
//! arrows of the exchange shown (the one opened in the list, else the newest) are lit; those
//! of steps this login has been through are drawn solid, the rest faint, so the diagram reads
//! as "where we are" in the flow.

use leptos::prelude::*;
use shared::config::AppMode;

use crate::timeline::Step;

/// One arrow: from one lane to another, what travels, and the timeline step it belongs to
/// (`None`: the browser cannot see it; it is drawn as seen with the step before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Arrow {
    from: usize,
    to: usize,
    label: &'static str,
    step: Step,
}

const fn arrow(from: usize, to: usize, label: &'static str, step: Step) -> Arrow {
    Arrow {
        from,
        to,
        label,
        step,
    }
}

const REST_LANES: &[&str] = &["Browser (this app)", "Authorization server", "API"];
const REST: &[Arrow] = &[
    arrow(
        0,
        1,
        "GET /authorize · code_challenge (S256), state",
        Step::Authorize,
    ),
    arrow(1, 0, "302 /callback · code, state, iss", Step::Callback),
    arrow(0, 1, "POST /token · code + code_verifier", Step::Token),
    arrow(1, 0, "access_token, refresh_token, id_token", Step::Token),
    arrow(
        0,
        2,
        "GET /api/… · Authorization: Bearer (or Token)",
        Step::Api,
    ),
    arrow(2, 0, "200 JSON (401/403: the reason)", Step::Api),
    arrow(0, 1, "POST /token · refresh_token (rotated)", Step::Refresh),
    arrow(0, 1, "POST /revoke · refresh_token", Step::Revoke),
];

const MVC_LANES: &[&str] = &["Browser", "App server (BFF)", "Authorization server", "API"];
const MVC: &[Arrow] = &[
    arrow(0, 1, "GET /bff/login", Step::ServerLogin),
    arrow(
        1,
        2,
        "302 /authorize · code_challenge (S256)",
        Step::ServerLogin,
    ),
    arrow(
        2,
        1,
        "302 /bff/callback · code, state, iss",
        Step::ServerLogin,
    ),
    arrow(
        1,
        2,
        "POST /token · code + code_verifier",
        Step::ServerLogin,
    ),
    arrow(0, 1, "/bff/api/… · cookie + X-CSRF-Token", Step::Server),
    arrow(1, 3, "GET /api/… · Authorization: Bearer", Step::Server),
    arrow(3, 1, "200 JSON", Step::Server),
    arrow(1, 0, "200 JSON (no token)", Step::Server),
];

/// How an arrow is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Look {
    /// The step of the exchange shown.
    Lit,
    /// A step this login has been through.
    Seen,
    /// Not yet.
    Ahead,
}

impl Look {
    fn class(self) -> &'static str {
        match self {
            Self::Lit => "seq-arrow lit",
            Self::Seen => "seq-arrow seen",
            Self::Ahead => "seq-arrow ahead",
        }
    }
}

fn look(arrow: &Arrow, lit: Option<Step>, seen: &[Step]) -> Look {
    if lit == Some(arrow.step) {
        Look::Lit
    } else if seen.contains(&arrow.step) {
        Look::Seen
    } else {
        Look::Ahead
    }
}

fn flow(mode: AppMode) -> (&'static [&'static str], &'static [Arrow]) {
    match mode {
        AppMode::Rest => (REST_LANES, REST),
        AppMode::Mvc => (MVC_LANES, MVC),
    }
}

const WIDTH: f64 = 720.0;
const MARGIN: f64 = 90.0;
const TOP: f64 = 56.0;
const ROW: f64 = 34.0;

/// The diagram for `mode`; `lit` is the step of the exchange shown, `seen` the steps so far.
#[component]
pub fn Sequence(
    mode: AppMode,
    #[prop(into)] lit: Signal<Option<Step>>,
    #[prop(into)] seen: Signal<Vec<Step>>,
) -> impl IntoView {
    let (lanes, arrows) = flow(mode);
    let lane_x =
        move |lane: usize| MARGIN + (WIDTH - 2.0 * MARGIN) * lane as f64 / (lanes.len() - 1) as f64;
    let height = TOP + ROW * arrows.len() as f64 + 16.0;
    let heads = lanes
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let x = lane_x(i);
            view! {
                <rect class="seq-lane" x=x - 78.0 y="8" width="156" height="28" rx="4" />
                <text class="seq-lane-name" x=x y="27" text-anchor="middle">{*name}</text>
                <line class="seq-life" x1=x y1="36" x2=x y2=height - 6.0 />
            }
        })
        .collect_view();
    let rows = arrows
        .iter()
        .enumerate()
        .map(|(i, arrow)| {
            let arrow = *arrow;
            let y = TOP + ROW * i as f64 + 14.0;
            let (x1, x2) = (lane_x(arrow.from), lane_x(arrow.to));
            let toward = if x2 > x1 { -4.0 } else { 4.0 };
            let class = move || look(&arrow, lit.get(), &seen.get()).class();
            let marker = move || match look(&arrow, lit.get(), &seen.get()) {
                Look::Lit => "url(#seq-head-lit)",
                _ => "url(#seq-head)",
            };
            view! {
                <g class=class data-step=format!("{:?}", arrow.step).to_lowercase()>
                    <line x1=x1 y1=y x2=x2 + toward y2=y marker-end=marker />
                    <text x=(x1 + x2) / 2.0 y=y - 6.0 text-anchor="middle">{arrow.label}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="card sequence" data-testid="sequence">
            <svg
                viewBox=format!("0 0 {WIDTH} {height}")
                width="100%"
                role="img"
                aria-label=move || {
                    format!(
                        "The {} flow as a sequence diagram; lit: {}",
                        mode.as_str().to_uppercase(),
                        lit.get().map_or("nothing yet", Step::label),
                    )
                }
            >
                <defs>
                    <marker id="seq-head" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="seq-head" />
                    </marker>
                    <marker id="seq-head-lit" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="seq-head lit" />
                    </marker>
                </defs>
                {heads}
                {rows}
            </svg>
            <figcaption class="muted small">
                "Lit: the exchange you opened below, else the newest. Faint: steps this login has not been through yet."
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_step_is_lit_the_ones_before_seen_the_rest_ahead() {
        let seen = [Step::Authorize, Step::Callback, Step::Token, Step::Api];
        let looks: Vec<Look> = REST
            .iter()
            .map(|a| look(a, Some(Step::Api), &seen))
            .collect();
        use Look::*;
        assert_eq!(
            looks,
            [Seen, Seen, Seen, Seen, Lit, Lit, Ahead, Ahead],
            "the call and its answer lit; refresh and revoke ahead"
        );
    }

    #[test]
    fn every_step_a_mode_records_has_an_arrow() {
        for (mode, steps) in [
            (
                AppMode::Rest,
                &[
                    Step::Authorize,
                    Step::Callback,
                    Step::Token,
                    Step::Refresh,
                    Step::Revoke,
                    Step::Api,
                ][..],
            ),
            (AppMode::Mvc, &[Step::ServerLogin, Step::Server][..]),
        ] {
            let (lanes, arrows) = flow(mode);
            for step in steps {
                assert!(arrows.iter().any(|a| a.step == *step), "{mode:?} {step:?}");
            }
            assert!(
                arrows
                    .iter()
                    .all(|a| a.from < lanes.len() && a.to < lanes.len() && a.from != a.to)
            );
        }
    }
}

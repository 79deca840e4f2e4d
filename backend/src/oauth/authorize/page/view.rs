//! The pages themselves, as Leptos components rendered on the server: the same `view!` markup
//! the app is written in, with the app's look (style/base.css). Nothing here hydrates: the pages
//! carry no script and no hydration data, so the password a person types never meets JavaScript.
//! Text and attribute values are escaped by Leptos's renderer.

use leptos::prelude::*;

/// The pages' one stylesheet: the app's palette, type and buttons, then the pages' layout.
/// Inlined, and allowed by its hash in each page's CSP (see `super::style_source`).
pub const STYLE: &str = concat!(
    include_str!("../../../../../style/base.css"),
    include_str!("page.css")
);

/// Renders a page to a complete document. The component runs inside a reactive owner of its
/// own, dropped with everything it created once the HTML is written.
///
/// Leptos's renderer marks where lists and adjacent text nodes end with empty comments (`<!>`)
/// for the hydration that would follow in the browser. These pages never hydrate, and the marks
/// trip some HTML parsers (the cheerio in Postman's sandbox reads no form after one), so they are
/// taken out. The text `<!>` cannot come from anything else: request values are escaped (`<` is
/// `&lt;`) and the stylesheet holds none (checked by a test).
pub fn render<V: IntoView + 'static>(page: impl FnOnce() -> V) -> String {
    const MARKER: &str = "<!>";
    let owner = Owner::new();
    let html = owner.with(|| page().to_html());
    html.replace(MARKER, "")
}

/// The document around every page: one card in the middle of the screen.
#[component]
fn Shell(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width,initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="robots" content="noindex" />
                <title>{title}</title>
                <style inner_html=STYLE></style>
            </head>
            <body>
                <main class="card">{children()}</main>
            </body>
        </html>
    }
}

/// What a form carries from one step of the authorization to the next.
#[component]
fn HiddenFields(fields: Vec<(&'static str, String)>) -> impl IntoView {
    fields
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view()
}

/// The login form; its answer redirects to the client.
#[component]
pub fn LoginPage(
    /// The client's display name.
    client: String,
    /// The scopes the client asks for.
    scopes: Vec<String>,
    /// Where the form posts.
    action: String,
    hidden: Vec<(&'static str, String)>,
    /// Why the last attempt failed, shown above the form.
    error: Option<String>,
    /// Demo data is seeded: the page names the demo users.
    demo: bool,
) -> impl IntoView {
    view! {
        <Shell title="Log in">
            <h1>"Log in"</h1>
            <p>"to continue to " <strong>{client}</strong> ", which asks for:"</p>
            <ul class="scopes">
                {scopes.into_iter().map(|scope| view! { <li>{scope}</li> }).collect_view()}
            </ul>
            {error.map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <form method="post" action=action>
                <HiddenFields fields=hidden />
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    autocomplete="username"
                    required
                    autofocus
                />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <div class="actions">
                    <button type="submit" class="button primary">"Log in"</button>
                    <button
                        type="submit"
                        name="action"
                        value="cancel"
                        class="button ghost"
                        formnovalidate
                    >
                        "Cancel"
                    </button>
                </div>
            </form>
            <DemoUsers demo />
        </Shell>
    }
}

/// One line of the consent screen: a scope in its own words, and its name.
pub struct Asked {
    pub name: String,
    pub description: String,
}

/// The consent screen: what a third-party client asks for.
#[component]
pub fn ConsentPage(
    client: String,
    /// It registered itself (RFC 7591): its name is its own word.
    registered: bool,
    asked: Vec<Asked>,
    action: String,
    hidden: Vec<(&'static str, String)>,
) -> impl IntoView {
    view! {
        <Shell title="Allow access?">
            <h1>"Allow access?"</h1>
            <p><strong>{client}</strong> " is not part of this site. It asks to:"</p>
            <ul class="consent">
                {asked
                    .into_iter()
                    .map(|scope| view! { <li>{scope.description} " " <code>{scope.name}</code></li> })
                    .collect_view()}
            </ul>
            <Unverified registered />
            <form method="post" action=action>
                <HiddenFields fields=hidden />
                <div class="actions">
                    <button type="submit" name="decision" value="allow" class="button primary">
                        "Allow"
                    </button>
                    <button type="submit" name="decision" value="deny" class="button ghost">
                        "Deny"
                    </button>
                </div>
            </form>
            <p class="hint">
                "You can change your mind later by logging out of the application; it will ask again if it ever wants more."
            </p>
        </Shell>
    }
}

/// RFC 7591 §5: a client that registered itself chose its own name, which nobody checked; a
/// phishing app could take a trusted one. Said plainly where the user decides.
#[component]
fn Unverified(registered: bool) -> impl IntoView {
    registered.then(|| {
        view! {
            <p class="warning" role="note" data-testid="unverified-client">
                "This application registered itself with this site: the name above is the one it "
                "gave itself. Allow only if you started this yourself and trust it."
            </p>
        }
    })
}

/// The demo users' names, under the pages' forms when demo data is seeded.
#[component]
fn DemoUsers(demo: bool) -> impl IntoView {
    demo.then(|| {
        view! {
            <p class="hint">
                "Demo users: " <code>"user0"</code> " / " <code>"password0"</code> " and "
                <code>"user1"</code> " / " <code>"password1"</code>
            </p>
        }
    })
}

/// The verification page's first step (RFC 8628 §3.3): the code the device shows. A `GET`
/// form, so the code lands in the address as `verification_uri_complete` would put it.
#[component]
pub fn DeviceCodePage(action: String, error: Option<String>, typed: String) -> impl IntoView {
    view! {
        <Shell title="Connect a device">
            <h1>"Connect a device"</h1>
            <p>"Enter the code your device shows (a TV, a command line, a console)."</p>
            {error.map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <form method="get" action=action>
                <label for="user_code">"Code"</label>
                <input
                    id="user_code"
                    name="user_code"
                    type="text"
                    value=typed
                    placeholder="XXXX-XXXX"
                    autocomplete="off"
                    autocapitalize="characters"
                    spellcheck="false"
                    required
                    autofocus
                />
                <div class="actions">
                    <button type="submit" class="button primary">"Continue"</button>
                </div>
            </form>
        </Shell>
    }
}

/// The verification page's second step: which client, on which code, asks for what; the user
/// logs in to allow it, or denies it (RFC 8628 §5.4: the user confirms the request is theirs).
#[component]
pub fn DeviceApprovalPage(
    client: String,
    /// It registered itself (RFC 7591): its name is its own word.
    registered: bool,
    code: String,
    scopes: Vec<String>,
    action: String,
    hidden: Vec<(&'static str, String)>,
    error: Option<String>,
    demo: bool,
) -> impl IntoView {
    view! {
        <Shell title="Allow this device?">
            <h1>"Allow this device?"</h1>
            <p>
                <strong>{client}</strong> " on the device showing " <strong class="user-code">{code}</strong>
                " asks for:"
            </p>
            <ul class="scopes">
                {scopes.into_iter().map(|scope| view! { <li>{scope}</li> }).collect_view()}
            </ul>
            <Unverified registered />
            <p class="hint">
                "Only continue if you started this on a device of your own and it shows this code."
            </p>
            {error.map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <form method="post" action=action>
                <HiddenFields fields=hidden />
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" autofocus />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                />
                <div class="actions">
                    <button type="submit" name="decision" value="allow" class="button primary">
                        "Log in and allow"
                    </button>
                    <button type="submit" name="decision" value="deny" class="button ghost">
                        "Deny"
                    </button>
                </div>
            </form>
            <DemoUsers demo />
        </Shell>
    }
}

/// The verification page's last step: what the device will hear.
#[component]
pub fn DeviceDonePage(allowed: bool, client: String) -> impl IntoView {
    let (title, text) = if allowed {
        (
            "Device connected",
            " is signed in on your device. You can close this page and go back to it.",
        )
    } else {
        (
            "Device not connected",
            " was denied: your device is told so. You can close this page.",
        )
    };
    view! {
        <Shell title=title>
            <h1>{title}</h1>
            <p role="status"><strong>{client}</strong>{text}</p>
        </Shell>
    }
}

/// The end-session endpoint's question (OpenID Connect RP-Initiated Logout 1.0 §2): log out of
/// this app, of every app (which needs the password: this server has no session of its own to
/// tell that the person at the keyboard is the user), or stay.
#[component]
pub fn LogoutPage(
    client: String,
    username: String,
    action: String,
    hidden: Vec<(&'static str, String)>,
    error: Option<String>,
) -> impl IntoView {
    let hidden_everywhere = hidden.clone();
    let hidden_stay = hidden.clone();
    view! {
        <Shell title="Log out?">
            <h1>"Log out?"</h1>
            <p>
                <strong>{client.clone()}</strong> " asks to log " <strong>{username}</strong>
                " out."
            </p>
            {error.map(|error| view! { <p class="error" role="alert">{error}</p> })}
            <form method="post" action=action.clone()>
                <HiddenFields fields=hidden />
                <div class="actions">
                    <button type="submit" name="decision" value="this" class="button primary">
                        "Log out of " {client}
                    </button>
                </div>
            </form>
            <form method="post" action=action.clone()>
                <HiddenFields fields=hidden_everywhere />
                <p class="hint">
                    "To log out of every app you logged into here, enter your password: this server keeps no session of its own, so it asks who you are."
                </p>
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <div class="actions">
                    <button type="submit" name="decision" value="everywhere" class="button ghost">
                        "Log out of every app"
                    </button>
                </div>
            </form>
            <form method="post" action=action>
                <HiddenFields fields=hidden_stay />
                <div class="actions">
                    <button type="submit" name="decision" value="stay" class="button ghost">
                        "Stay logged in"
                    </button>
                </div>
            </form>
        </Shell>
    }
}

/// One client told of a logout, on the last page.
#[derive(Clone)]
pub struct Told {
    pub client: String,
    pub delivered: bool,
    pub outcome: String,
}

/// The end of a logout that has nowhere to send the browser back to.
#[component]
pub fn LoggedOutPage(logged_out: bool, ended: usize, told: Vec<Told>) -> impl IntoView {
    let (title, text) = if logged_out {
        (
            "You are logged out",
            format!(
                "{ended} login{} ended: the apps' tokens no longer work.",
                if ended == 1 { "" } else { "s" }
            ),
        )
    } else {
        ("You are still logged in", "Nothing was changed.".to_owned())
    };
    view! {
        <Shell title=title>
            <h1>{title}</h1>
            <p role="status">{text}</p>
            {(!told.is_empty())
                .then(|| {
                    view! {
                        <p>"Apps told at once (OpenID Connect Back-Channel Logout):"</p>
                        <ul class="scopes">
                            {told
                                .into_iter()
                                .map(|t| {
                                    let mark = if t.delivered { "✓ " } else { "✗ " };
                                    view! {
                                        <li>{mark} <strong>{t.client}</strong> ": " {t.outcome}</li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
            <p class="hint">"You can close this page."</p>
        </Shell>
    }
}

/// A request the server cannot send back to the client, or a failure of its own.
#[component]
pub fn ErrorPage(server_fault: bool, message: String) -> impl IntoView {
    let title = if server_fault {
        "Something went wrong"
    } else {
        "This request cannot be completed"
    };
    view! {
        <Shell title=title>
            <h1>{title}</h1>
            <p class="error" role="alert">{message}</p>
            <p>
                "Return to the application and try again. If this keeps happening, the application's OAuth settings (client id or redirect URI) need fixing."
            </p>
        </Shell>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(
        client: &str,
        error: Option<&str>,
        hidden: Vec<(&'static str, String)>,
        demo: bool,
    ) -> String {
        let client = client.to_owned();
        let error = error.map(str::to_owned);
        render(move || {
            view! {
                <LoginPage
                    client
                    scopes=vec!["openid".into(), "products:read".into()]
                    action="/authorize/login".into()
                    hidden
                    error
                    demo
                />
            }
        })
    }

    fn consent(client: &str, registered: bool, asked: Vec<Asked>) -> String {
        let client = client.to_owned();
        render(move || {
            view! {
                <ConsentPage
                    client
                    registered
                    asked
                    action="/authorize/consent".into()
                    hidden=vec![("ticket", "t".into())]
                />
            }
        })
    }

    fn error(server_fault: bool, message: &str) -> String {
        let message = message.to_owned();
        render(move || view! { <ErrorPage server_fault message /> })
    }

    const HOSTILE: &str = "\"'><script>alert(1)</script>&amp;";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;";

    #[test]
    fn text_and_attributes_from_the_request_are_escaped() {
        let html = login(
            HOSTILE,
            Some(HOSTILE),
            vec![("state", HOSTILE.into())],
            false,
        );
        assert!(!html.contains("<script"), "{html}");
        // Twice as text (the client's name, the error), once as a hidden field's value.
        assert_eq!(html.matches(ESCAPED).count(), 3, "{html}");
        assert!(html.contains("value=\"&quot;'&gt;&lt;script&gt;"), "{html}");
        let html = consent(
            HOSTILE,
            true,
            vec![Asked {
                name: HOSTILE.into(),
                description: HOSTILE.into(),
            }],
        );
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(html.matches(ESCAPED).count(), 3, "{html}");
        let html = error(false, HOSTILE);
        assert!(
            !html.contains("<script") && html.contains(ESCAPED),
            "{html}"
        );
    }

    #[test]
    fn every_page_is_a_whole_document_with_no_script_and_no_hydration_data() {
        for html in [
            login("Shop", None, vec![], true),
            consent("Partner", false, vec![]),
            // A client that registered itself: the warning too.
            consent("Someone's app", true, vec![]),
            error(true, "down"),
        ] {
            assert!(
                html.starts_with("<!DOCTYPE html><html lang=\"en\"><head>"),
                "{html}"
            );
            assert!(html.ends_with("</main></body></html>"), "{html}");
            assert!(
                !html.contains("<script") && !html.contains("__RESOLVED"),
                "{html}"
            );
            assert!(!html.contains("<!>"), "no hydration marker: {html}");
            assert_eq!(html.matches("<style>").count(), 1);
            assert!(
                !html.contains(" style="),
                "no inline style attribute: {html}"
            );
        }
    }

    #[test]
    fn a_client_that_registered_itself_is_said_to_be_unverified() {
        assert!(consent("App", true, vec![]).contains("unverified-client"));
        assert!(!consent("App", false, vec![]).contains("unverified-client"));
    }

    #[test]
    fn the_stylesheet_is_written_verbatim() {
        // The CSP allows the <style> element by the hash of STYLE: a single escaped byte
        // (`>` in a selector, a quote) would make the browser refuse the whole stylesheet.
        let html = error(false, "x");
        let start = html.find("<style>").map(|i| i + "<style>".len());
        let end = html.find("</style>");
        let (Some(start), Some(end)) = (start, end) else {
            panic!("no <style> element: {html}");
        };
        assert_eq!(&html[start..end], STYLE);
        assert!(
            !STYLE.to_ascii_lowercase().contains("</style"),
            "the stylesheet would end its element early"
        );
        // Browsers hash the element's text after parsing, which turns CRLF into LF and NUL
        // into U+FFFD: either byte would make the hash of the file differ from theirs
        // (.gitattributes keeps the stylesheets LF).
        assert!(!STYLE.contains('\r') && !STYLE.contains('\0'));
        // `render` takes hydration markers out of the page; the stylesheet must not hold one.
        assert!(!STYLE.contains("<!>"));
        assert!(STYLE.contains("--accent") && STYLE.contains(".button.primary"));
    }

    #[test]
    fn the_form_shows_the_error_and_the_demo_users_only_when_asked() {
        let plain = login("Shop", None, vec![], false);
        assert!(!plain.contains("class=\"error\"") && !plain.contains("Demo users"));
        let wrong = login("Shop", Some("Wrong username or password."), vec![], false);
        assert!(
            wrong.contains(">Wrong username or password.</p>"),
            "{wrong}"
        );
        assert!(!wrong.contains("Demo users"));
        let demo = login("Shop", None, vec![], true);
        assert!(demo.contains("Demo users") && !demo.contains("class=\"error\""));
        assert!(error(true, "x").contains("<h1>Something went wrong</h1>"));
        assert!(error(false, "x").contains("<h1>This request cannot be completed</h1>"));
    }
}

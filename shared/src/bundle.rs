//! The browser app's bundles: a release build makes one wasm file per bundle, so that the first
//! page carries only the pages a visitor lands on (issue 13). The app's server answers a page's
//! path with the `index.html` of the bundle that has it, and the app loads the other bundle
//! for a link to one of its pages: both read that from here.

/// A bundle of the browser app's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    /// The shop: the home page, the login's callback, products, orders, profile. `dist/`.
    App,
    /// What a developer opens to see OAuth work: the token, the timeline, the debugger, the
    /// refusals, the labs. `dist/inspect/`.
    Inspector,
    /// The admin console, every page under `/admin`. `dist/admin/`.
    Console,
}

/// The pages of [`Bundle::Inspector`].
pub const INSPECTOR_PAGES: [&str; 5] = ["/token", "/timeline", "/debugger", "/refusals", "/labs"];

/// Where the console's pages are.
pub const CONSOLE_PAGES: &str = "/admin";

impl Bundle {
    /// The bundles built apart from the app.
    pub const SPLIT: [Self; 2] = [Self::Inspector, Self::Console];

    /// The bundle with the page at `path`, an app path perhaps with a query or a fragment.
    pub fn of(path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if path
            .strip_prefix(CONSOLE_PAGES)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        {
            Self::Console
        } else if INSPECTOR_PAGES.contains(&path) {
            Self::Inspector
        } else {
            Self::App
        }
    }

    /// The folder of `dist/` the bundle is built into, which is also the path its files are
    /// served under (`/inspect/inspector-<hash>_bg.wasm`); none for the app, at the root.
    pub fn dir(self) -> Option<&'static str> {
        match self {
            Self::App => None,
            Self::Inspector => Some("inspect"),
            Self::Console => Some("admin"),
        }
    }

    /// The pages a bundle built apart has outside its own folder.
    pub fn pages_elsewhere(self) -> &'static [&'static str] {
        match self {
            Self::Inspector => &INSPECTOR_PAGES,
            Self::App | Self::Console => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_is_in_one_bundle() {
        for console in [
            "/admin",
            "/admin/",
            "/admin/users",
            "/admin?x=1",
            "/admin#top",
        ] {
            assert_eq!(Bundle::of(console), Bundle::Console, "{console}");
        }
        for inspector in [
            "/token",
            "/timeline",
            "/refusals?id=x",
            "/labs#keys",
            "/debugger",
        ] {
            assert_eq!(Bundle::of(inspector), Bundle::Inspector, "{inspector}");
        }
        for app in [
            "/",
            "",
            "/products",
            "/callback?code=x",
            "/administrators",
            "/adminx/users",
            "/token/",
            "/tokens",
            "/inspect",
        ] {
            assert_eq!(Bundle::of(app), Bundle::App, "{app}");
        }
    }
}

//! The app's bundle: every page but the admin console (see the library's documentation).

use frontend::app::{self, Bundle};

fn main() {
    app::start(Bundle::App, app::routes::app);
}

//! The admin console's bundle, served under `/admin/` (see the library's documentation).

use frontend::app::{self, Bundle};

fn main() {
    app::start(Bundle::Console, app::routes::console);
}

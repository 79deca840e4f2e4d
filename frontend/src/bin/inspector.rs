//! The inspector's bundle: the token, the timeline, the debugger, the refusals and the labs,
//! their files served under `/inspect/` (see the library's documentation).

use frontend::app::{self, Bundle};

fn main() {
    app::start(Bundle::Inspector, app::routes::inspector);
}

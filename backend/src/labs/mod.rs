//! The labs (demo mode): what the app's Labs page uses to break things on purpose and watch the
//! server and the app recover. The refresh family needs nothing of its own here (it reads the
//! user's grants, `GET /api/me/grants`); the clock lab moves the server's clock.

pub mod clock;

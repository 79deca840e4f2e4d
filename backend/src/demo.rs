//! Demo data: users, clients, scopes and products for trying the system locally. Only seeded
//! with `--demo`; never part of a default production start.

use shared::admin::{Role, SigningAlg};
use shared::oauth::GrantType;
use shared::scope::{ADMIN, OFFLINE_ACCESS, ORDERS_READ, ORDERS_WRITE, PRODUCTS_READ, ScopeSet};

use crate::clock::Timestamp;
use crate::config::Config;
use crate::crypto;
use crate::storage::{
    self, Attributes, Db, Lifetimes, NewClient, NewUser, ScopeInfo, Spaced, StoredServer,
};

/// The custom authorization server of source document 003.
pub const DEFAULT_SERVER: &str = "default";
pub const SPA_CLIENT_ID: &str = "demo-spa";
pub const SERVICE_CLIENT_ID: &str = "demo-service";
pub const SERVICE_CLIENT_SECRET: &str = "demo-service-secret";
/// A third-party app: its users see the consent screen.
pub const PARTNER_CLIENT_ID: &str = "demo-partner";
/// The API documentation page's client (Swagger UI at `/docs`): public, code + PKCE.
pub const DOCS_CLIENT_ID: &str = "demo-docs";
/// A command line that logs its user in with the device authorization grant (RFC 8628):
/// public, and first party (the verification page asks the user anyway).
pub const DEVICE_CLIENT_ID: &str = "demo-cli";

/// Scopes are data, not code: these rows are what discovery lists and what the consent screen
/// says. The last field: whether a third-party client needs the user's consent for it.
pub const SCOPES: [(&str, &str, bool); 8] = [
    ("openid", "Know who you are on this site", false),
    (
        OFFLINE_ACCESS,
        "Stay connected to your account while you are away",
        true,
    ),
    ("profile", "See your name and username", true),
    ("email", "See your email address", true),
    (PRODUCTS_READ, "Browse the product catalogue", false),
    (ORDERS_READ, "See the orders you have placed", true),
    (ORDERS_WRITE, "Place orders in your name", true),
    (
        ADMIN,
        "Administer this server: users, clients, scopes, API tokens and keys",
        true,
    ),
];

/// The API's scopes, which the `default` authorization server offers too.
const SHOP_SCOPES: [&str; 3] = [PRODUCTS_READ, ORDERS_READ, ORDERS_WRITE];

/// Who is in which group: rules of access policies can match them (`user1` works in the EU
/// office, `admin` is staff).
const DEMO_GROUPS: [(&str, &str); 2] = [("user1", "eu"), ("admin", "staff")];

/// Custom attributes (username, name, value), which custom claims can carry.
const DEMO_ATTRIBUTES: [(&str, &str, &str); 2] = [
    ("user1", "department", "sales"),
    ("admin", "department", "engineering"),
];

/// Username, password, name, email, role. `admin` may use the admin console.
const USERS: [(&str, &str, &str, &str, Role); 3] = [
    (
        "user0",
        "password0",
        "User Number 0",
        "user0@example.com",
        Role::User,
    ),
    (
        "user1",
        "password1",
        "User Number 1",
        "user1@example.com",
        Role::User,
    ),
    (
        "admin",
        "admin-password",
        "Demo Administrator",
        "admin@example.com",
        Role::Admin,
    ),
];

const PRODUCTS: [(&str, &str, i64); 14] = [
    (
        "Trail Running Shoes",
        "Lightweight shoes with a grippy sole for muddy paths.",
        12_900,
    ),
    (
        "Merino Beanie",
        "Soft, warm and itch-free; one size fits most.",
        2_900,
    ),
    (
        "Insulated Bottle",
        "Keeps drinks cold for 24 hours or hot for 12. 750 ml.",
        3_450,
    ),
    (
        "Headlamp 400",
        "400 lumens, USB-C rechargeable, red night mode.",
        4_990,
    ),
    (
        "Rain Shell Jacket",
        "Waterproof, breathable and packs into its own pocket.",
        18_900,
    ),
    (
        "Camp Mug",
        "Enamel steel mug that survives the campfire. 350 ml.",
        1_450,
    ),
    (
        "Wool Hiking Socks",
        "Cushioned merino blend, three pairs.",
        2_400,
    ),
    (
        "Daypack 22L",
        "Light pack with a hip belt, rain cover and laptop sleeve.",
        8_900,
    ),
    (
        "Trekking Poles",
        "Carbon, foldable, with cork grips. Sold as a pair.",
        11_500,
    ),
    (
        "Compact Stove",
        "Canister stove that boils a litre in three minutes.",
        5_990,
    ),
    (
        "First Aid Kit",
        "Forty-piece kit in a waterproof pouch.",
        2_990,
    ),
    (
        "Trail Map Set",
        "Waterproof maps of the five most popular regions.",
        1_990,
    ),
    (
        "Sleeping Pad",
        "Self-inflating, R-value 4, rolls to the size of a bottle.",
        9_900,
    ),
    (
        "Solar Charger",
        "Foldable 21 W panel with two USB ports.",
        7_450,
    ),
];

/// Creates what is missing; running it again on an existing database changes nothing that a
/// user may have changed (passwords are only set when a user is first created). Instances
/// starting together on one empty database may all run it: every write is an insert that
/// yields to an existing row, or an upsert to the same values.
pub async fn seed(db: &Db, config: &Config, now: Timestamp) -> anyhow::Result<()> {
    // Source document 003's custom authorization server: `default`, for the API's audience
    // (`api://default` unless configured otherwise), signing RS256 as Okta's does. Its keys
    // are made when it is first served.
    let default = StoredServer {
        id: DEFAULT_SERVER.into(),
        name: "default".into(),
        description: "Default Authorization Server".into(),
        audience: config.audience.clone(),
        extra_audiences: Default::default(),
        signing_alg: SigningAlg::Rs256,
        created_at: now,
        generation: crypto::random_token(16),
        require_pushed_requests: false,
    };
    match db.insert_authorization_server(&default).await {
        // New: it offers the shop's scopes (OpenID Connect's are every server's).
        Ok(()) => {
            let shop: Vec<ScopeInfo> = SCOPES
                .into_iter()
                .filter(|(name, ..)| SHOP_SCOPES.contains(name))
                .map(|(name, description, consent_required)| ScopeInfo {
                    name: name.into(),
                    description: description.into(),
                    consent_required,
                })
                .collect();
            db.replace_server_scopes(DEFAULT_SERVER, &shop).await?;
        }
        // Already there (an earlier start, or another instance seeding at the same time).
        Err(storage::Error::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    for (name, description, consent_required) in SCOPES {
        db.upsert_scope(&ScopeInfo {
            name: name.into(),
            description: description.into(),
            consent_required,
        })
        .await?;
    }
    for (username, password, name, email, role) in USERS {
        if db.user_by_username(username).await?.is_some() {
            continue;
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
            .await?
            .map_err(|e| anyhow::anyhow!("hashing a demo password: {e}"))?;
        let id = format!("usr_{}", crypto::random_token(12));
        let groups = Spaced(
            DEMO_GROUPS
                .iter()
                .filter(|(who, _)| *who == username)
                .map(|(_, group)| (*group).to_owned())
                .collect(),
        );
        let attributes = Attributes(
            DEMO_ATTRIBUTES
                .iter()
                .filter(|(who, _, _)| *who == username)
                .map(|(_, name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        );
        let user = NewUser {
            id: &id,
            username,
            name,
            email,
            password_hash: &hash,
            role,
            groups: &groups,
            attributes: &attributes,
        };
        match db.insert_user(&user, now).await {
            // Another instance seeding at the same time created it first.
            Ok(()) | Err(storage::Error::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let spa_redirect = vec![format!(
        "{}/callback",
        config.app_url.as_str().trim_end_matches('/')
    )];
    // Where the app's "log out everywhere" comes back to (RP-Initiated Logout 1.0 §3.1).
    let spa_home = vec![format!(
        "{}/",
        config.app_url.as_str().trim_end_matches('/')
    )];
    db.upsert_client(
        &NewClient {
            id: SPA_CLIENT_ID,
            name: "Demo shop (browser app)",
            secret_hash: None,
            keys: None,
            first_party: true,
            grant_types: &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            // `admin` is granted only to administrators, whatever the app asks for.
            scopes: &scopes(
                "openid offline_access profile email products:read orders:read orders:write admin",
            ),
            redirect_uris: &spa_redirect,
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &spa_home,
            backchannel_logout_uri: None,
        },
        now,
    )
    .await?;
    // The same browser app, registered as someone else's: run the app with
    // APP_CLIENT_ID=demo-partner to see the consent screen. Shorter-lived tokens, as a policy
    // for a client the operator trusts less.
    db.upsert_client(
        &NewClient {
            id: PARTNER_CLIENT_ID,
            name: "Partner shop (third-party app)",
            secret_hash: None,
            keys: None,
            first_party: false,
            grant_types: &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: &scopes(
                "openid offline_access profile email products:read orders:read orders:write",
            ),
            redirect_uris: &spa_redirect,
            lifetimes: Lifetimes {
                access_token_ttl: Some(300),
                refresh_token_idle_ttl: Some(3600),
                refresh_token_absolute_ttl: Some(86_400),
            },
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &spa_home,
            backchannel_logout_uri: None,
        },
        now,
    )
    .await?;
    // The documentation page logs users in from the API origin, in a popup that lands on
    // Swagger UI's redirect page.
    let docs_redirect = vec![format!("{}/docs/oauth2-redirect.html", config.issuer_str())];
    db.upsert_client(
        &NewClient {
            id: DOCS_CLIENT_ID,
            name: "API documentation (Swagger UI)",
            secret_hash: None,
            keys: None,
            first_party: true,
            grant_types: &[GrantType::AuthorizationCode],
            scopes: &scopes("openid profile email products:read orders:read orders:write admin"),
            redirect_uris: &docs_redirect,
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
        },
        now,
    )
    .await?;
    db.upsert_client(
        &NewClient {
            id: DEVICE_CLIENT_ID,
            name: "Demo command line (device authorization)",
            secret_hash: None,
            keys: None,
            first_party: true,
            grant_types: &[GrantType::DeviceCode, GrantType::RefreshToken],
            scopes: &scopes("openid offline_access profile products:read orders:read"),
            redirect_uris: &[],
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
        },
        now,
    )
    .await?;
    if let Some(secret) = config.bff_secret() {
        let bff_redirect = vec![format!(
            "{}/bff/callback",
            config.app_url.as_str().trim_end_matches('/')
        )];
        // Back-Channel Logout 1.0 §2.2: told when one of its logins ends elsewhere.
        let bff_logout = format!(
            "{}{}",
            config.app_url.as_str().trim_end_matches('/'),
            shared::bff::BACKCHANNEL_LOGOUT_PATH
        );
        db.upsert_client(
            &NewClient {
                id: &config.bff_client_id,
                name: "Demo shop (backend-for-frontend, MVC mode)",
                secret_hash: Some(&crypto::sha256_hex(secret)),
                keys: None,
                first_party: true,
                grant_types: &[GrantType::AuthorizationCode, GrantType::RefreshToken],
                scopes: &scopes(
                    "offline_access profile email products:read orders:read orders:write admin",
                ),
                redirect_uris: &bff_redirect,
                lifetimes: Lifetimes::default(),
                require_pushed_requests: false,
                dpop_bound_access_tokens: false,
                post_logout_redirect_uris: &[],
                backchannel_logout_uri: Some(&bff_logout),
            },
            now,
        )
        .await?;
    }
    db.upsert_client(
        &NewClient {
            id: SERVICE_CLIENT_ID,
            name: "Demo service (machine to machine)",
            secret_hash: Some(&crypto::sha256_hex(SERVICE_CLIENT_SECRET)),
            keys: None,
            first_party: true,
            // Token exchange too (RFC 8693): given a user's token, it gets one for itself to
            // call another API with, acting for the user.
            grant_types: &[GrantType::ClientCredentials, GrantType::TokenExchange],
            scopes: &scopes(PRODUCTS_READ),
            redirect_uris: &[],
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
        },
        now,
    )
    .await?;
    for ((name, description, price_cents), id) in PRODUCTS.into_iter().zip(1..) {
        db.insert_product_if_absent(id, name, description, price_cents)
            .await?;
    }
    tracing::info!(
        "demo data ready: users user0/password0, user1/password1 and admin/admin-password, clients {SPA_CLIENT_ID}, {PARTNER_CLIENT_ID}, {DOCS_CLIENT_ID}, {DEVICE_CLIENT_ID}, {} and {SERVICE_CLIENT_ID}",
        config.bff_client_id
    );
    Ok(())
}

/// The demo's scope lists, which are valid by construction.
fn scopes(raw: &str) -> ScopeSet {
    ScopeSet::parse(raw).unwrap_or_default()
}

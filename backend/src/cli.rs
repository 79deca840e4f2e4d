//! The administration commands: they open the same database as the server and need no running
//! server (a running one picks key changes up within its reload interval). They run the admin
//! API's own operations ([`crate::admin`]), so the rules and the event log are the same as in
//! the console.

use std::fmt::Write as _;
use std::io::BufRead as _;

use serde::Serialize;
use shared::admin::{
    ClientKind, ClientUpdate, NewApiToken, NewAuthorizationServer, NewClient, NewScope, NewUser,
    Role, ScopeUpdate, SigningKey, UserUpdate,
};
use shared::oauth::GrantType;

use crate::admin::{self, Actor, Ctx};
use crate::api::error::ApiError;
use crate::clock::{Clock, Timestamp};
use crate::config::{
    ClientsCommand, Command, Config, DpopCommand, IssuersCommand, KeysCommand,
    RegistrationTokensCommand, ScopesCommand, ServersCommand, TokensCommand, UsersCommand,
};
use crate::crypto;
use crate::storage::{Db, EventQuery};

/// Runs `command`; what it prints goes to standard output.
pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    if let Command::Dpop(command) = command {
        print!("{}", dpop(command)?);
        return Ok(());
    }
    config.check()?;
    let db = Db::connect(&config.storage_settings()).await?;
    let ctx = Ctx {
        db: &db,
        config,
        actor: Actor::command_line(),
        now: Clock::system().now(),
    };
    let out = match command {
        Command::Serve => anyhow::bail!("`serve` is not an administration command"),
        // Needs no database: answered above.
        Command::Dpop(command) => dpop(command)?,
        Command::Keys(KeysCommand::List { server }) => {
            keys_table(&admin::keys::all(&ctx, server.as_deref()).await?)
        }
        Command::Keys(KeysCommand::Rotate { force, server }) => {
            let rotated = admin::keys::rotate_now(&ctx, server.as_deref(), *force)
                .await
                .map_err(|e| match (&e, server) {
                    (ApiError::Conflict(_), None) => {
                        anyhow::anyhow!("{e} (backend keys rotate --force rotates anyway)")
                    }
                    (ApiError::Conflict(_), Some(id)) => anyhow::anyhow!(
                        "{e} (backend keys rotate --force --server {id} rotates anyway)"
                    ),
                    _ => anyhow::anyhow!("{e}"),
                })?;
            let mut out = String::from("rotated:\n");
            for change in &rotated.changes {
                let _ = writeln!(out, "  {:<14} {}", change.kind, change.detail);
            }
            out.push('\n');
            out.push_str(&keys_table(&rotated.keys));
            out
        }
        Command::Users(command) => users(&ctx, command).await?,
        Command::Clients(command) => clients(&ctx, command).await?,
        Command::Scopes(command) => scopes(&ctx, command).await?,
        Command::Servers(command) => servers(&ctx, command).await?,
        Command::Issuers(command) => issuers(&ctx, command).await?,
        Command::Tokens(command) => tokens(&ctx, command).await?,
        Command::RegistrationTokens(command) => registration_tokens(&ctx, command).await?,
        Command::Preview {
            server,
            client,
            grant,
            scope,
            resources,
            user,
            json,
        } => {
            let scope = scope
                .as_deref()
                .map(shared::scope::ScopeSet::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
            let request = shared::admin::TokenPreviewRequest {
                server: server.clone(),
                client_id: client.clone(),
                grant_type: grant.parse()?,
                scope,
                resources: resources.clone(),
                username: user.clone(),
            };
            let state =
                crate::state::AppState::as_stored(config.clone(), db.clone(), Clock::system())
                    .await?;
            let preview = admin::preview::answer(&state, &ctx, &request).await?;
            if *json {
                format!("{}\n", serde_json::to_string_pretty(&preview)?)
            } else {
                preview_text(&preview)?
            }
        }
        Command::Events {
            limit,
            kind,
            since,
            user,
            client,
            request_id,
            json,
        } => {
            let query = EventQuery {
                kind: kind.clone(),
                since: since.map(Timestamp::from_unix),
                user_id: user.clone(),
                client_id: client.clone(),
                request_id: request_id.clone(),
                limit: *limit,
            };
            let events: Vec<_> = db
                .events(&query)
                .await?
                .into_iter()
                .map(admin::events::view)
                .collect();
            if *json {
                json_lines(&events)?
            } else {
                events_table(&events)
            }
        }
    };
    print!("{out}");
    Ok(())
}

/// `backend dpop key` and `backend dpop proof`: the client's side of DPoP, as a library would
/// do it (see [`crate::dpop::client`]).
fn dpop(command: &DpopCommand) -> anyhow::Result<String> {
    use crate::dpop::client::ClientKey;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    const LABEL: &str = "PRIVATE KEY";
    match command {
        DpopCommand::Key { file } => {
            let key = ClientKey::generate()?;
            let encoded = STANDARD.encode(key.to_pkcs8()?);
            let mut pem = format!("-----BEGIN {LABEL}-----\n");
            for line in encoded.as_bytes().chunks(64) {
                pem.push_str(std::str::from_utf8(line)?);
                pem.push('\n');
            }
            let _ = writeln!(pem, "-----END {LABEL}-----");
            write_private(file, &pem)?;
            Ok(format!("{}\n", key.jkt()))
        }
        DpopCommand::Proof {
            key,
            method,
            url,
            access_token,
            nonce,
        } => {
            let pem = std::fs::read_to_string(key)
                .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
            let body: String = pem
                .lines()
                .filter(|line| !line.starts_with("-----"))
                .collect();
            let der = STANDARD
                .decode(body.trim())
                .map_err(|_| anyhow::anyhow!("{}: not a PEM file", key.display()))?;
            let key = ClientKey::from_pkcs8(&der)?;
            let now = Clock::system().now().unix();
            Ok(format!(
                "{}\n",
                key.proof_with_nonce(method, url, now, access_token.as_deref(), nonce.as_deref())?
            ))
        }
    }
}

/// Writes `text` to a new file at `path` that only its owner may read.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// A token preview as text: the endpoint, then the error, or the tokens' claims and lifetimes;
/// the policy and rule that decided, if any.
fn preview_text(preview: &shared::admin::TokenPreview) -> anyhow::Result<String> {
    let mut out = format!("POST {}\n", preview.token_endpoint);
    if let (Some(policy), Some(rule)) = (&preview.policy, &preview.rule) {
        let _ = writeln!(out, "decided by policy {policy:?}, rule {rule:?}");
    }
    if let Some(error) = &preview.error {
        let _ = writeln!(
            out,
            "refused: {} ({})",
            error.error.as_str(),
            printable(error.error_description.as_deref().unwrap_or_default())
        );
        return Ok(out);
    }
    if let (Some(header), Some(claims)) = (&preview.header, &preview.claims) {
        let mut claims = serde_json::to_value(claims)?;
        if let Some(all) = claims.as_object_mut() {
            all.extend(preview.custom_claims.clone());
        }
        let _ = writeln!(
            out,
            "access token ({}, kid {}), expires in {} s:\n{}",
            header.alg,
            header.kid,
            preview.expires_in.unwrap_or_default(),
            serde_json::to_string_pretty(&claims)?
        );
    }
    if let Some(id_token) = &preview.id_token {
        let _ = writeln!(
            out,
            "ID token:\n{}",
            serde_json::to_string_pretty(id_token)?
        );
    }
    match preview.refresh_token_expires_in {
        Some(seconds) => {
            let _ = writeln!(
                out,
                "refresh token: lives {seconds} s unless used (each use rotates it)"
            );
        }
        None => out.push_str("no refresh token\n"),
    }
    Ok(out)
}

fn json_lines<T: Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(row)?);
        out.push('\n');
    }
    Ok(out)
}

/// One line of standard input, or a generated password (printed by the caller).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((crypto::random_token(15), true))
    }
}

/// The `--attr` pairs as the admin API takes them; a name given twice (in any letter case) is
/// refused rather than one of its values silently kept.
fn attribute_map(
    pairs: &[(String, String)],
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut map = std::collections::BTreeMap::new();
    for (name, value) in pairs {
        if map.keys().any(|k: &String| k.eq_ignore_ascii_case(name)) {
            anyhow::bail!("--attr {name} is given twice; give each attribute once");
        }
        map.insert(name.clone(), value.clone());
    }
    Ok(map)
}

fn role(name: &str) -> Role {
    name.parse().unwrap_or_default()
}

async fn users(ctx: &Ctx<'_>, command: &UsersCommand) -> anyhow::Result<String> {
    match command {
        UsersCommand::List { json } => {
            let users = admin::users::all(ctx).await?;
            if *json {
                return json_lines(&users);
            }
            let mut out = format!(
                "{:<22} {:<16} {:<24} {:<28} {:<6} {}\n",
                "id", "username", "name", "email", "role", "state"
            );
            for u in &users {
                let _ = writeln!(
                    out,
                    "{:<22} {:<16} {:<24} {:<28} {:<6} {}",
                    u.id,
                    printable(&u.username),
                    printable(&u.name),
                    printable(&u.email),
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "enabled" }
                );
            }
            Ok(out)
        }
        UsersCommand::Create {
            username,
            name,
            email,
            role: role_name,
            groups,
            attributes,
            password_stdin,
        } => {
            let (password, generated) = password(*password_stdin)?;
            let new = NewUser {
                username: username.clone(),
                name: name.clone(),
                email: email.clone(),
                password: password.clone(),
                role: role(role_name),
                groups: groups.clone(),
                attributes: attribute_map(attributes)?,
            };
            let user = admin::users::add(ctx, &new).await?;
            let mut out = format!("created {} ({})\n", user.username, user.id);
            if generated {
                let _ = writeln!(out, "password: {password}\n(shown this once)");
            }
            Ok(out)
        }
        UsersCommand::Update {
            username,
            name,
            email,
            role: role_name,
            groups,
            no_groups,
            attributes,
            no_attrs,
            disable,
            enable,
        } => {
            let user = admin::users::by_username(ctx, username).await?;
            let update = UserUpdate {
                name: name.clone(),
                email: email.clone(),
                role: role_name.as_deref().map(role),
                groups: (*no_groups || !groups.is_empty()).then(|| groups.clone()),
                attributes: (*no_attrs || !attributes.is_empty())
                    .then(|| attribute_map(attributes))
                    .transpose()?,
                disabled: (*disable || *enable).then_some(*disable),
            };
            // The logins a disabling ends are revoked; the command line, which runs no server,
            // posts no logout tokens (the admin API does).
            let (user, _ended) = admin::users::change(ctx, &user.id, &update).await?;
            let attributes: Vec<String> = user
                .attributes
                .iter()
                .map(|(name, value)| format!("{name}={}", printable(value)))
                .collect();
            Ok(format!(
                "{}: role {}, groups [{}], attributes [{}], {}\n",
                user.username,
                user.role.as_str(),
                user.groups.join(" "),
                attributes.join(" "),
                if user.disabled { "disabled" } else { "enabled" }
            ))
        }
        UsersCommand::ResetPassword {
            username,
            password_stdin,
        } => {
            let user = admin::users::by_username(ctx, username).await?;
            let (password, generated) = password(*password_stdin)?;
            admin::users::set_password(ctx, &user.id, &password).await?;
            let mut out = format!(
                "password of {} reset; their sessions were ended\n",
                user.username
            );
            if generated {
                let _ = writeln!(out, "password: {password}\n(shown this once)");
            }
            Ok(out)
        }
    }
}

async fn clients(ctx: &Ctx<'_>, command: &ClientsCommand) -> anyhow::Result<String> {
    match command {
        ClientsCommand::List { json } => {
            let clients = admin::clients::all(ctx).await?;
            if *json {
                return json_lines(&clients);
            }
            let mut out = format!(
                "{:<20} {:<12} {:<38} {:<42} {}\n",
                "client_id", "type", "grant types", "scope", "redirect URIs"
            );
            for c in &clients {
                let _ = writeln!(
                    out,
                    "{:<20} {:<12} {:<38} {:<42} {}",
                    c.client_id,
                    if c.confidential {
                        "confidential"
                    } else {
                        "public"
                    },
                    GrantType::join(&c.grant_types, " "),
                    c.scope.to_string(),
                    c.redirect_uris.join(" ")
                );
            }
            Ok(out)
        }
        ClientsCommand::Create {
            kind,
            name,
            id,
            scope,
            redirect_uris,
            refresh_tokens,
            first_party,
            require_pushed_authorization_requests,
            dpop_bound_access_tokens,
            jwks_uri,
            jwks_file,
            post_logout_redirect_uris,
            backchannel_logout_uri,
        } => {
            let jwks = jwks_file.as_deref().map(read_jwks).transpose()?;
            let by_key = jwks.is_some() || jwks_uri.is_some();
            let new = NewClient {
                kind: match kind.as_str() {
                    "service" => ClientKind::Service,
                    "device" => ClientKind::Device,
                    _ => ClientKind::Browser,
                },
                name: name.clone(),
                client_id: id.clone(),
                scope: scope.clone(),
                redirect_uris: redirect_uris.clone(),
                refresh_tokens: *refresh_tokens,
                first_party: *first_party,
                lifetimes: shared::admin::Lifetimes::default(),
                require_pushed_authorization_requests: *require_pushed_authorization_requests,
                dpop_bound_access_tokens: *dpop_bound_access_tokens,
                token_endpoint_auth_method: by_key
                    .then_some(shared::admin::TokenEndpointAuthMethod::PrivateKeyJwt),
                jwks,
                jwks_uri: jwks_uri.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                backchannel_logout_uri: backchannel_logout_uri.clone(),
            };
            let created = admin::clients::add(ctx, &new).await?;
            let mut out = format!("created client {}\n", created.client.client_id);
            if let Some(secret) = created.client_secret {
                let _ = writeln!(out, "client secret: {secret}\n(shown this once)");
            }
            Ok(out)
        }
        ClientsCommand::Update {
            id,
            name,
            scope,
            grant_types,
            redirect_uris,
            first_party,
            require_pushed_authorization_requests,
            dpop_bound_access_tokens,
            jwks_uri,
            jwks_file,
            post_logout_redirect_uris,
            backchannel_logout_uri,
        } => {
            let update = ClientUpdate {
                jwks: jwks_file.as_deref().map(read_jwks).transpose()?,
                jwks_uri: jwks_uri.clone(),
                name: name.clone(),
                scope: scope.clone(),
                grant_types: grant_types
                    .as_deref()
                    .map(|g| g.split_whitespace().map(str::to_owned).collect()),
                redirect_uris: redirect_uris.clone(),
                first_party: *first_party,
                lifetimes: None,
                require_pushed_authorization_requests: *require_pushed_authorization_requests,
                dpop_bound_access_tokens: *dpop_bound_access_tokens,
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                backchannel_logout_uri: backchannel_logout_uri.clone(),
            };
            let client = admin::clients::change(ctx, id, &update).await?;
            Ok(format!(
                "{}: grant types {}; scope {}\n",
                client.client_id,
                GrantType::join(&client.grant_types, " "),
                client.scope
            ))
        }
        ClientsCommand::RotateSecret { id } => {
            let rotated = admin::clients::new_secret(ctx, id).await?;
            Ok(format!(
                "new client secret for {}: {}\n(shown this once; the old one no longer works)\n",
                rotated.client_id, rotated.client_secret
            ))
        }
        ClientsCommand::Delete { id } => {
            admin::clients::remove(ctx, id).await?;
            Ok(format!("deleted {id}\n"))
        }
    }
}

async fn issuers(ctx: &Ctx<'_>, command: &IssuersCommand) -> anyhow::Result<String> {
    let known = crate::issuers::TrustedIssuers::new()?;
    match command {
        IssuersCommand::List { json } => {
            let issuers = admin::issuers::all(ctx, &known).await?;
            if *json {
                return json_lines(&issuers);
            }
            let mut out = format!(
                "{:<16} {:<12} {:<24} {}\n",
                "id", "algorithms", "audience", "issuer"
            );
            for i in &issuers {
                let _ = writeln!(
                    out,
                    "{:<16} {:<12} {:<24} {}",
                    i.id,
                    i.algorithms.join(","),
                    i.audience,
                    i.issuer
                );
            }
            Ok(out)
        }
        IssuersCommand::Add {
            id,
            issuer,
            audience,
            name,
            algorithms,
            scope_claim,
            required_claims,
        } => {
            let new = shared::admin::NewTrustedIssuer {
                id: id.clone(),
                name: name.clone(),
                issuer: issuer.clone(),
                audience: audience.clone(),
                algorithms: algorithms.clone(),
                scope_claim: *scope_claim,
                required_claims: required_claims.iter().cloned().collect(),
            };
            let added = admin::issuers::add(ctx, &known, &new).await?;
            Ok(format!(
                "trusting {} ({}): keys {} read from {}\n",
                added.id,
                added.issuer,
                added.status.kids.join(", "),
                added.status.jwks_uri.unwrap_or_default()
            ))
        }
        IssuersCommand::Remove { id } => {
            admin::issuers::remove(ctx, &known, id).await?;
            Ok(format!("no longer trusting {id}\n"))
        }
    }
}

async fn servers(ctx: &Ctx<'_>, command: &ServersCommand) -> anyhow::Result<String> {
    match command {
        ServersCommand::List { json } => {
            let servers = admin::servers::all(ctx).await?;
            if *json {
                return json_lines(&servers);
            }
            let mut out = format!(
                "{:<20} {:<6} {:<40} {}\n",
                "id", "alg", "issuer", "audiences (the default first)"
            );
            for s in &servers {
                let mut audiences = vec![s.audience.as_str()];
                audiences.extend(s.extra_audiences.iter().map(String::as_str));
                let _ = writeln!(
                    out,
                    "{:<20} {:<6} {:<40} {}",
                    s.id,
                    s.signing_alg,
                    s.issuer,
                    audiences.join(" ")
                );
            }
            Ok(out)
        }
        ServersCommand::Create {
            id,
            name,
            audience,
            extra_audiences,
            description,
            signing_alg,
            require_pushed_authorization_requests,
        } => {
            let new = NewAuthorizationServer {
                id: id.clone(),
                name: name.clone(),
                description: description.clone(),
                audience: audience.clone(),
                extra_audiences: extra_audiences.clone(),
                signing_alg: *signing_alg,
                require_pushed_authorization_requests: *require_pushed_authorization_requests,
            };
            let stored = admin::servers::add(ctx, &new).await?;
            Ok(format!(
                "created authorization server {} (issuer {})\n",
                stored.id,
                crate::servers::AuthServer::issuer_of(ctx.config, &stored.id)
            ))
        }
        ServersCommand::Update {
            id,
            name,
            description,
            audience,
            extra_audiences,
            no_extra_audiences,
            require_pushed_authorization_requests,
        } => {
            let Some(current) = ctx.db.authorization_server(id).await? else {
                anyhow::bail!("there is no authorization server {id:?}");
            };
            let extra = match (extra_audiences.is_empty(), *no_extra_audiences) {
                (_, true) => Vec::new(),
                (true, false) => current.extra_audiences.0.clone(),
                (false, false) => extra_audiences.clone(),
            };
            let change = shared::admin::ServerChange {
                name: name.clone().unwrap_or(current.name),
                description: description.clone().unwrap_or(current.description),
                audience: audience.clone().unwrap_or(current.audience),
                extra_audiences: extra,
                require_pushed_authorization_requests: *require_pushed_authorization_requests,
            };
            let changed = admin::servers::change(ctx, id, &change).await?;
            Ok(format!(
                "changed authorization server {id}: {:?}, audiences {}\n",
                changed.name,
                changed.audiences().collect::<Vec<_>>().join(" ")
            ))
        }
        ServersCommand::Delete { id } => {
            admin::servers::remove(ctx, id).await?;
            Ok(format!("deleted authorization server {id} and its keys\n"))
        }
        ServersCommand::Policies { id } => {
            let policies = admin::policies::of(ctx, id).await?;
            Ok(format!("{}\n", serde_json::to_string_pretty(&policies)?))
        }
        ServersCommand::Claims { id } => {
            let claims = admin::claims::of(ctx, id).await?;
            Ok(format!("{}\n", serde_json::to_string_pretty(&claims)?))
        }
        ServersCommand::SetClaims { id, file } => {
            let new: shared::admin::CustomClaims = serde_json::from_str(&read_input(file)?)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{} is not a {{\"claims\": [...]}} object: {e}",
                        file.display()
                    )
                })?;
            let stored = admin::claims::replace(ctx, id, &new.claims).await?;
            Ok(format!(
                "authorization server {id} now has {} custom claims\n",
                stored.claims.len()
            ))
        }
        ServersCommand::Scopes { id } => {
            let scopes = admin::server_scopes::of(ctx, id).await?;
            Ok(format!("{}\n", serde_json::to_string_pretty(&scopes)?))
        }
        ServersCommand::SetScopes { id, file } => {
            let new: shared::admin::ServerScopes = serde_json::from_str(&read_input(file)?)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{} is not a {{\"scopes\": [...]}} object: {e}",
                        file.display()
                    )
                })?;
            let stored = admin::server_scopes::replace(ctx, id, &new.scopes).await?;
            let names: Vec<&str> = stored.scopes.iter().map(|s| s.name.as_str()).collect();
            Ok(format!(
                "authorization server {id} now offers {} scopes of its own: {}\n",
                names.len(),
                names.join(" ")
            ))
        }
        ServersCommand::SetPolicies { id, file } => {
            let raw = read_input(file)?;
            let new: shared::admin::AccessPolicies = serde_json::from_str(&raw).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a {{\"policies\": [...]}} object: {e}",
                    file.display()
                )
            })?;
            let stored = admin::policies::replace(ctx, id, &new.policies).await?;
            let rules: usize = stored.policies.iter().map(|p| p.rules.len()).sum();
            Ok(format!(
                "authorization server {id} now has {} policies and {rules} rules\n",
                stored.policies.len()
            ))
        }
    }
}

/// The contents of `file`, or standard input for `-`.
fn read_input(file: &std::path::Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        Ok(std::io::read_to_string(std::io::stdin().lock())?)
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
    }
}

async fn scopes(ctx: &Ctx<'_>, command: &ScopesCommand) -> anyhow::Result<String> {
    match command {
        ScopesCommand::List { json } => {
            let scopes = admin::scopes::all(ctx).await?;
            if *json {
                return json_lines(&scopes);
            }
            let mut out = format!(
                "{:<20} {:<8} {:<8} {:<52} {}\n",
                "name", "builtin", "consent", "description", "clients"
            );
            for s in &scopes {
                let _ = writeln!(
                    out,
                    "{:<20} {:<8} {:<8} {:<52} {}",
                    s.name,
                    if s.builtin { "yes" } else { "no" },
                    if s.consent_required { "asked" } else { "no" },
                    printable(&s.description),
                    s.clients.join(" ")
                );
            }
            Ok(out)
        }
        ScopesCommand::Create {
            name,
            description,
            no_consent,
        } => {
            let new = NewScope {
                name: name.clone(),
                description: description.clone(),
                consent_required: !no_consent,
            };
            let scope = admin::scopes::add(ctx, &new).await?;
            Ok(format!("created scope {}\n", scope.name))
        }
        ScopesCommand::Update {
            name,
            description,
            consent_required,
        } => {
            let update = ScopeUpdate {
                description: description.clone(),
                consent_required: *consent_required,
            };
            let scope = admin::scopes::change(ctx, name, &update).await?;
            Ok(format!("updated scope {}\n", scope.name))
        }
        ScopesCommand::Delete { name } => {
            admin::scopes::remove(ctx, name).await?;
            Ok(format!("deleted scope {name}\n"))
        }
    }
}

async fn tokens(ctx: &Ctx<'_>, command: &TokensCommand) -> anyhow::Result<String> {
    match command {
        TokensCommand::Create {
            user,
            name,
            scope,
            expires_in_days,
        } => {
            let new = NewApiToken {
                username: user.clone(),
                name: name.clone(),
                scope: scope.clone(),
                expires_in_days: *expires_in_days,
            };
            let created = admin::tokens::add(ctx, &new).await?;
            let token = created.token;
            Ok(format!(
                "{token}\n\nThis is the only time the token is shown. Use it as\n  \
                 Authorization: Token {token}\n"
            ))
        }
        TokensCommand::List { user, json } => {
            let rows = admin::tokens::all(ctx, user.as_deref()).await?;
            if *json {
                return json_lines(&rows);
            }
            let mut out = format!(
                "{:<16}  {:<12} {:<20} {:<9} {:<20} {:<20} {}\n",
                "id", "user", "name", "state", "expires", "last used", "scope"
            );
            for row in &rows {
                let _ = writeln!(
                    out,
                    "{:<16}  {:<12} {:<20} {:<9} {:<20} {:<20} {}",
                    row.id,
                    printable(&row.username),
                    printable(&row.name),
                    row.state.as_str(),
                    time(row.expires_at),
                    time(row.last_used_at),
                    row.scope
                );
            }
            Ok(out)
        }
        TokensCommand::Revoke { id } => {
            admin::tokens::revoke_one(ctx, id).await?;
            Ok(format!("revoked {id}\n"))
        }
    }
}

async fn registration_tokens(
    ctx: &Ctx<'_>,
    command: &RegistrationTokensCommand,
) -> anyhow::Result<String> {
    match command {
        RegistrationTokensCommand::Create { name, expires_in } => {
            let new = shared::admin::NewRegistrationToken {
                name: name.clone(),
                expires_in: *expires_in,
            };
            let made = admin::registration_tokens::make(ctx, &new).await?;
            let token = made.token;
            Ok(format!(
                "{token}\n\nThis is the only time the token is shown. A developer registers a \
                 client with it:\n  curl {} -H 'Authorization: Bearer {token}' -H \
                 'Content-Type: application/json' -d '{{\"redirect_uris\": [...], \"scope\": \
                 \"...\"}}'\n",
                ctx.config.endpoint("/register")
            ))
        }
        RegistrationTokensCommand::List { json } => {
            let rows = admin::registration_tokens::all(ctx).await?;
            if *json {
                return json_lines(&rows);
            }
            let mut out = format!(
                "{:<12}  {:<24} {:<20} {}\n",
                "id", "name", "created", "expires"
            );
            for row in &rows {
                let _ = writeln!(
                    out,
                    "{:<12}  {:<24} {:<20} {}",
                    row.id,
                    printable(&row.name),
                    time(Some(row.created_at)),
                    time(Some(row.expires_at))
                );
            }
            Ok(out)
        }
        RegistrationTokensCommand::Delete { id } => {
            admin::registration_tokens::remove(ctx, id).await?;
            Ok(format!("deleted {id}\n"))
        }
    }
}

fn keys_table(keys: &[SigningKey]) -> String {
    let mut out = format!(
        "{:<44} {:<6} {:<8} {:<20} {:<20} {:<20}\n",
        "kid", "alg", "state", "created", "activated", "retired"
    );
    for key in keys {
        let _ = writeln!(
            out,
            "{:<44} {:<6} {:<8} {:<20} {:<20} {:<20}",
            key.kid,
            key.alg,
            key.state,
            time(Some(key.created_at)),
            time(key.activated_at),
            time(key.retired_at)
        );
    }
    out
}

fn events_table(events: &[shared::admin::Event]) -> String {
    let mut out = format!(
        "{:>6}  {:<20}  {:<22} {:<16} {:<24} {:<15} {}\n",
        "id", "time (UTC)", "kind", "client", "user", "address", "detail"
    );
    for e in events {
        let _ = writeln!(
            out,
            "{:>6}  {:<20}  {:<22} {:<16} {:<24} {:<15} {}",
            e.id,
            time(Some(e.at)),
            printable(&e.kind),
            printable(e.client_id.as_deref().unwrap_or("-")),
            printable(e.user_id.as_deref().unwrap_or("-")),
            printable(e.address.as_deref().unwrap_or("-")),
            printable(&e.detail)
        );
        if let Some(why) = &e.explanation {
            let mut line = format!("request {}", e.request_id.as_deref().unwrap_or("-"));
            if let Some(check) = &why.check {
                let _ = write!(line, "; check {check}");
            }
            if let Some(expected) = &why.expected {
                let _ = write!(line, "; expected {expected}");
            }
            if let Some(got) = &why.got {
                let _ = write!(line, "; got {got}");
            }
            if let Some(remedy) = &why.remedy {
                let _ = write!(line, "; remedy: {remedy}");
            }
            let _ = writeln!(out, "{:>8}{}", "", printable(&line));
        }
    }
    out
}

/// Usernames and client ids in the log are whatever a caller typed: control characters are
/// escaped so that they cannot forge table rows or drive the terminal.
fn printable(raw: &str) -> String {
    raw.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` from Unix seconds, or `-`.
fn time(unix: Option<i64>) -> String {
    unix.map_or_else(|| "-".into(), |t| Timestamp::from_unix(t).rfc3339())
}

/// A JWK Set file, as JSON.
fn read_jwks(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the JWK Set {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        assert_eq!(super::printable("user0"), "user0");
        assert_eq!(super::printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn formats_unix_time() {
        assert_eq!(super::time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(super::time(Some(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(super::time(Some(1_795_398_245)), "2026-11-23T01:44:05Z");
        assert_eq!(super::time(None), "-");
    }
}

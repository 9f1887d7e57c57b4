//! `gstage login`: the native-app authorization code flow with PKCE, from a terminal that may
//! be an ssh session on a login node (the user opens the URL anywhere and pastes the code), or
//! with `--loopback` through a redirect to 127.0.0.1 on this host.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Context;
use crate::cli::{Format, LoginArgs};
use crate::collection::CollectionId;
use crate::config::Config;
use crate::globus::auth::random_state;
use crate::globus::scopes::{self, TRANSFER_RESOURCE_SERVER};
use crate::globus::setup::{self, collection_names};
use crate::globus::{
    AuthCode, AuthorizeRequest, CollectionNames, Credentials, GlobusClient, Pkce, RetryPolicy,
    SessionRequirements, UserInfo,
};
use crate::tokens::{StoredIdentity, StoredLogin, TokenStore};

/// How long the loopback listener waits for the browser.
const LOOPBACK_WAIT: Duration = Duration::from_secs(600);

/// Whether a collection needs a `data_access` consent, as far as can be known before login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Yes,
    No,
    Unknown,
}

/// Asks Transfer (with the current login, if it still works) whether each collection needs
/// `data_access`; without a usable login every answer is `Unknown`.
async fn probe(config: &Config, store: &TokenStore, ids: &[CollectionId]) -> Vec<Need> {
    let Ok(client) = GlobusClient::builder()
        .auth_url(config.globus.auth_url.clone())
        .transfer_url(config.globus.transfer_url.clone())
        .maybe_client_id(config.globus.client_id.clone())
        .credentials(Credentials::Store(store.clone()))
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_secs(15))
        .build()
    else {
        return vec![Need::Unknown; ids.len()];
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(match client.get_endpoint(id).await {
            Ok(e) if e.needs_data_access() => Need::Yes,
            Ok(_) => Need::No,
            Err(e) => {
                tracing::debug!(collection = %id, error = %e, "cannot tell whether it needs data_access");
                Need::Unknown
            }
        });
    }
    out
}

fn describe(names: &CollectionNames, id: &CollectionId) -> String {
    match names
        .get(&id.to_string())
        .and_then(|n| n.display_name.as_deref())
    {
        Some(d) => format!("`{d}` ({id})"),
        None => format!("`{id}`"),
    }
}

/// Chooses the collections to ask `data_access` for: asked for now (`--collection`) or at an
/// earlier login unless Transfer says they need none; configured ones only when Transfer says
/// they need it (asking for a scope a collection does not have makes Auth refuse the login).
async fn data_access_collections(
    config: &Config,
    store: &TokenStore,
    requested: &[CollectionId],
    previous: &[CollectionId],
) -> Vec<CollectionId> {
    let mut candidates: Vec<CollectionId> = Vec::new();
    for id in requested
        .iter()
        .chain(previous)
        .chain(&setup::configured_collections(config))
    {
        if !candidates.contains(id) {
            candidates.push(*id);
        }
    }
    let needs = probe(config, store, &candidates).await;
    let names = collection_names(config);
    let mut chosen = Vec::new();
    for (id, need) in candidates.iter().zip(needs) {
        let asked = requested.contains(id) || previous.contains(id);
        match need {
            Need::Yes => chosen.push(*id),
            Need::Unknown if asked => chosen.push(*id),
            Need::No if requested.contains(id) => eprintln!(
                "note: collection {} needs no data_access consent (it is not a GCSv5 mapped collection, or it is high assurance); if it asks for a recent login, use `--domain` or `--identity`",
                describe(&names, id)
            ),
            _ => {}
        }
    }
    chosen
}

/// Reads the pasted code from standard input.
fn read_pasted_code() -> Result<AuthCode> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the authorization code from standard input")?;
    let code = line.trim();
    if code.is_empty() {
        bail!(
            "no authorization code was entered; run `gstage login` again and paste the code the browser shows"
        );
    }
    Ok(AuthCode::new(code))
}

/// The query parameters of a redirect's request line (`GET /?code=…&state=… HTTP/1.1`).
fn redirect_params(request: &str) -> Vec<(String, String)> {
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    url::Url::parse(&format!("http://127.0.0.1{target}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// Waits for the browser's redirect on the loopback listener and returns the code.
async fn wait_for_redirect(listener: tokio::net::TcpListener, state: &str) -> Result<AuthCode> {
    let wait = async {
        loop {
            let (mut sock, _) = listener.accept().await?;
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
            let params = redirect_params(head.lines().next().unwrap_or_default());
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(kk, _)| kk == k)
                    .map(|(_, v)| v.clone())
            };
            let (status, text, outcome) = match (get("code"), get("error")) {
                (Some(code), _) if get("state").as_deref() == Some(state) => (
                    "200 OK",
                    "gstage: login complete; you can close this window.",
                    Some(Ok(AuthCode::new(code))),
                ),
                (_, Some(error)) => (
                    "400 Bad Request",
                    "gstage: the login was not completed.",
                    Some(Err(anyhow::anyhow!(
                        "globus auth did not authorize the login (`{error}`); run `gstage login` again"
                    ))),
                ),
                _ => ("404 Not Found", "gstage: waiting for the login.", None),
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
            let _ = sock.shutdown().await;
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    };
    match tokio::time::timeout(LOOPBACK_WAIT, wait).await {
        Ok(r) => r,
        Err(_) => bail!(
            "no browser came back within {} minutes; run `gstage login` again (or without `--loopback` to paste the code)",
            LOOPBACK_WAIT.as_secs() / 60
        ),
    }
}

/// Runs `gstage login`.
pub fn run(args: &LoginArgs, ctx: &Context) -> Result<()> {
    let config = Config::load()?;
    super::block_on(login(args, ctx.format == Format::Json, &config))?
}

async fn login(opts: &LoginArgs, json: bool, config: &Config) -> Result<()> {
    if Credentials::from_env()?.is_some() {
        bail!(
            "`{}` and `{}` are set: gstage acts as that service identity and needs no login; unset them to log in as yourself",
            crate::env::GSTAGE_CLIENT_ID,
            crate::env::GSTAGE_CLIENT_SECRET
        );
    }
    let client_id = config
        .globus
        .client_id
        .clone()
        .ok_or(crate::globus::Error::MissingClientId)?;
    let requested = opts
        .collection
        .iter()
        .map(|c| setup::resolve_collection(config, c))
        .collect::<Result<Vec<_>, _>>()?;
    let store = TokenStore::default_location()?;
    let previous_login = store.load()?;
    let previous: Vec<CollectionId> = previous_login
        .iter()
        .flat_map(|l| &l.consented_collections)
        .filter_map(|c| c.parse().ok())
        .collect();
    let data_access = data_access_collections(config, &store, &requested, &previous).await;

    let client = setup::client(config, Credentials::None)?;
    let pkce = Pkce::generate();
    let state = random_state();
    let listener = if opts.loopback {
        Some(
            tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .context("opening a loopback port for the login redirect")?,
        )
    } else {
        None
    };
    let redirect_uri = match &listener {
        Some(l) => format!("http://127.0.0.1:{}/", l.local_addr()?.port()),
        None => client.default_redirect_uri(),
    };
    let mut scope_list: Vec<String> = scopes::IDENTITY_SCOPES
        .iter()
        .map(ToString::to_string)
        .collect();
    let ids: Vec<String> = data_access.iter().map(ToString::to_string).collect();
    scope_list.push(scopes::transfer_scope_with_data_access(&ids));
    let request = AuthorizeRequest {
        client_id,
        redirect_uri: redirect_uri.clone(),
        scopes: scope_list,
        state: state.clone(),
        code_challenge: pkce.challenge.clone(),
        session: SessionRequirements {
            domains: opts.domain.clone(),
            identities: opts.identity.clone(),
            policies: opts.policy.clone(),
            mfa: opts.mfa,
        },
        session_message: None,
    };
    let url = request.url(client.auth_url())?;

    let mut err = std::io::stderr().lock();
    let code = match listener {
        Some(listener) => {
            writeln!(
                err,
                "Open this URL in a browser on this computer and log in:\n\n{url}\n\nWaiting for the browser…"
            )?;
            drop(err);
            wait_for_redirect(listener, &state).await?
        }
        None => {
            write!(
                err,
                "Open this URL in a browser (on any computer) and log in:\n\n{url}\n\nThen paste the authorization code here: "
            )?;
            err.flush()?;
            drop(err);
            read_pasted_code()?
        }
    };

    let tokens = client
        .exchange_code(&code, &pkce.verifier, &redirect_uri)
        .await
        .context("exchanging the authorization code")?;
    let now = chrono::Utc::now().timestamp();
    let stored_tokens = tokens.into_stored(now);
    if stored_tokens
        .iter()
        .all(|t| t.resource_server != TRANSFER_RESOURCE_SERVER)
    {
        bail!("globus auth issued no Transfer token; run `gstage login` again");
    }
    if stored_tokens.iter().any(|t| t.refresh_token.is_none()) {
        eprintln!(
            "warning: globus auth issued no refresh token; staging will stop working when the access token expires"
        );
    }
    let identity = match stored_tokens
        .iter()
        .find(|t| t.resource_server == scopes::AUTH_RESOURCE_SERVER)
    {
        Some(t) => {
            let who = setup::client(config, Credentials::AccessToken(t.access_token.clone()))?;
            match who.userinfo().await {
                Ok(u) => Some(u),
                Err(e) => {
                    eprintln!("warning: cannot read who logged in: {e}");
                    None
                }
            }
        }
        None => None,
    };

    let mut login = StoredLogin::new(config.globus.client_id.clone());
    login.identity = identity.as_ref().map(|u: &UserInfo| StoredIdentity {
        id: u.sub.clone(),
        username: u.preferred_username.clone(),
        name: u.name.clone(),
    });
    login.consented_collections = ids;
    for t in stored_tokens {
        login.tokens.insert(t.resource_server.clone(), t);
    }
    {
        let _lock = store.lock()?;
        store.save(&login)?;
    }

    // Configured collections that turn out to need a consent not asked for this time.
    let names = collection_names(config);
    let unknown: Vec<CollectionId> = setup::configured_collections(config)
        .into_iter()
        .filter(|c| !data_access.contains(c))
        .collect();
    let needs = probe(config, &store, &unknown).await;
    let missing: Vec<&CollectionId> = unknown
        .iter()
        .zip(needs)
        .filter(|(_, n)| *n == Need::Yes)
        .map(|(c, _)| c)
        .collect();

    let who = identity.as_ref().map(|u| {
        u.preferred_username
            .clone()
            .unwrap_or_else(|| u.sub.clone())
    });
    if json {
        let v = serde_json::json!({
            "identity": identity,
            "store": store.path(),
            "consented_collections": login.consented_collections,
            "needs_consent": missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "logged in{}; tokens stored in `{}`",
            who.map(|w| format!(" as `{w}`")).unwrap_or_default(),
            store.path().display()
        );
    }
    if !missing.is_empty() {
        let args: Vec<String> = missing
            .iter()
            .map(|c| {
                let arg = names
                    .get(&c.to_string())
                    .and_then(|n| n.alias.clone())
                    .unwrap_or_else(|| c.to_string());
                format!("--collection {arg}")
            })
            .collect();
        let list: Vec<String> = missing.iter().map(|c| describe(&names, c)).collect();
        eprintln!(
            "note: {} also need{} your consent; run `gstage login {}` to give it",
            list.join(", "),
            if missing.len() == 1 { "s" } else { "" },
            args.join(" ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_code_and_state_from_the_redirect_line() {
        let p = redirect_params("GET /?code=abc%2Fd&state=xyz HTTP/1.1");
        assert_eq!(
            p,
            vec![
                ("code".to_string(), "abc/d".to_string()),
                ("state".to_string(), "xyz".to_string())
            ]
        );
        assert!(redirect_params("garbage").is_empty());
        assert!(redirect_params("").is_empty());
    }
}

//! Globus Auth's OAuth2: the native-app authorization code flow with PKCE, refresh, client
//! credentials, revocation and userinfo, written directly over the HTTP client.
//!
//! The PKCE verifier is 32 random bytes, base64url without padding (43 characters); the
//! challenge is base64url(sha256(verifier)), sent with `code_challenge_method=S256`. The
//! authorize URL carries `access_type=offline`, which is what makes Auth issue refresh tokens,
//! and the session requirements (`session_required_*`, `prompt=login`) that high-assurance
//! collections ask for.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::client::{Auth, Call, GlobusClient};
use super::error::{Error, Service};
use super::models::UserInfo;
use super::secret::{AccessToken, AuthCode, CodeVerifier, RefreshToken};
use crate::tokens::StoredToken;

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    /// Kept by the client until the code exchange.
    pub verifier: CodeVerifier,
    /// Sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A new random verifier.
    pub fn generate() -> Pkce {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        Pkce::from_verifier(CodeVerifier::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The challenge of a given verifier.
    pub fn from_verifier(verifier: CodeVerifier) -> Pkce {
        let digest = Sha256::digest(verifier.expose().as_bytes());
        Pkce {
            challenge: URL_SAFE_NO_PAD.encode(digest),
            verifier,
        }
    }
}

/// What a new login session must satisfy (from `--domain`, `--identity`, `--policy`, `--mfa`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRequirements {
    /// `session_required_single_domain`.
    pub domains: Vec<String>,
    /// `session_required_identities`.
    pub identities: Vec<String>,
    /// `session_required_policies`.
    pub policies: Vec<String>,
    /// `session_required_mfa`.
    pub mfa: bool,
}

impl SessionRequirements {
    /// Whether any requirement is set (then the user must authenticate again: `prompt=login`).
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
            && self.identities.is_empty()
            && self.policies.is_empty()
            && !self.mfa
    }
}

/// The parameters of one browser authorization.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// The native app.
    pub client_id: String,
    /// Where Auth sends the browser with the code.
    pub redirect_uri: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// Echoed back with the code, to match a loopback redirect to this request.
    pub state: String,
    /// The PKCE challenge.
    pub code_challenge: String,
    /// Session requirements.
    pub session: SessionRequirements,
    /// Text Auth shows on the login page.
    pub session_message: Option<String>,
}

impl AuthorizeRequest {
    /// The authorize URL, with parameters in the order globus-sdk sends them.
    pub fn url(&self, auth_base: &Url) -> Result<Url, Error> {
        let mut url = auth_base
            .join("v2/oauth2/authorize")
            .map_err(|e| Error::BadUrl {
                url: auth_base.to_string(),
                reason: e.to_string(),
                var: crate::env::GSTAGE_AUTH_URL,
            })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scopes.join(" "))
                .append_pair("state", &self.state)
                .append_pair("response_type", "code")
                .append_pair("code_challenge", &self.code_challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("access_type", "offline");
            let s = &self.session;
            if !s.identities.is_empty() {
                q.append_pair("session_required_identities", &s.identities.join(","));
            }
            if !s.domains.is_empty() {
                q.append_pair("session_required_single_domain", &s.domains.join(","));
            }
            if !s.policies.is_empty() {
                q.append_pair("session_required_policies", &s.policies.join(","));
            }
            if s.mfa {
                q.append_pair("session_required_mfa", "true");
            }
            if let Some(m) = &self.session_message {
                q.append_pair("session_message", m);
            }
            if !s.is_empty() {
                q.append_pair("prompt", "login");
            }
        }
        Ok(url)
    }
}

/// A random `state` value.
pub fn random_state() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One resource server's tokens in a token answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenGrant {
    /// The bearer token.
    pub access_token: AccessToken,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// `Bearer`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Which service the token is for.
    pub resource_server: String,
    /// Present with `access_type=offline`; may be a new (rotated) token on refresh.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
}

fn bearer() -> String {
    "Bearer".to_string()
}

/// A token answer: one grant at the top and one per further resource server.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The top-level grant (which resource server is there is not fixed).
    #[serde(flatten)]
    pub top: TokenGrant,
    /// The other resource servers' grants.
    #[serde(default)]
    pub other_tokens: Vec<TokenGrant>,
}

impl TokenResponse {
    /// All grants, indexed by nothing but their own `resource_server`.
    pub fn grants(&self) -> impl Iterator<Item = &TokenGrant> {
        std::iter::once(&self.top).chain(self.other_tokens.iter())
    }

    /// The grants as store entries, with expiry times computed from `now`.
    pub fn into_stored(self, now: i64) -> Vec<StoredToken> {
        std::iter::once(self.top)
            .chain(self.other_tokens)
            .map(|g| StoredToken {
                resource_server: g.resource_server,
                scope: g.scope,
                access_token: g.access_token,
                refresh_token: g.refresh_token,
                expires_at_seconds: now.saturating_add(g.expires_in.max(0)),
                token_type: g.token_type,
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct Ignored {}

impl GlobusClient {
    /// Where Auth shows the code for the user to paste (the native-app default).
    pub fn default_redirect_uri(&self) -> String {
        format!("{}v2/web/auth-code", self.auth_url())
    }

    fn token_call(&self) -> Call {
        Call::new(Service::Auth, Method::POST, "v2/oauth2/token").auth(Auth::None)
    }

    /// Exchanges an authorization code (native app: `client_id` in the form, no secret).
    pub async fn exchange_code(
        &self,
        code: &AuthCode,
        verifier: &CodeVerifier,
        redirect_uri: &str,
    ) -> Result<TokenResponse, Error> {
        let client_id = self.client_id().ok_or(Error::MissingClientId)?;
        let call = self.token_call().form(vec![
            ("client_id", client_id.to_string()),
            ("grant_type", "authorization_code".into()),
            ("code", code.expose().to_string()),
            ("code_verifier", verifier.expose().to_string()),
            ("redirect_uri", redirect_uri.to_string()),
        ]);
        self.call(call).await
    }

    /// Uses a refresh token; the answer's `refresh_token`, if any, replaces it.
    pub async fn refresh_grant(
        &self,
        client_id: &str,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse, Error> {
        let call = self.token_call().form(vec![
            ("refresh_token", refresh_token.expose().to_string()),
            ("grant_type", "refresh_token".into()),
            ("client_id", client_id.to_string()),
        ]);
        self.call(call).await
    }

    /// The client credentials grant of a confidential client (Basic auth).
    pub async fn client_credentials_grant(&self, scope: &str) -> Result<TokenResponse, Error> {
        let call = self.token_call().auth(Auth::Basic).form(vec![
            ("grant_type", "client_credentials".into()),
            ("scope", scope.to_string()),
        ]);
        self.call(call).await
    }

    async fn revoke(&self, token: &str) -> Result<(), Error> {
        let mut form = vec![("token", token.to_string())];
        let auth = match self.credentials() {
            super::Credentials::Client { .. } => Auth::Basic,
            _ => {
                let client_id = self.client_id().ok_or(Error::MissingClientId)?;
                form.push(("client_id", client_id.to_string()));
                Auth::None
            }
        };
        let call = Call::new(Service::Auth, Method::POST, "v2/oauth2/token/revoke")
            .auth(auth)
            .form(form);
        self.call::<Ignored>(call).await.map(|_| ())
    }

    /// Revokes a refresh token (and with it, at Auth, the tokens it issued).
    pub async fn revoke_refresh_token(&self, token: &RefreshToken) -> Result<(), Error> {
        self.revoke(token.expose()).await
    }

    /// Revokes an access token.
    pub async fn revoke_access_token(&self, token: &AccessToken) -> Result<(), Error> {
        self.revoke(token.expose()).await
    }

    /// Who the credentials belong to.
    pub async fn userinfo(&self) -> Result<UserInfo, Error> {
        self.call(Call::new(Service::Auth, Method::GET, "v2/oauth2/userinfo"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        let p = Pkce::from_verifier(CodeVerifier::new(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(p.challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        let v = a.verifier.expose();
        assert!((43..=128).contains(&v.len()));
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(
            Pkce::from_verifier(a.verifier.clone()).challenge,
            a.challenge
        );
    }

    #[test]
    fn authorize_url_has_the_sdk_parameters() {
        let req = AuthorizeRequest {
            client_id: "cid".into(),
            redirect_uri: "https://auth.globus.org/v2/web/auth-code".into(),
            scopes: vec!["openid".into(), "email".into()],
            state: "st".into(),
            code_challenge: "ch".into(),
            session: SessionRequirements {
                domains: vec!["umanitoba.ca".into()],
                identities: vec![],
                policies: vec!["p1".into(), "p2".into()],
                mfa: true,
            },
            session_message: None,
        };
        let url = req
            .url(&Url::parse("https://auth.globus.org/").unwrap())
            .unwrap();
        assert_eq!(url.path(), "/v2/oauth2/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "response_type",
                "code_challenge",
                "code_challenge_method",
                "access_type",
                "session_required_single_domain",
                "session_required_policies",
                "session_required_mfa",
                "prompt"
            ]
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(kk, _)| kk == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("scope"), Some("openid email"));
        assert_eq!(get("access_type"), Some("offline"));
        assert_eq!(get("session_required_policies"), Some("p1,p2"));
        assert_eq!(get("prompt"), Some("login"));
    }

    #[test]
    fn no_prompt_without_session_requirements() {
        let req = AuthorizeRequest {
            client_id: "c".into(),
            redirect_uri: "r".into(),
            scopes: vec![],
            state: random_state(),
            code_challenge: "x".into(),
            session: SessionRequirements::default(),
            session_message: None,
        };
        let url = req
            .url(&Url::parse("http://127.0.0.1:9/").unwrap())
            .unwrap();
        assert!(!url.query_pairs().any(|(k, _)| k == "prompt"));
    }

    #[test]
    fn token_answers_by_resource_server() {
        let r: TokenResponse = serde_json::from_str(
            r#"{"access_token":"AT-auth","scope":"openid","expires_in":172800,"token_type":"Bearer",
                "resource_server":"auth.globus.org","refresh_token":"RT-auth","id_token":"x","state":"_default",
                "other_tokens":[{"access_token":"AT-tr","scope":"urn:globus:auth:scope:transfer.api.globus.org:all",
                "expires_in":100,"token_type":"Bearer","resource_server":"transfer.api.globus.org","refresh_token":null}]}"#,
        )
        .unwrap();
        assert_eq!(r.grants().count(), 2);
        let stored = r.clone().into_stored(1000);
        assert_eq!(stored[0].resource_server, "auth.globus.org");
        assert_eq!(stored[0].expires_at_seconds, 173800);
        assert_eq!(stored[1].expires_at_seconds, 1100);
        assert!(stored[1].refresh_token.is_none());
        assert!(!format!("{r:?}").contains("AT-"));
        assert!(serde_json::from_str::<TokenResponse>(r#"{"scope":"x"}"#).is_err());
    }
}

//! OpenID Connect sign-in: the authorization code flow with PKCE (S256) and a nonce,
//! through the `openidconnect` crate, against each provider in the settings (NHS CIS2,
//! Microsoft Entra ID, or any OpenID provider). The provider's discovery document is read
//! when first needed and kept; the ID token's signature, issuer, audience, expiry and
//! nonce are checked by the crate. The person is then the registered, active user with
//! that issuer and subject.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest,
    HttpResponse, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use tokio::sync::Mutex;

use super::settings::Provider;

/// Why a sign-in could not go on.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the identity provider's answer failed its checks: {0}")]
    Token(String),
    #[error("this service's sign-in address is misconfigured: {0}")]
    Config(String),
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
}

/// Where to send the browser, and what the callback must check.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// One provider and its discovery document once read.
pub struct OidcProvider {
    pub provider: Provider,
    metadata: Mutex<Option<Arc<CoreProviderMetadata>>>,
    http: Http,
}

impl OidcProvider {
    pub fn new(provider: Provider) -> OidcProvider {
        OidcProvider {
            provider,
            metadata: Mutex::new(None),
            // Never follow redirects from an identity provider's endpoints (SSRF).
            http: Http(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .expect("an HTTP client"),
            ),
        }
    }

    async fn metadata(&self) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        let mut cached = self.metadata.lock().await;
        if let Some(m) = cached.as_ref() {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.provider.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let metadata = Arc::new(metadata);
        *cached = Some(metadata.clone());
        Ok(metadata)
    }

    /// The provider's authorization URL for a sign-in returning to `redirect`.
    pub async fn start(&self, redirect: &str) -> Result<Started, OidcError> {
        let metadata = self.metadata().await?;
        let client = self.client(&metadata, redirect)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the callback's code and checks the ID token; who signed in.
    pub async fn finish(
        &self,
        redirect: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcError> {
        let metadata = self.metadata().await?;
        let client = self.client(&metadata, redirect)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::Token("no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| OidcError::Token(e.to_string()))?;
        Ok(Identity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
        })
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
        redirect: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let redirect = RedirectUrl::new(redirect.to_owned())
            .map_err(|e| OidcError::Config(format!("redirect URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.provider.client_id.clone()),
            Some(ClientSecret::new(
                self.provider.client_secret.expose().to_owned(),
            )),
        )
        .set_redirect_uri(redirect))
    }
}

/// The crate's HTTP client: the process's reqwest, redirects off.
#[derive(Clone)]
struct Http(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One HTTP exchange for the crate.
async fn send(
    http: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let mut sent = http.request(parts.method, parts.uri.to_string());
    for (name, value) in &parts.headers {
        sent = sent.header(name, value);
    }
    let answer = sent.body(body).send().await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await?.to_vec();
    let mut response = HttpResponse::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

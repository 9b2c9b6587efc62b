//! The OIDC test provider and its harness, end to end: start, discovery, sign-in through the
//! HTML form, code exchange, the ID token's claims, the request counters, and key rotation on
//! restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use holdfast_testkit::oidc::{ClientSpec, Provider, SigningAlg, Stats};
use reqwest::Url;
use serde_json::Value;
use sha2::{Digest, Sha256};

const RP_REDIRECT: &str = "http://127.0.0.1:9/auth/oidc/callback";

fn clients() -> Vec<ClientSpec> {
    vec![
        ClientSpec::new("holdfast", "holdfast-secret", RP_REDIRECT),
        ClientSpec {
            client_id: "other-app".into(),
            client_secret: "other secret+with:odd%chars".into(),
            redirect_uris: vec!["http://127.0.0.1:9/other/callback".into()],
        },
    ]
}

/// The JOSE header and claims of a compact JWS, unverified.
fn decode(jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS: {jwt}");
    let part = |p: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
    };
    (part(parts[0]), part(parts[1]))
}

fn expected_sub(email: &str) -> String {
    let hex: String = Sha256::digest(email.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sub-{}", &hex[..16])
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url)
        .expect("URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn sign_in_code_exchange_claims_stats_and_rotation() {
    let mut provider = Provider::start(clients()).await;
    let issuer = provider.issuer();
    assert_eq!(issuer, format!("http://127.0.0.1:{}", provider.port()));
    assert_eq!(provider.stats().await, Stats::default());

    let discovery = provider.discovery().await;
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(
        discovery["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "RS256")
    );

    let jwks = provider.jwks_json().await;
    let kids = jwks_kids(&jwks);
    assert_eq!(kids.len(), 1, "one signing key: {jwks}");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private parts in the JWKS"
    );

    // A verified user, through the harness's own code flow.
    let client = &provider.clients()[0].clone();
    let id_token = provider
        .id_token_for(client, "alice@example.com", "nonce-1")
        .await;
    let (header, claims) = decode(&id_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kids[0].as_str());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], "holdfast");
    assert_eq!(claims["nonce"], "nonce-1");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["sub"], expected_sub("alice@example.com").as_str());
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // Discovery twice (jwks_json, id_token_for) plus the start's own none; one of each else.
    assert_eq!(
        provider.stats().await,
        Stats {
            discovery: 3,
            jwks: 1,
            token: 1,
            authorize: 1
        }
    );

    // An unverified address, and a client whose secret needs form-encoding in Basic auth.
    let other = provider.clients()[1].clone();
    let (_, claims) = decode(
        &provider
            .id_token_for(&other, "unverified:bob@example.com", "n2")
            .await,
    );
    assert_eq!(claims["aud"], "other-app");
    assert_eq!(claims["email"], "bob@example.com");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["sub"], expected_sub("bob@example.com").as_str());

    // sign_in on its own returns the relying party's redirect, untouched by the harness.
    let authorize = Url::parse_with_params(
        &format!("{issuer}/auth"),
        [
            ("response_type", "code"),
            ("client_id", "holdfast"),
            ("redirect_uri", RP_REDIRECT),
            ("scope", "openid email"),
            ("state", "st-3"),
            ("nonce", "n3"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let back = provider
        .sign_in(authorize.as_str(), "carol@example.com")
        .await
        .unwrap();
    assert!(back.starts_with(&format!("{RP_REDIRECT}?")), "{back}");
    let pairs = query(&back);
    assert_eq!(param(&pairs, "state").as_deref(), Some("st-3"));
    assert!(param(&pairs, "code").is_some_and(|c| !c.is_empty()));
    assert_eq!(param(&pairs, "iss").as_deref(), Some(issuer.as_str()));

    // PKCE is required: without a challenge the client gets an error redirect, no sign-in.
    let mut no_pkce = authorize.clone();
    no_pkce.query_pairs_mut().clear().extend_pairs([
        ("response_type", "code"),
        ("client_id", "holdfast"),
        ("redirect_uri", RP_REDIRECT),
        ("scope", "openid email"),
        ("state", "st-4"),
    ]);
    let back = provider
        .sign_in(no_pkce.as_str(), "carol@example.com")
        .await
        .unwrap();
    let pairs = query(&back);
    assert_eq!(
        param(&pairs, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    assert_eq!(param(&pairs, "state").as_deref(), Some("st-4"));

    // An unknown client cannot be redirected to: the provider shows an error page.
    let bad = Url::parse_with_params(
        &format!("{issuer}/auth"),
        [
            ("response_type", "code"),
            ("client_id", "nobody"),
            ("redirect_uri", RP_REDIRECT),
            ("scope", "openid"),
        ],
    )
    .unwrap();
    let err = provider
        .sign_in(bad.as_str(), "carol@example.com")
        .await
        .unwrap_err();
    assert!(err.contains("invalid_client"), "{err}");

    // Restart on the same port: same issuer, a new key id, the same subjects, fresh counters.
    let port = provider.port();
    provider.restart().await;
    assert_eq!(provider.port(), port);
    assert_eq!(provider.issuer(), issuer);
    assert_eq!(provider.stats().await, Stats::default());
    let new_kids = jwks_kids(&provider.jwks_json().await);
    assert_eq!(new_kids.len(), 1);
    assert_ne!(new_kids[0], kids[0], "restart rotates the signing key");
    let (header, claims) = decode(
        &provider
            .id_token_for(client, "alice@example.com", "nonce-after-restart")
            .await,
    );
    assert_eq!(header["kid"], new_kids[0].as_str());
    assert_eq!(claims["sub"], expected_sub("alice@example.com").as_str());
    assert_eq!(claims["nonce"], "nonce-after-restart");
    assert!(
        !provider.output().contains("stdout:"),
        "nothing but LISTENING on stdout: {}",
        provider.output()
    );
}

#[tokio::test]
async fn es256_and_fixed_port() {
    // Find a free port, then ask for it explicitly.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let provider = Provider::start_with(port, clients(), SigningAlg::Es256).await;
    assert_eq!(provider.port(), port);
    let jwks = provider.jwks_json().await;
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    let client = provider.clients()[0].clone();
    let (header, claims) = decode(
        &provider
            .id_token_for(&client, "dave@example.com", "n")
            .await,
    );
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["email"], "dave@example.com");
}

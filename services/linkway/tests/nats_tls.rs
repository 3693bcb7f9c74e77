//! NATS over mutual TLS: the deployment's configuration (`deploy/nats/linkway.conf`) with
//! a `tls` block that verifies clients, run by a real nats-server, and certificates made
//! for the test by Debian's `openssl`. Linkway connects with `LINKWAY_NATS_CA_FILE`,
//! `LINKWAY_NATS_CERT_FILE` and `LINKWAY_NATS_KEY_FILE` (and its user's password) and
//! creates the stream; the server refuses a client without a certificate, one that does
//! not trust the server's CA, and one without TLS. Both rustls providers are compiled into
//! the workspace; the TLS connection works because Linkway installs one.

use std::path::{Path, PathBuf};

use linkway::Settings;
use linkway_platform::secret::Secret;
use linkway_testkit::Nats;
use linkway_testkit::certs::{self, Usage};

const PASSWORDS: [(&str, &str); 6] = [
    ("NATS_INTAKE_PASSWORD", "tls-intake-0123456789"),
    ("NATS_LINK_WORKER_PASSWORD", "tls-lw-0123456789"),
    ("NATS_REPORTING_PASSWORD", "tls-reporting-0123456789"),
    ("NATS_REGISTRY_PASSWORD", "tls-registry-0123456789"),
    ("NATS_OPERATOR_PASSWORD", "tls-operator-0123456789"),
    ("NATS_SYSTEM_PASSWORD", "tls-system-0123456789"),
];

/// A CA, a server certificate for 127.0.0.1 and a client certificate, signed by it, in
/// `dir`: `ca.pem`, `server.pem`/`server.key`, `client.pem`/`client.key`.
fn certificates(dir: &Path) {
    certs::ca(dir, "Linkway test CA");
    certs::issue(
        dir,
        "server",
        "server",
        Usage::Server,
        "IP:127.0.0.1,DNS:localhost",
    );
    certs::issue(dir, "client", "client", Usage::Client, "DNS:linkway-intake");
}

/// nats-server with the shipped configuration and mutual TLS on client connections.
fn tls_nats(dir: &Path) -> Nats {
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/linkway.conf");
    let config = dir.join("tls.conf");
    std::fs::write(
        &config,
        format!(
            "include {}\ntls {{\n  cert_file: \"{d}/server.pem\"\n  key_file: \"{d}/server.key\"\n  ca_file: \"{d}/ca.pem\"\n  verify: true\n}}\n",
            shipped.display(),
            d = dir.display()
        ),
    )
    .unwrap();
    Nats::start_with_config(&config, &PASSWORDS).expect("nats-server with TLS")
}

fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[tokio::test]
async fn linkway_connects_over_mutual_tls_and_the_server_refuses_clients_without_it() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let nats = tls_nats(dir.path());
    let url = nats.url();

    // Linkway, as the operator, with the CA and its client certificate: it creates the
    // stream over TLS.
    let mut settings = Settings {
        nats_url: vec![url.replace("nats://", &format!("nats://operator:{}@", PASSWORDS[4].1))],
        ..Settings::defaults()
    };
    settings.nats_access.nats_ca_file = Some(file(dir.path(), "ca.pem"));
    settings.nats_access.nats_cert_file = Some(file(dir.path(), "client.pem"));
    settings.nats_access.nats_key_file = Some(file(dir.path(), "client.key"));
    let (client, store) = linkway::serve::connect_store(&settings)
        .await
        .expect("connects over TLS");
    assert!(client.server_info().tls_required, "the server requires TLS");
    assert_eq!(store.last_sequence().await.unwrap(), 0);
    // A service's own user over the same TLS files reads the stream Linkway made.
    settings.nats_access.nats_users =
        vec![Secret::new(format!("intake=intake:{}", PASSWORDS[0].1))];
    let (_, intake) = linkway::serve::connect_store_as(
        &settings,
        Some(linkway::config::Connection::Service(
            linkway::ServiceName::Intake,
        )),
    )
    .await
    .expect("intake's user over TLS");
    assert_eq!(intake.last_sequence().await.unwrap(), 0);

    // Refused: no client certificate; a client that does not trust the server's CA; no
    // TLS at all. (Plain clients, which give up rather than retry.)
    let operator = || {
        async_nats::ConnectOptions::new()
            .user_and_password("operator".into(), PASSWORDS[4].1.into())
            .connection_timeout(std::time::Duration::from_secs(5))
    };
    let no_certificate = operator()
        .require_tls(true)
        .add_root_certificates(file(dir.path(), "ca.pem"))
        .connect(&url)
        .await;
    assert!(
        no_certificate.is_err(),
        "a client without a certificate connected"
    );
    let other_ca = dir.path().join("other");
    std::fs::create_dir(&other_ca).unwrap();
    certificates(&other_ca);
    let untrusted = operator()
        .require_tls(true)
        .add_root_certificates(file(&other_ca, "ca.pem"))
        .add_client_certificate(
            file(dir.path(), "client.pem"),
            file(dir.path(), "client.key"),
        )
        .connect(&url)
        .await;
    assert!(untrusted.is_err(), "a client trusting another CA connected");
    let foreign_certificate = operator()
        .require_tls(true)
        .add_root_certificates(file(dir.path(), "ca.pem"))
        .add_client_certificate(file(&other_ca, "client.pem"), file(&other_ca, "client.key"))
        .connect(&url)
        .await;
    assert!(
        foreign_certificate.is_err(),
        "a client certificate of another CA was accepted"
    );
    let plain = operator().connect(&url).await;
    assert!(plain.is_err(), "a client without TLS connected");
}

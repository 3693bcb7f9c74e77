//! Certificates for TLS tests, made at test time by Debian's `openssl`: a CA, and
//! certificates it signs for servers and clients (EC P-256, valid two days).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl args` in `dir`, panicking with what it said when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl package) runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A CA in `dir`: `ca.pem` and `ca.key`, its subject `/CN=<common_name>`.
pub fn ca(dir: &Path, common_name: &str) {
    let subject = format!("/CN={common_name}");
    let mut args = vec!["req", "-x509"];
    args.extend(KEY);
    args.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    args.extend(["-subj", &subject]);
    openssl(dir, &args);
}

/// What a certificate is for: its extended key usage.
#[derive(Debug, Clone, Copy)]
pub enum Usage {
    Server,
    Client,
}

/// A certificate signed by `dir`'s CA ([`ca`]): `<name>.pem` and `<name>.key`, subject
/// `/CN=<common_name>`, `san` its subject alternative names (e.g.
/// `IP:127.0.0.1,DNS:localhost`). Returns the two paths.
pub fn issue(
    dir: &Path,
    name: &str,
    common_name: &str,
    usage: Usage,
    san: &str,
) -> (PathBuf, PathBuf) {
    let (csr, pem, key, ext) = (
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("{name}.ext"),
    );
    let usage = match usage {
        Usage::Server => "serverAuth",
        Usage::Client => "clientAuth",
    };
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName={san}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    let subject = format!("/CN={common_name}");
    let mut req = vec!["req"];
    req.extend(KEY);
    req.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
    openssl(dir, &req);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    (dir.join(pem), dir.join(key))
}

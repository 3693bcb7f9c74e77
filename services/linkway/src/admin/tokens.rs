//! `linkway admin token list`: every token the log holds, with when each was last used
//! (from the services' `token_usage` bookkeeping, to the minute). Never a secret: the log
//! holds only each secret's SHA-256, and this shows not even that.

use std::collections::HashMap;
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::ServiceName;
use crate::config::Settings;
use linkway_platform::registry::admin::Registry;

/// When each token was last used against any service, and the services that could not
/// be asked.
#[derive(Debug, Default)]
pub struct LastUsed {
    pub times: HashMap<Uuid, OffsetDateTime>,
    pub unread: Vec<&'static str>,
}

/// Reads every service's `token_usage` table and keeps the latest time per token. A
/// service whose database is missing or unreachable is named in `unread`, not an error:
/// the list is still worth showing.
pub async fn last_used(settings: &Settings) -> LastUsed {
    let mut last = LastUsed::default();
    for service in ServiceName::ALL {
        match read_usage(settings, service.name()).await {
            Ok(rows) => {
                for (token_id, at) in rows {
                    let entry = last.times.entry(token_id).or_insert(at);
                    *entry = (*entry).max(at);
                }
            }
            Err(_) => last.unread.push(service.name()),
        }
    }
    last
}

async fn read_usage(
    settings: &Settings,
    service: &str,
) -> Result<Vec<(Uuid, OffsetDateTime)>, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::from_str(settings.database_url().expose())?;
    config.dbname(settings.database_name(service));
    config.application_name("linkway-admin");
    config.connect_timeout(std::time::Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let connection = tokio::spawn(connection);
    let rows = client
        .query("SELECT token_id, last_used_at FROM token_usage", &[])
        .await;
    drop(client);
    let _ = connection.await;
    Ok(rows?.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn when(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// The list as a table, oldest token first; only `organisation`'s when given. Without
/// `last_used` (no database to ask) the column says `unknown`.
pub fn render(
    registry: &Registry,
    organisation: Option<&str>,
    last_used: Option<&LastUsed>,
) -> String {
    let mut tokens: Vec<_> = registry
        .tokens
        .values()
        .filter(|t| organisation.is_none_or(|o| t.issued.organisation_id == o))
        .collect();
    tokens.sort_by_key(|t| (t.created_at, t.issued.token_id));
    let mut rows = vec![
        [
            "token_id",
            "organisation",
            "role",
            "user",
            "label",
            "created",
            "last_used",
            "state",
        ]
        .map(str::to_owned),
    ];
    for t in tokens {
        let used = match last_used {
            None => "unknown".to_owned(),
            Some(l) => l
                .times
                .get(&t.issued.token_id)
                .map_or_else(|| "never".to_owned(), |at| when(*at)),
        };
        let state = t
            .revoked_at
            .map_or_else(|| "live".to_owned(), |at| format!("revoked {}", when(at)));
        rows.push([
            t.issued.token_id.to_string(),
            t.issued.organisation_id.clone(),
            t.issued.role.as_str().to_owned(),
            t.issued.user_id.clone().unwrap_or_else(|| "-".into()),
            t.issued.label.clone().unwrap_or_else(|| "-".into()),
            when(t.created_at),
            used,
            state,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    if let Some(l) = last_used.filter(|l| !l.unread.is_empty()) {
        out.push(format!(
            "(last_used leaves out services whose database could not be read: {})",
            l.unread.join(", ")
        ));
    }
    out.join("\n")
}

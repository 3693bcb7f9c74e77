//! `linkway admin token`: the expiry flags of `create` and `rotate`, what `rotate`
//! prints, and `list`: every token the log holds, with when it expires and when it was
//! last used (from the services' `token_usage` bookkeeping, to the minute). Never a
//! secret: the log holds only each secret's SHA-256, and `list` shows not even that.

use std::collections::HashMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::ServiceName;
use crate::config::Settings;
use linkway_platform::registry::admin::{Expiry, Registry, RotatedToken};

/// When a token being issued expires: the configured lifetime unless one flag says.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExpiryArgs {
    /// It expires this long after it is issued, e.g. 30d, 12h, 90m (default
    /// LINKWAY_TOKEN_LIFETIME_DAYS).
    #[arg(long, value_parser = parse_duration, conflicts_with = "expires_at")]
    pub expires_in: Option<time::Duration>,
    /// It expires at this time (RFC 3339, e.g. 2026-03-31T17:00:00Z), in the future.
    #[arg(long, value_parser = parse_time)]
    pub expires_at: Option<OffsetDateTime>,
}

impl ExpiryArgs {
    pub fn expiry(&self) -> Expiry {
        match (self.expires_in, self.expires_at) {
            (Some(after), _) => Expiry::In(after),
            (None, Some(at)) => Expiry::At(at),
            (None, None) => Expiry::Default,
        }
    }
}

/// `<count><s|m|h|d>`, e.g. `90d`, `12h`, `0s`.
pub fn parse_duration(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let wrong = || format!("{text:?}: write a whole number and a unit, e.g. 30d, 12h, 90m, 45s");
    let split = text.len().checked_sub(1).ok_or_else(wrong)?;
    let (count, unit) = text.split_at(split);
    let count: i64 = count.parse().ok().filter(|c| *c >= 0).ok_or_else(wrong)?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(wrong()),
    };
    count
        .checked_mul(unit_secs)
        .filter(|secs| *secs <= 10 * 365 * 86_400)
        .map(time::Duration::seconds)
        .ok_or_else(|| format!("{text:?}: at most ten years"))
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| format!("{text:?}: write an RFC 3339 time, e.g. 2026-03-31T17:00:00Z"))
}

/// What `token rotate` prints: the successor's id, the old token's id and when it
/// stops, then the secret alone on the last line.
pub fn rotated(rotated: &RotatedToken) -> String {
    format!(
        "{}\n{} stops {}\n{}",
        rotated.successor.token_id,
        rotated.replaced,
        when(rotated.replaced_stops_at),
        rotated.successor.secret
    )
}

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
) -> anyhow::Result<Vec<(Uuid, OffsetDateTime)>> {
    // Over TLS when LINKWAY_DATABASE_CA_FILE is set, as every other connection.
    let server = settings.database_server();
    let mut config = server.config()?;
    config.dbname(settings.database_name(service));
    config.application_name("linkway-admin");
    config.connect_timeout(std::time::Duration::from_secs(5));
    let (client, connection) = server.connect(&config).await?;
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
/// `last_used` (no database to ask) the column says `unknown`. A token's state at `now`:
/// `live`, `rotated to <id>` (live until it expires), `expired`, or `revoked <when>`.
pub fn render(
    registry: &Registry,
    organisation: Option<&str>,
    last_used: Option<&LastUsed>,
    now: OffsetDateTime,
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
            "expires",
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
        let state = match (t.revoked_at, t.is_live(now), t.replaced_by) {
            (Some(at), _, _) => format!("revoked {}", when(at)),
            (None, false, _) => "expired".to_owned(),
            (None, true, Some(successor)) => format!("rotated to {successor}"),
            (None, true, None) => "live".to_owned(),
        };
        let expires = t.expires_at.map_or_else(|| "never".to_owned(), when);
        rows.push([
            t.issued.token_id.to_string(),
            t.issued.organisation_id.clone(),
            t.issued.role.as_str().to_owned(),
            t.issued.user_id.clone().unwrap_or_else(|| "-".into()),
            t.issued.label.clone().unwrap_or_else(|| "-".into()),
            when(t.created_at),
            expires,
            used,
            state,
        ]);
    }
    let widths: Vec<usize> = (0..9)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("90d"), Ok(time::Duration::days(90)));
        assert_eq!(parse_duration(" 12h"), Ok(time::Duration::hours(12)));
        assert_eq!(parse_duration("0s"), Ok(time::Duration::ZERO));
        for bad in ["", "d", "5", "-1h", "1.5h", "3w", "99999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

//! Reading the audit trail: the filters `listAudit` and the page share (read from the
//! query string, each refusal naming its field and rule), who sees which entries, and the
//! SQL.

use linkway_events::Role;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::problem::FieldError;

/// The roles that may read the audit trail.
pub const ROLES: &[Role] = &[Role::IgLead, Role::Admin];

/// Longest `user_id` filter.
pub const USER_ID_MAX: usize = 128;

/// The filters as sent (query parameters or the page's form).
#[derive(Debug, Default, Clone)]
pub struct Asked<'a> {
    pub referral_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// The filters, checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    pub referral_id: Option<Uuid>,
    pub user_id: Option<String>,
    /// Entries recorded at or after.
    pub from: Option<OffsetDateTime>,
    /// Entries recorded before.
    pub to: Option<OffsetDateTime>,
}

impl Filter {
    /// Checks what was asked, adding what is wrong to `errors`. Empty values are no filter.
    /// `from` and `to` are RFC 3339 date-times or dates (`YYYY-MM-DD`, UTC): a date in
    /// `from` starts at its midnight, a date in `to` includes its whole day.
    pub fn read(asked: &Asked<'_>, errors: &mut Vec<FieldError>) -> Filter {
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let referral_id = given(asked.referral_id).and_then(|v| match Uuid::parse_str(&v) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(
                    "referral_id",
                    "uuid",
                    "must be a referral id (a UUID)",
                ));
                None
            }
        });
        let user_id = given(asked.user_id).filter(|v| {
            let ok = v.chars().count() <= USER_ID_MAX && !v.chars().any(char::is_control);
            if !ok {
                errors.push(FieldError::new(
                    "user_id",
                    "text",
                    format!(
                        "must be at most {USER_ID_MAX} characters, none of them control characters"
                    ),
                ));
            }
            ok
        });
        let from = given(asked.from).and_then(|v| instant("from", &v, false, errors));
        let to = given(asked.to).and_then(|v| instant("to", &v, true, errors));
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            errors.push(FieldError::new("to", "after_from", "must be after `from`"));
        }
        Filter {
            referral_id,
            user_id,
            from,
            to,
        }
    }
}

/// A date-time, or a date's midnight (`end_of_day`: the next midnight, so the day is in).
fn instant(
    field: &str,
    value: &str,
    end_of_day: bool,
    errors: &mut Vec<FieldError>,
) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t);
    }
    match Date::parse(value, format_description!("[year]-[month]-[day]")) {
        Ok(d) => {
            let midnight = d.with_time(Time::MIDNIGHT).assume_utc();
            Some(if end_of_day {
                midnight + Duration::DAY
            } else {
                midnight
            })
        }
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "date_time",
                "must be a date (YYYY-MM-DD) or an RFC 3339 date-time",
            ));
            None
        }
    }
}

/// Whose entries a caller sees: an administrator every entry; an IG lead those its
/// organisation's people made and those about referrals it sent or received.
pub fn scope(principal: &Principal) -> Option<&str> {
    (principal.role != Role::Admin).then_some(principal.organisation_id.as_str())
}

/// One entry of the trail: who did or saw what of which referral's record, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// The stream sequence of the event recording it.
    pub sequence: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: OffsetDateTime,
    /// The actor's organisation.
    pub organisation_id: String,
    /// The actor, when a person (absent for tokens without a user and for Linkway itself).
    pub user_id: Option<String>,
    /// The actor's role (`link_worker`, `referrer`, `system` ...).
    pub role: String,
    /// A read's operationId (`getCase`, `getCaseloadPage` ...), or a command's event type
    /// (`case.contact_made` ...).
    pub operation: String,
    /// `audit.recorded` for a read; the event type for a command.
    pub event_type: String,
    pub referral_id: Uuid,
    /// Why, where the person gave a reason (`direct_care`, `safeguarding` ...).
    pub reason: Option<String>,
}

/// A page of the trail, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries matching the filters (all pages).
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub items: Vec<AuditEntry>,
}

const WHERE: &str = "($1::text IS NULL OR e.organisation_id = $1 OR e.referral_id IN
         (SELECT p.referral_id FROM audit.parties p WHERE p.organisation_id = $1))
     AND ($2::uuid IS NULL OR e.referral_id = $2)
     AND ($3::text IS NULL OR e.user_id = $3)
     AND ($4::timestamptz IS NULL OR e.recorded_at >= $4)
     AND ($5::timestamptz IS NULL OR e.recorded_at < $5)";

/// The entries `scope` sees matching `filter`, newest first, in one snapshot.
pub async fn page(
    client: &mut deadpool_postgres::Client,
    scope: Option<&str>,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<AuditPage, tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &scope,
        &filter.referral_id,
        &filter.user_id,
        &filter.from,
        &filter.to,
    ];
    let total: i64 = tx
        .query_one(
            &format!("SELECT count(*) FROM audit.entries e WHERE {WHERE}"),
            &params,
        )
        .await?
        .get(0);
    let mut with_paging: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.to_vec();
    with_paging.push(&limit);
    with_paging.push(&offset);
    let rows = tx
        .query(
            &format!(
                "SELECT e.sequence, e.recorded_at, e.organisation_id, e.user_id, e.role,
                        e.operation, e.event_type, e.referral_id, e.reason
                 FROM audit.entries e WHERE {WHERE}
                 ORDER BY e.sequence DESC, e.referral_id LIMIT $6 OFFSET $7"
            ),
            &with_paging,
        )
        .await?;
    tx.commit().await?;
    let items = rows
        .iter()
        .map(|r| AuditEntry {
            sequence: r.get::<_, i64>(0) as u64,
            recorded_at: r.get(1),
            organisation_id: r.get(2),
            user_id: r.get(3),
            role: r.get(4),
            operation: r.get(5),
            event_type: r.get(6),
            referral_id: r.get(7),
            reason: r.get(8),
        })
        .collect();
    Ok(AuditPage {
        total,
        limit,
        offset,
        items,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn read(asked: Asked<'_>) -> (Filter, Vec<(String, String)>) {
        let mut errors = Vec::new();
        let filter = Filter::read(&asked, &mut errors);
        (
            filter,
            errors.into_iter().map(|e| (e.field, e.rule)).collect(),
        )
    }

    #[test]
    fn dates_cover_whole_days_and_date_times_are_exact() {
        let (f, errors) = read(Asked {
            from: Some("2026-11-30"),
            to: Some("2026-11-30"),
            user_id: Some(" "),
            ..Asked::default()
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(f.from, Some(datetime!(2026-11-30 0:00 UTC)));
        assert_eq!(f.to, Some(datetime!(2026-12-01 0:00 UTC)));
        assert_eq!(f.user_id, None, "an empty field is no filter");
        let (f, errors) = read(Asked {
            from: Some("2026-11-30T09:15:00+01:00"),
            ..Asked::default()
        });
        assert!(errors.is_empty());
        assert_eq!(f.from, Some(datetime!(2026-11-30 8:15 UTC)));
    }

    #[test]
    fn each_bad_filter_is_named_with_its_rule() {
        let long = "u".repeat(USER_ID_MAX + 1);
        let (_, errors) = read(Asked {
            referral_id: Some("not-a-uuid"),
            user_id: Some(&long),
            from: Some("yesterday"),
            to: Some("2026-13-01"),
        });
        let named: Vec<(&str, &str)> = errors
            .iter()
            .map(|(f, r)| (f.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("referral_id", "uuid"),
                ("user_id", "text"),
                ("from", "date_time"),
                ("to", "date_time")
            ]
        );
        let (_, errors) = read(Asked {
            from: Some("2026-12-02"),
            to: Some("2026-12-01"),
            ..Asked::default()
        });
        assert_eq!(errors, [("to".to_owned(), "after_from".to_owned())]);
    }
}

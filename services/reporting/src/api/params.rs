//! What both operations parse and check the same way: the query string, the commissioner
//! area the caller may read, months, and `?min_sequence=`.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::{ApiError, Checkpoint, Database, FieldError, registry};
use time::Date;

/// The query string, or a 422 problem naming what is wrong with it.
pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|rejection| {
        ApiError::Validation(vec![FieldError::new(
            "query",
            "schema",
            rejection.body_text(),
        )])
    })
}

/// The commissioner area the caller may read.
pub(super) async fn area_for(
    db: &Database,
    principal: &Principal,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    principal.require(&[Role::Commissioner, Role::Admin])?;
    if principal.role == Role::Admin {
        return requested
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::field(
                    "area",
                    "required",
                    "an administrator must name the commissioner area",
                )
            });
    }
    let client = db.client().await?;
    let own = registry::organisation(&client, &principal.organisation_id)
        .await?
        .and_then(|o| o.commissioner_area)
        .ok_or(ApiError::Forbidden)?;
    match requested {
        Some(a) if a != own => Err(ApiError::Forbidden),
        _ => Ok(own),
    }
}

pub(super) async fn wait_for(
    checkpoint: &Checkpoint,
    min_sequence: Option<u64>,
) -> Result<(), ApiError> {
    linkway_platform::read_your_writes::reach(checkpoint, min_sequence).await
}

pub(super) fn parse_month(field: &str, value: Option<&str>) -> Result<Option<Date>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let bad = || FieldError::new(field, "month_format", "a month is written YYYY-MM");
    let (y, m) = value.split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, 1)
        .map(Some)
        .map_err(|_| bad())
}

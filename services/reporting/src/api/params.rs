//! What both operations parse and check the same way: the commissioner
//! area the caller may read, months, and `?min_sequence=`.

use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::text::Text;
use linkway_platform::{ApiError, Checkpoint, Database, FieldError, registry};
use time::Date;

/// A commissioner area as a query names it (blank is none).
pub const AREA: Text = Text::line(64);
/// A month, `YYYY-MM`.
pub const MONTH_PATTERN: &str = "^[0-9]{4}-(?:0[1-9]|1[0-2])$";
/// A month on a page's form: `YYYY-MM`, or empty for none.
pub const PAGE_MONTH_PATTERN: &str = "^(?:[0-9]{4}-(?:0[1-9]|1[0-2]))?$";
/// A feed cursor: the `next_cursor` of an answer (digits), or empty for the beginning.
pub const CURSOR_PATTERN: &str = "^[0-9]{0,19}$";

/// The query parameters' formats, stated in the document from the constants above (a
/// derived document would say only "string").
pub struct ExactParameters;

impl utoipa::Modify for ExactParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let string = |pattern: &str, max: Option<usize>| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .max_length(max)
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            // A page's GET form sends an empty field for "no limit".
            let page = crate::pages::PATHS.contains(&path.as_str());
            for op in item.get.iter_mut() {
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    let schema = match p.name.as_str() {
                        "area" => string(AREA.pattern(), Some(AREA.max_chars)),
                        "from" | "to" if page => string(PAGE_MONTH_PATTERN, None),
                        "from" | "to" => string(MONTH_PATTERN, None),
                        "cursor" => string(CURSOR_PATTERN, None),
                        _ => continue,
                    };
                    p.schema = Some(RefOr::T(schema.into()));
                }
            }
        }
    }
}

/// The commissioner area the caller may read.
pub(crate) async fn area_for(
    db: &Database,
    principal: &Principal,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    principal.require(&[Role::Commissioner, Role::Admin])?;
    let requested = match requested.map(|a| AREA.clean(a)) {
        None => None,
        Some(Ok(area)) => area,
        Some(Err(e)) => return Err(ApiError::field("area", e.rule(), &format!("area {e}"))),
    };
    let requested = requested.as_deref();
    // An administrator belongs to no commissioner: it reads the area it names, and without
    // one there is no area it may read (as for a commissioner whose organisation has none).
    if principal.role == Role::Admin {
        return requested.map(str::to_owned).ok_or(ApiError::Forbidden);
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

/// A feed cursor (see [`CURSOR_PATTERN`]): 0 when absent or empty.
pub(super) fn parse_cursor(value: Option<&str>) -> Result<u64, ApiError> {
    let value = value.unwrap_or_default();
    let digits = value.len() <= 19 && value.bytes().all(|b| b.is_ascii_digit());
    match value {
        "" => Ok(0),
        v if digits => v.parse().map_err(|_| cursor_refused()),
        _ => Err(cursor_refused()),
    }
}

fn cursor_refused() -> ApiError {
    ApiError::field(
        "cursor",
        "cursor_format",
        "pass back a next_cursor this feed gave",
    )
}

/// A month (see [`MONTH_PATTERN`]), or what is wrong with it.
pub(crate) fn parse_month(field: &str, value: Option<&str>) -> Result<Option<Date>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let bad = || FieldError::new(field, "month_format", "a month is written YYYY-MM");
    let (y, m) = value.split_once('-').ok_or_else(bad)?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(y, 4) || !digits(m, 2) {
        return Err(bad());
    }
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, 1)
        .map(Some)
        .map_err(|_| bad())
}

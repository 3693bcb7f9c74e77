//! The one paging rule of every list: `limit` 1-200 (default 50), `offset` 0 or more
//! (default 0); anything else is a 422 naming the parameter, never silently corrected.

use crate::problem::{ApiError, FieldError};

/// Rows per page when the caller names none.
pub const DEFAULT_LIMIT: i64 = 50;
/// The most rows one page holds.
pub const MAX_LIMIT: i64 = 200;

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

impl Paging {
    /// Checks `limit` and `offset`, adding what is wrong to `errors` (for lists that
    /// check other parameters too); the defaults stand in for what is wrong.
    pub fn read(limit: Option<i64>, offset: Option<i64>, errors: &mut Vec<FieldError>) -> Paging {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        let mut paging = Paging { limit, offset };
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "range",
                format!("must be 1 to {MAX_LIMIT}"),
            ));
            paging.limit = DEFAULT_LIMIT;
        }
        if offset < 0 {
            errors.push(FieldError::new("offset", "range", "must not be negative"));
            paging.offset = 0;
        }
        paging
    }

    /// [`Paging::read`] alone: 422 naming every parameter that is wrong.
    pub fn parse(limit: Option<i64>, offset: Option<i64>) -> Result<Paging, ApiError> {
        let mut errors = Vec::new();
        let paging = Paging::read(limit, offset, &mut errors);
        if errors.is_empty() {
            Ok(paging)
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets_outside_the_rule_are_refused_by_name() {
        assert_eq!(
            Paging::parse(None, None).unwrap(),
            Paging {
                limit: 50,
                offset: 0
            }
        );
        assert_eq!(
            Paging::parse(Some(200), Some(7)).unwrap(),
            Paging {
                limit: 200,
                offset: 7
            }
        );
        for (limit, offset, fields) in [
            (Some(0), None, vec!["limit"]),
            (Some(201), None, vec!["limit"]),
            (Some(-3), Some(-1), vec!["limit", "offset"]),
            (None, Some(-1), vec!["offset"]),
        ] {
            match Paging::parse(limit, offset) {
                Err(ApiError::Validation(e)) => {
                    let named: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
                    assert_eq!(named, fields, "{limit:?} {offset:?}");
                    assert!(e.iter().all(|e| e.rule == "range"));
                }
                other => panic!("{limit:?} {offset:?}: {other:?}"),
            }
        }
    }
}

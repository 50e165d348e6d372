//! Opaque list cursors and the `limit` rule shared by every list route.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{AppError, FieldProblem};

pub const DEFAULT_LIMIT: i64 = 50;

/// The query of every list route: `limit`, `cursor` and a `status` filter (documented per
/// route, with its values). Unknown parameters are refused.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page.
    #[param(minimum = 1, maximum = 200, default = 50, nullable = false)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    #[param(max_length = 200, nullable = false)]
    cursor: Option<String>,
    #[param(ignore)]
    status: Option<String>,
}

/// A validated list query.
#[derive(Debug)]
pub struct ListParams {
    pub limit: i64,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub status: Option<String>,
}

impl ListQuery {
    /// Checks the limit, decodes the cursor and checks the status against `statuses`.
    pub fn validate(self, statuses: &[&str]) -> Result<ListParams, AppError> {
        let limit = check_limit(self.limit)?;
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        if let Some(s) = &self.status {
            if !statuses.contains(&s.as_str()) {
                return Err(AppError::validation(vec![FieldProblem::new(
                    "status",
                    "enum",
                    format!("must be one of: {}", statuses.join(", ")),
                )]));
            }
        }
        Ok(ListParams {
            limit,
            after,
            status: self.status,
        })
    }
}
pub const MAX_LIMIT: i64 = 200;

/// The position after a row: its (created_at, id), as base64url text.
pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{}|{id}", at.timestamp_micros()))
}

pub fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), AppError> {
    let bad = || {
        AppError::validation(vec![FieldProblem::new(
            "cursor",
            "format",
            "is not a cursor returned by this list",
        )])
    };
    if cursor.len() > 200 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('|');
    let (Some("v1"), Some(micros), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id))
}

pub fn check_limit(limit: Option<i64>) -> Result<i64, AppError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::validation(vec![FieldProblem::new(
            "limit",
            "range",
            format!("must be between 1 and {MAX_LIMIT}"),
        )]))
    }
}

/// Trim the extra row fetched to know whether a next page exists; returns the next cursor.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| {
            let (at, id) = key(r);
            encode_cursor(at, id)
        })
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        for bad in ["", "x", "djF8MXwy", &"A".repeat(500)] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}

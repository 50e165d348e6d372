//! Reading a JSON object field by field, collecting every problem (type, length, enum,
//! unknown field) so a 400 lists them all at once.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, FieldProblem};

pub struct Input {
    map: Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl Input {
    /// The body must be a JSON object whose keys are all in `allowed`.
    pub fn new(body: Value, allowed: &[&str]) -> Result<Self, AppError> {
        let Value::Object(map) = body else {
            return Err(AppError::bad_request(
                "invalid_body",
                "The body must be a JSON object.",
            ));
        };
        let mut problems = Vec::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let shown: String = key.chars().take(64).collect();
                problems.push(FieldProblem::new(
                    shown,
                    "unknown_field",
                    "is not a known field",
                ));
            }
        }
        Ok(Self { map, problems })
    }

    pub fn problem(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, code, message));
    }

    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// Absent → None (a problem when `required`); null → problem; else a trimmed string
    /// of `min..=max` characters without control characters.
    pub fn string(
        &mut self,
        field: &str,
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        match self.map.get(field) {
            None => {
                if required {
                    self.problem(field, "required", "is required");
                }
                None
            }
            Some(Value::String(s)) => self.check_string(field, s.trim().to_string(), min, max),
            Some(_) => {
                self.problem(field, "type", "must be a string");
                None
            }
        }
    }

    /// For PATCH of a nullable field: absent → None, null → Some(None), string → Some(Some).
    pub fn nullable_string(
        &mut self,
        field: &str,
        min: usize,
        max: usize,
    ) -> Option<Option<String>> {
        match self.map.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => {
                let s = s.trim().to_string();
                self.check_string(field, s, min, max).map(Some)
            }
            Some(_) => {
                self.problem(field, "type", "must be a string or null");
                None
            }
        }
    }

    fn check_string(&mut self, field: &str, s: String, min: usize, max: usize) -> Option<String> {
        let len = s.chars().count();
        if len < min || len > max {
            self.problem(
                field,
                "length",
                format!("must be {min} to {max} characters"),
            );
            return None;
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.problem(field, "format", "must not contain control characters");
            return None;
        }
        Some(s)
    }

    pub fn one_of(&mut self, field: &str, required: bool, allowed: &[&str]) -> Option<String> {
        let value = self.string(field, required, 1, 50)?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.problem(
                field,
                "enum",
                format!("must be one of: {}", allowed.join(", ")),
            );
            None
        }
    }

    pub fn uuid(&mut self, field: &str, required: bool) -> Option<Uuid> {
        let value = self.string(field, required, 1, 64)?;
        match Uuid::parse_str(&value) {
            Ok(id) => Some(id),
            Err(_) => {
                self.problem(field, "format", "must be a UUID");
                None
            }
        }
    }

    pub fn email(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.string(field, required, 3, 254)?;
        if valid_email(&value) {
            Some(value)
        } else {
            self.problem(
                field,
                "format",
                "must be an email address such as name@example.org",
            );
            None
        }
    }

    /// Ok when no problem was found so far.
    pub fn finish(self) -> Result<(), AppError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self.problems))
        }
    }

    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.map.get(field)
    }
}

/// A pragmatic address check: one `@`, a local part of 1–64 characters, a dotted domain of
/// letters, digits and hyphens, no spaces.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@union.example.org"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a b@c.co", "a@b..co", "a@@b.co", ".a@b.co",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_collected() {
        let mut input = Input::new(
            json!({"name": 5, "status": "weird", "extra": 1}),
            &["name", "status", "email"],
        )
        .unwrap();
        input.string("name", true, 1, 10);
        input.one_of("status", true, &["active"]);
        input.email("email", true);
        let Err(AppError::Validation { fields, .. }) = input.finish() else {
            panic!("expected a validation error");
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["extra", "name", "status", "email"]);
    }
}

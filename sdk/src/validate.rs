//! Constraint checks with AWS's validation messages.
//!
//! AWS reports every failed constraint of a request at once:
//! `2 validation errors detected: Value 'x' at 'roleSessionName' failed to
//! satisfy constraint: Member must have length greater than or equal to 2; ...`.
//! Member names in the messages are lowerCamelCase (`roleSessionName`).
//!
//! ```text
//! let mut v = Validator::new();
//! v.pattern("roleSessionName", &name, is_word_or(&['+', '=', ',', '.', '@', '-']), r"[\w+=,.@-]*");
//! v.length("roleSessionName", &name, 2, 64);
//! v.range("durationSeconds", duration, 900, 43200);
//! v.finish(AwsError::validation_error)?;
//! ```

use std::fmt::Display;

use crate::AwsError;

#[derive(Debug, Default, Clone)]
pub struct Validator {
    failures: Vec<String>,
}

impl Validator {
    pub fn new() -> Self {
        Validator::default()
    }

    /// Records a failed constraint on `member` (value shown as `'value'`).
    pub fn fail(&mut self, member: &str, value: &str, constraint: &str) -> &mut Self {
        self.failures.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ));
        self
    }

    /// Records a failed constraint without echoing the value (sensitive members).
    pub fn fail_hidden(&mut self, member: &str, constraint: &str) -> &mut Self {
        self.failures.push(format!(
            "Value at '{member}' failed to satisfy constraint: {constraint}"
        ));
        self
    }

    /// Length in characters within `min..=max` (`max` 0: no upper bound).
    pub fn length(&mut self, member: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        if n < min {
            self.fail(
                member,
                value,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if max > 0 && n > max {
            self.fail(
                member,
                value,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        self
    }

    /// [`Validator::length`] for a sensitive member: the value is not echoed.
    pub fn length_hidden(
        &mut self,
        member: &str,
        value: &str,
        min: usize,
        max: usize,
    ) -> &mut Self {
        let n = value.chars().count();
        if n < min {
            self.fail_hidden(
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if max > 0 && n > max {
            self.fail_hidden(
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        self
    }

    /// Every character satisfies `allowed`; `pattern` is the model's regex, for the message.
    pub fn pattern(
        &mut self,
        member: &str,
        value: &str,
        allowed: impl Fn(char) -> bool,
        pattern: &str,
    ) -> &mut Self {
        if !value.chars().all(allowed) {
            self.fail(
                member,
                value,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
        self
    }

    /// A number within `min..=max`.
    pub fn range<N: PartialOrd + Display + Copy>(
        &mut self,
        member: &str,
        value: N,
        min: N,
        max: N,
    ) -> &mut Self {
        if value < min {
            self.fail(
                member,
                &value.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if value > max {
            self.fail(
                member,
                &value.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            );
        }
        self
    }

    /// A list's length within `min..=max`.
    pub fn count(&mut self, member: &str, len: usize, min: usize, max: usize) -> &mut Self {
        if len < min {
            self.fail_hidden(
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.fail_hidden(
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        self
    }

    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The AWS message for the failures so far (`None` when there are none).
    pub fn message(&self) -> Option<String> {
        match self.failures.len() {
            0 => None,
            1 => Some(format!("1 validation error detected: {}", self.failures[0])),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.failures.join("; ")
            )),
        }
    }

    /// `Ok` when nothing failed; else the error made by `make` (e.g.
    /// [`AwsError::validation_error`] for query services, [`AwsError::validation`] for JSON).
    pub fn finish(&self, make: impl FnOnce(String) -> AwsError) -> Result<(), AwsError> {
        match self.message() {
            None => Ok(()),
            Some(m) => Err(make(m)),
        }
    }
}

/// `\w` (Java): ASCII letters, digits and `_`, or one of `extra`.
pub fn is_word_or(extra: &'static [char]) -> impl Fn(char) -> bool {
    move |c: char| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c)
}

/// The characters of the model's `arnType` / policy patterns:
/// `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]`.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_like_aws() {
        let mut v = Validator::new();
        v.pattern(
            "roleSessionName",
            "a b",
            is_word_or(&['+', '=', ',', '.', '@', '-']),
            r"[\w+=,.@-]*",
        );
        let e = v.finish(AwsError::validation_error).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            r"1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        );
        let mut v = Validator::new();
        v.length("roleSessionName", "a", 2, 64)
            .range("durationSeconds", 100, 900, 43200);
        assert_eq!(
            v.message().unwrap(),
            "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
        assert!(Validator::new().finish(AwsError::validation).is_ok());
        assert!(is_xml_char('é') && !is_xml_char('\u{1}'));
    }
}

//! GetRandomPassword.

use ministack_sdk::prelude::*;
use ministack_sdk::rand;

use crate::shapes::invalid_parameter;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordRequest {
    pub password_length: Option<i64>,
    pub exclude_characters: Option<String>,
    #[serde(default)]
    pub exclude_numbers: bool,
    #[serde(default)]
    pub exclude_punctuation: bool,
    #[serde(default)]
    pub exclude_uppercase: bool,
    #[serde(default)]
    pub exclude_lowercase: bool,
    #[serde(default)]
    pub include_space: bool,
    pub require_each_included_type: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordResponse {
    random_password: String,
}

/// The character classes the request allows, each without the excluded characters.
pub fn classes(input: &GetRandomPasswordRequest) -> Vec<Vec<char>> {
    let excluded = input.exclude_characters.clone().unwrap_or_default();
    let mut sets = Vec::new();
    if !input.exclude_lowercase {
        sets.push(LOWER);
    }
    if !input.exclude_uppercase {
        sets.push(UPPER);
    }
    if !input.exclude_numbers {
        sets.push(DIGITS);
    }
    if !input.exclude_punctuation {
        sets.push(PUNCTUATION);
    }
    if input.include_space {
        sets.push(" ");
    }
    sets.into_iter()
        .map(|s| {
            s.chars()
                .filter(|c| !excluded.contains(*c))
                .collect::<Vec<char>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// A password from `classes`, with one of each class when `require_each`;
/// `pick(n)` returns a random index below n.
pub fn generate(
    classes: &[Vec<char>],
    length: usize,
    require_each: bool,
    mut pick: impl FnMut(usize) -> usize,
) -> String {
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    let mut out: Vec<char> = Vec::with_capacity(length);
    if require_each {
        for class in classes {
            out.push(class[pick(class.len())]);
        }
    }
    while out.len() < length {
        out.push(all[pick(all.len())]);
    }
    // Shuffle so the required characters are not always first.
    for i in (1..out.len()).rev() {
        let j = pick(i + 1);
        out.swap(i, j);
    }
    out.into_iter().collect()
}

pub fn get_random_password(
    _ctx: &Context,
    input: GetRandomPasswordRequest,
) -> Result<GetRandomPasswordResponse, AwsError> {
    let length = input.password_length.unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(invalid_parameter(
            "PasswordLength must be between 1 and 4096.",
        ));
    }
    let classes = classes(&input);
    if classes.is_empty() {
        return Err(invalid_parameter(
            "The password can't be generated: every character type is excluded.",
        ));
    }
    let require_each = input.require_each_included_type.unwrap_or(true);
    if require_each && classes.len() > length as usize {
        return Err(invalid_parameter(
            "The password length is too short to include one character of each included type.",
        ));
    }
    let password = generate(&classes, length as usize, require_each, |n| {
        rand::below(n as u64) as usize
    });
    Ok(GetRandomPasswordResponse {
        random_password: password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_and_requires_each_type() {
        let input = GetRandomPasswordRequest {
            exclude_punctuation: true,
            exclude_characters: Some("abc012".into()),
            ..Default::default()
        };
        let classes = classes(&input);
        assert_eq!(classes.len(), 3);
        let mut seed = 7usize;
        let pw = generate(&classes, 3, true, |n| {
            seed = seed.wrapping_mul(31).wrapping_add(17);
            seed % n
        });
        assert_eq!(pw.len(), 3);
        assert!(pw.chars().any(|c| c.is_ascii_lowercase()));
        assert!(pw.chars().any(|c| c.is_ascii_uppercase()));
        assert!(pw.chars().any(|c| c.is_ascii_digit()));
        assert!(!pw.contains(['a', 'b', 'c', '0', '1', '2']));
    }
}

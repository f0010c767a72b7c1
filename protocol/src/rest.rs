//! REST routing: matching a request's method + path + query against the
//! operations' `requestUri` templates (`/{Bucket}/{Key+}?uploads`).
//!
//! A template is split into path segments. A segment is a literal, a label
//! (`{Name}`, one non-empty segment, may sit between a literal prefix and
//! suffix) or a greedy label (`{Key+}`, the rest of the path, slashes
//! included). The part after `?` lists required query keys (`?uploads`) or
//! key=value pairs (`?list-type=2`). Candidates are tried most specific first:
//! more literal segments, then more required query keys, then no greedy label.

use percent_encoding::percent_decode_str;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Label {
        prefix: String,
        name: String,
        suffix: String,
    },
    Greedy(String),
}

#[derive(Clone, Debug, Default)]
pub(crate) struct UriTemplate {
    segments: Vec<Segment>,
    /// Required query keys with an optional required value.
    query: Vec<(String, Option<String>)>,
    trailing_slash: bool,
}

/// Labels captured by a match, percent-decoded.
pub(crate) type Labels = Vec<(String, String)>;

impl UriTemplate {
    pub fn parse(uri: &str) -> UriTemplate {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let trimmed = path.trim_start_matches('/');
        let mut segments = Vec::new();
        if !trimmed.is_empty() {
            for seg in trimmed.split('/') {
                segments.push(parse_segment(seg));
            }
        }
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (p.to_string(), None),
            })
            .collect();
        UriTemplate {
            trailing_slash: path.len() > 1 && path.ends_with('/'),
            segments,
            query,
        }
    }

    /// Larger is more specific.
    pub fn specificity(&self) -> (usize, usize, bool, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let partial = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Label { prefix, suffix, .. } if !prefix.is_empty() || !suffix.is_empty()))
            .count();
        let greedy = self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)));
        (
            literals * 2 + partial,
            self.query.len(),
            !greedy,
            self.segments.len(),
        )
    }

    /// The static query pairs of the template (`?list-type=2`), which are not
    /// members of the input.
    pub fn static_query_keys(&self) -> impl Iterator<Item = &str> {
        self.query.iter().map(|(k, _)| k.as_str())
    }

    /// Whether the template names query keys (`?tagging`): a request with
    /// no query cannot match it.
    pub fn needs_query(&self) -> bool {
        !self.query.is_empty()
    }

    /// Matches a raw (percent-encoded) path and query; returns the labels.
    pub fn matches(&self, path: &str, query: &[(String, String)]) -> Option<Labels> {
        let mut labels = Vec::new();
        self.match_into(path, query, Some(&mut labels))
            .then_some(labels)
    }

    /// Whether the path and query match, without decoding any label.
    pub fn is_match(&self, path: &str, query: &[(String, String)]) -> bool {
        self.match_into(path, query, None)
    }

    /// The match; the labels (percent-decoded) go to `labels` when given.
    fn match_into(
        &self,
        path: &str,
        query: &[(String, String)],
        mut labels: Option<&mut Labels>,
    ) -> bool {
        for (k, v) in &self.query {
            let found = query.iter().any(|(qk, qv)| {
                qk == k
                    && match v {
                        Some(v) => qv == v,
                        None => true,
                    }
            });
            if !found {
                return false;
            }
        }
        let mut rest = path.strip_prefix('/').unwrap_or(path);
        let n = self.segments.len();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Greedy(name) => {
                    if rest.is_empty() {
                        return false;
                    }
                    // A greedy label may be followed by literal segments:
                    // they are stripped from the end ("/l1/l2").
                    let mut value = rest;
                    for t in self.segments[i + 1..].iter().rev() {
                        let Segment::Literal(l) = t else {
                            return false;
                        };
                        match value
                            .strip_suffix(l.as_str())
                            .and_then(|v| v.strip_suffix('/'))
                        {
                            Some(v) => value = v,
                            None => return false,
                        }
                    }
                    if value.is_empty() {
                        return false;
                    }
                    if let Some(labels) = labels {
                        labels.push((name.clone(), decode(value)));
                    }
                    return true;
                }
                _ => {
                    let (seg_text, remaining) = match rest.find('/') {
                        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
                        None => (rest, None),
                    };
                    match seg {
                        Segment::Literal(l) => {
                            if seg_text != l
                                && percent_decode_str(seg_text).decode_utf8_lossy() != l.as_str()
                            {
                                return false;
                            }
                        }
                        Segment::Label {
                            prefix,
                            name,
                            suffix,
                        } => {
                            let Some(v) = strip_affixes(seg_text, prefix, suffix) else {
                                return false;
                            };
                            if v.is_empty() {
                                return false;
                            }
                            if let Some(labels) = labels.as_deref_mut() {
                                labels.push((name.clone(), decode(v)));
                            }
                        }
                        Segment::Greedy(_) => unreachable!("handled above"),
                    }
                    match remaining {
                        Some(r) => {
                            if i + 1 == n {
                                // Only a trailing slash may remain.
                                if !r.is_empty() {
                                    return false;
                                }
                                rest = "";
                            } else {
                                rest = r;
                            }
                        }
                        None => {
                            if i + 1 < n {
                                return false;
                            }
                            rest = "";
                        }
                    }
                }
            }
        }
        if self.segments.is_empty() && !rest.is_empty() {
            return false;
        }
        let _ = self.trailing_slash;
        true
    }
}

/// `seg` without a label's literal prefix and suffix. Most labels have
/// neither: an empty `String`'s pointer is dangling, and glibc's AVX-512
/// `memcmp` loads through it with an all-zero mask, a suppressed fault that
/// costs a microcode assist (~40 ns a call on the bench machine: two thirds
/// of an S3 REST match). So empty affixes are not compared at all.
fn strip_affixes<'a>(seg: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let seg = if prefix.is_empty() {
        seg
    } else {
        seg.strip_prefix(prefix)?
    };
    if suffix.is_empty() {
        Some(seg)
    } else {
        seg.strip_suffix(suffix)
    }
}

fn parse_segment(seg: &str) -> Segment {
    if let (Some(open), Some(close)) = (seg.find('{'), seg.rfind('}'))
        && open < close
    {
        let name = &seg[open + 1..close];
        if let Some(g) = name.strip_suffix('+') {
            return Segment::Greedy(g.to_string());
        }
        return Segment::Label {
            prefix: seg[..open].to_string(),
            name: name.to_string(),
            suffix: seg[close + 1..].to_string(),
        };
    }
    Segment::Literal(seg.to_string())
}

pub(crate) fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Splits a raw query string into decoded pairs (`+` is a space, as in forms).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    form_pairs(query.as_bytes())
}

/// The `name=value` pairs of a query string or form body, as
/// form_urlencoded reads them. A pair with no `%` and no `+` has nothing to
/// decode and is split and copied as it is: form_urlencoded's per-pair
/// decoding (a `+` search, a percent pass, a lossy UTF-8 check, each into a
/// `Cow`) was half of an STS request's decode.
pub(crate) fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pair in bytes.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
        if pair.iter().any(|&b| b == b'%' || b == b'+') {
            out.extend(form_urlencoded::parse(pair).map(|(k, v)| (k.into_owned(), v.into_owned())));
        } else {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            out.push((
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        parse_query(s)
    }

    /// The pairs that need no decoding skip form_urlencoded: the result
    /// must be what form_urlencoded reads, whatever the text holds.
    #[test]
    fn form_pairs_read_as_form_urlencoded_reads_them() {
        for text in [
            &b"Action=GetCallerIdentity&Version=2011-06-15"[..],
            b"A=b&C=d%20e&F=g+h&&I&J=&=k&L=m=n",
            b"X=%E2%82%AC&Y=\xe2\x82\xac&Z=\xff\xfe&W=%FF",
            b"Dup=1&Dup=2&Attribute.1.Name=a.b&&&",
            b"",
        ] {
            let want: Vec<(String, String)> = form_urlencoded::parse(text)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(form_pairs(text), want, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn affixes_are_stripped_only_when_present() {
        let empty = String::new();
        assert_eq!(strip_affixes("abc", &empty, &empty), Some("abc"));
        assert_eq!(strip_affixes("v1-abc.json", "v1-", ".json"), Some("abc"));
        assert_eq!(strip_affixes("v1-abc", "v1-", &empty), Some("abc"));
        assert_eq!(strip_affixes("abc.json", &empty, ".json"), Some("abc"));
        assert_eq!(strip_affixes("abc", "v1-", &empty), None);
        assert_eq!(strip_affixes("abc", &empty, ".json"), None);
    }

    #[test]
    fn labels_and_greedy() {
        let t = UriTemplate::parse("/{Bucket}/{Key+}");
        let l = t.matches("/b/a/b%20c/", &[]).unwrap();
        assert_eq!(l[0], ("Bucket".into(), "b".into()));
        assert_eq!(l[1], ("Key".into(), "a/b c/".into()));
        assert!(t.matches("/b", &[]).is_none());
        assert!(t.matches("/b/", &[]).is_none());
    }

    #[test]
    fn greedy_with_literal_suffix() {
        let t = UriTemplate::parse("/v1/{Path+}/meta");
        let l = t.matches("/v1/a/b/meta", &[]).unwrap();
        assert_eq!(l[0].1, "a/b");
        assert!(t.matches("/v1/a/b", &[]).is_none());
    }

    #[test]
    fn query_discriminators() {
        let t = UriTemplate::parse("/{Bucket}?list-type=2");
        assert!(t.matches("/b", &q("list-type=2&prefix=x")).is_some());
        assert!(t.matches("/b", &q("list-type=1")).is_none());
        let t = UriTemplate::parse("/{Bucket}/{Key+}?uploads");
        assert!(t.matches("/b/k", &q("uploads")).is_some());
        assert!(t.matches("/b/k", &q("")).is_none());
    }

    #[test]
    fn specificity_orders_candidates() {
        let plain = UriTemplate::parse("/{Bucket}");
        let tagging = UriTemplate::parse("/{Bucket}?tagging");
        let lit = UriTemplate::parse("/2015-03-31/functions/{Name}");
        let greedy = UriTemplate::parse("/{Bucket}/{Key+}");
        let two = UriTemplate::parse("/{Bucket}/{Id}");
        assert!(tagging.specificity() > plain.specificity());
        assert!(lit.specificity() > tagging.specificity());
        assert!(two.specificity() > greedy.specificity());
    }

    #[test]
    fn root_and_trailing_slash() {
        let root = UriTemplate::parse("/");
        assert!(root.matches("/", &[]).is_some());
        assert!(root.matches("/b", &[]).is_none());
        let b = UriTemplate::parse("/{Bucket}");
        assert!(b.matches("/b/", &[]).is_some());
        assert!(b.matches("/", &[]).is_none());
    }

    #[test]
    fn partial_label_segment() {
        let t = UriTemplate::parse("/things/{Id}.json");
        assert_eq!(t.matches("/things/42.json", &[]).unwrap()[0].1, "42");
        assert!(t.matches("/things/42", &[]).is_none());
    }
}

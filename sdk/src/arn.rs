//! Amazon Resource Names: `arn:partition:service:region:account-id:resource`.

use std::fmt;
use std::str::FromStr;

/// A parsed ARN. `resource` is everything after the fifth colon
/// (`role/path/name`, `function:name:alias`, `bucket/key`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn new(
        partition: &str,
        service: &str,
        region: &str,
        account: &str,
        resource: &str,
    ) -> Self {
        Arn {
            partition: partition.to_string(),
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource: resource.to_string(),
        }
    }

    /// Parses an ARN; `None` unless it has the `arn:` prefix and six fields
    /// with a non-empty partition, service and resource.
    pub fn parse(s: &str) -> Option<Arn> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Arn::new(partition, service, region, account, resource))
    }

    /// The resource type: `role` in `role/path/name`, `function` in
    /// `function:name` (empty when the resource has neither separator).
    pub fn resource_type(&self) -> &str {
        match self.resource.find(['/', ':']) {
            Some(i) => &self.resource[..i],
            None => "",
        }
    }

    /// The resource after its type and separator (`path/name` in `role/path/name`).
    pub fn resource_id(&self) -> &str {
        match self.resource.find(['/', ':']) {
            Some(i) => &self.resource[i + 1..],
            None => &self.resource,
        }
    }

    /// The last `/`-separated segment of the resource (a role's name without its path).
    pub fn resource_name(&self) -> &str {
        self.resource_id().rsplit('/').next().unwrap_or("")
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// The error of [`Arn::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArn(pub String);

impl fmt::Display for InvalidArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a valid ARN", self.0)
    }
}

impl std::error::Error for InvalidArn {}

impl FromStr for Arn {
    type Err = InvalidArn;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arn::parse(s).ok_or_else(|| InvalidArn(s.to_string()))
    }
}

impl From<Arn> for String {
    fn from(a: Arn) -> String {
        a.to_string()
    }
}

/// The partition of a region.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses() {
        let a = Arn::new("aws", "iam", "", "123456789012", "role/path/to/MyRole");
        let s = a.to_string();
        assert_eq!(s, "arn:aws:iam::123456789012:role/path/to/MyRole");
        let b: Arn = s.parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(b.resource_type(), "role");
        assert_eq!(b.resource_id(), "path/to/MyRole");
        assert_eq!(b.resource_name(), "MyRole");
        let f = Arn::parse("arn:aws:lambda:us-east-1:123456789012:function:f:alias").unwrap();
        assert_eq!(f.resource_type(), "function");
        assert_eq!(f.resource_id(), "f:alias");
        let q = Arn::parse("arn:aws:sqs:us-east-1:123456789012:orders").unwrap();
        assert_eq!(q.resource_type(), "");
        assert_eq!(q.resource_name(), "orders");
    }

    #[test]
    fn rejects_non_arns() {
        assert!(Arn::parse("role/x").is_none());
        assert!(Arn::parse("arn:aws:iam::123456789012").is_none());
        assert!(Arn::parse("arn::iam::1:role/x").is_none());
        assert!("nope".parse::<Arn>().is_err());
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_for_region("us-east-1"), "aws");
        assert_eq!(partition_for_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("us-isob-east-1"), "aws-iso-b");
    }
}

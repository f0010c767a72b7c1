//! The public parameters under `/aws/service/` that infrastructure code
//! reads: latest Amazon Linux / ECS / Ubuntu AMI ids per region (stable,
//! plausible `ami-` ids derived from the region and the name) and the
//! global-infrastructure region list.

use ministack_sdk::hash;
use ministack_sdk::prelude::*;

use crate::params::ParameterOut;

pub const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("me-central-1", "Middle East (UAE)"),
    ("sa-east-1", "South America (Sao Paulo)"),
];

/// Image parameters (AMI ids).
const IMAGES: &[&str] = &[
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-arm64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-ebs",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-x86_64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-arm64-gp2",
    "/aws/service/ami-amazon-linux-latest/amzn-ami-hvm-x86_64-gp2",
    "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id",
    "/aws/service/ecs/optimized-ami/amazon-linux-2/arm64/recommended/image_id",
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
    "/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/image_id",
    "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id",
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base",
];

/// When the public parameters were last "updated" (2026-01-15).
const MODIFIED: f64 = 1_768_435_200.0;

/// A stable AMI id for `name` in `region`.
pub fn ami_id(region: &str, name: &str) -> String {
    let h = hash::sha256_hex(format!("{region}{name}").as_bytes());
    format!("ami-0{}", &h[..16])
}

fn out(region: &str, name: &str, value: String, data_type: &str) -> ParameterOut {
    ParameterOut {
        name: name.to_string(),
        kind: "String".to_string(),
        value,
        version: 1,
        selector: None,
        last_modified_date: MODIFIED,
        source_result: None,
        arn: format!("arn:aws:ssm:{region}::parameter{name}"),
        data_type: data_type.to_string(),
    }
}

/// Every public parameter of the caller's region, in name order.
pub fn all(ctx: &Context) -> Vec<ParameterOut> {
    let region = ctx.region.as_str();
    let mut params: Vec<ParameterOut> = IMAGES
        .iter()
        .map(|n| out(region, n, ami_id(region, n), "aws:ec2:image"))
        .collect();
    let base = "/aws/service/global-infrastructure/regions";
    for (code, long) in REGIONS {
        params.push(out(
            region,
            &format!("{base}/{code}"),
            code.to_string(),
            "text",
        ));
        params.push(out(
            region,
            &format!("{base}/{code}/longName"),
            long.to_string(),
            "text",
        ));
        params.push(out(
            region,
            &format!("{base}/{code}/partition"),
            "aws".to_string(),
            "text",
        ));
    }
    params.sort_by(|a, b| a.name.cmp(&b.name));
    params
}

pub fn get(ctx: &Context, name: &str) -> Option<ParameterOut> {
    all(ctx).into_iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ami_ids_are_stable_and_well_formed() {
        let a = ami_id("us-east-1", IMAGES[0]);
        assert_eq!(a, ami_id("us-east-1", IMAGES[0]));
        assert_ne!(a, ami_id("eu-west-1", IMAGES[0]));
        assert_eq!(a.len(), 21);
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}

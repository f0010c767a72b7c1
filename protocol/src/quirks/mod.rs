//! Service quirks: small, named exceptions to the generic codecs.

pub(crate) mod s3;
pub(crate) mod sqs;

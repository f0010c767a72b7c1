//! Generates the typed shapes of the CloudFormation model (`src/lib.rs` includes them as `shapes`).
fn main() {
    ministack_codegen::Codegen::new("model/service-2.json").write("shapes.rs");
}

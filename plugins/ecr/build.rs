//! Generates the typed shapes of the ECR model (`src/lib.rs` includes them as `shapes`).
fn main() {
    ministack_codegen::Codegen::new("model/service-2.json").write("shapes.rs");
}

//! Prints the shapes generated from a model, to read them or diff two versions:
//! `cargo run -p ministack-codegen --example print -- plugins/sqs/model/service-2.json [Op ...]`.
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(model) = args.next() else {
        eprintln!("usage: print <model/service-2.json> [operation ...]");
        std::process::exit(2);
    };
    let operations: Vec<String> = args.collect();
    let mut codegen = ministack_codegen::Codegen::new(model);
    if !operations.is_empty() {
        let names: Vec<&str> = operations.iter().map(String::as_str).collect();
        codegen = codegen.operations(&names);
    }
    match codegen.generate() {
        Ok(code) => print!("{code}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

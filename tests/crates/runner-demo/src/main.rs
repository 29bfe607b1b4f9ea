//! `cargo run -- ARGS`: prints its arguments on stdout, a line on stderr,
//! and exits with the status `--exit=N` asks for.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("runner-demo: args {args:?}");
    eprintln!("runner-demo: a line on stderr");
    println!("runner-demo: 1..=10 squared sum to {}", runner_demo::sum_of_squares(10));
    match runner_demo::exit_status(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("runner-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

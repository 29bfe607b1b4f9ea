//! `pwd`: the working directory.
use std::process::ExitCode;

use crate::common::{bad_args, fail, usage_error};

pub const USAGE: &str = "usage: pwd\nPrints the working directory.";

pub fn run(args: &[String]) -> ExitCode {
    match crate::args::parse(args, "", "") {
        Err(e) => bad_args("pwd", USAGE, &e),
        Ok(a) if !a.operands.is_empty() => usage_error("pwd", USAGE, "takes no operands"),
        Ok(_) => match std::env::current_dir() {
            Ok(d) => {
                println!("{}", d.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail("pwd", ".", &e),
        },
    }
}

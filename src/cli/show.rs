//! `loyalty show FILE [--json]`

use std::path::Path;
use std::process::ExitCode;

use super::{exit, read};
use crate::diagnostic::render;

pub fn run(path: &Path, json: bool) -> Result<ExitCode, String> {
    let source = read(path)?;
    let (program, checked) = crate::analyze(&source);
    let diagnostics = checked.diagnostics;
    if diagnostics.iter().any(|d| d.is_error()) {
        eprint!(
            "{}",
            render(&diagnostics, &path.display().to_string(), &source)
        );
        return Ok(exit(false));
    }
    if json {
        let text = serde_json::to_string_pretty(&program).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", crate::format::format(&program));
    }
    Ok(exit(true))
}

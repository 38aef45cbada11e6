//! `loyalty check FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{OutputFormat, exit, program_files, read};

pub fn run(paths: &[PathBuf], format: OutputFormat) -> Result<ExitCode, String> {
    let mut all_valid = true;
    for path in program_files(paths)? {
        let source = read(&path)?;
        let name = path.display().to_string();
        let (_, checked) = crate::analyze(&source);
        let diagnostics = checked.diagnostics;
        all_valid &= !diagnostics.iter().any(|d| d.is_error());
        match format {
            OutputFormat::Human => eprint!(
                "{}",
                crate::diagnostic::render(&diagnostics, &name, &source)
            ),
            OutputFormat::Json => {
                let lines = crate::span::Lines::new(&source);
                let (shown, left_out) = crate::diagnostic::shown(&diagnostics);
                for diagnostic in shown {
                    let line = serde_json::to_string(&diagnostic.to_json(&name, &lines))
                        .map_err(|e| e.to_string())?;
                    eprintln!("{line}");
                }
                if left_out > 0 {
                    eprintln!(
                        "{}",
                        serde_json::json!({ "file": name, "not_shown": left_out })
                    );
                }
            }
        }
    }
    Ok(exit(all_valid))
}

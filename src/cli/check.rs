//! `loyalty check FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use super::{OutputFormat, exit, program_files, read};

pub fn run(paths: &[PathBuf], format: OutputFormat) -> Result<ExitCode, String> {
    let mut all_valid = true;
    for path in program_files(paths)? {
        let source = read(&path)?;
        let name = path.display().to_string();
        let (_, diagnostics) = crate::analyze(&source);
        all_valid &= !diagnostics.iter().any(|d| d.is_error());
        match format {
            OutputFormat::Human => eprint!(
                "{}",
                crate::diagnostic::render(&diagnostics, &name, &source)
            ),
            OutputFormat::Json => {
                for diagnostic in &diagnostics {
                    let line = serde_json::to_string(&diagnostic.to_json(&name, &source))
                        .map_err(|e| e.to_string())?;
                    eprintln!("{line}");
                }
            }
        }
    }
    Ok(exit(all_valid))
}

//! `loyalty fmt FILE...`, `loyalty fmt --check`, `loyalty fmt -`

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{exit, program_files, read};
use crate::diagnostic::{Diagnostic, render};
use crate::format::{FormatError, format_source};

pub fn run(paths: &[PathBuf], check_only: bool) -> Result<ExitCode, String> {
    if paths.len() == 1 && paths[0] == Path::new("-") {
        let mut source = String::new();
        std::io::stdin()
            .read_to_string(&mut source)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return match formatted(&source, "<stdin>")? {
            Some(text) => {
                std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| e.to_string())?;
                Ok(exit(!check_only || text == source))
            }
            None => Ok(exit(false)),
        };
    }
    let mut all_good = true;
    for path in program_files(paths)? {
        let source = read(&path)?;
        let name = path.display().to_string();
        let Some(text) = formatted(&source, &name)? else {
            all_good = false;
            continue;
        };
        if text == source {
            continue;
        }
        if check_only {
            println!("{name}");
            all_good = false;
        } else {
            super::write_atomically(&path, &text)?;
        }
    }
    Ok(exit(all_good))
}

/// The formatted text, or `None` when the file has syntax errors (which
/// are printed).
fn formatted(source: &str, name: &str) -> Result<Option<String>, String> {
    match format_source(source) {
        Ok(text) => Ok(Some(text)),
        Err(FormatError::Syntax(errors)) => {
            let diagnostics: Vec<Diagnostic> = errors.into_iter().map(Diagnostic::from).collect();
            eprint!("{}", render(&diagnostics, name, source));
            Ok(None)
        }
        Err(FormatError::RoundTrip { .. }) => Err(format!(
            "internal error: formatting {name} would change its meaning, so it was left as it is; \
             please report this with the file"
        )),
    }
}

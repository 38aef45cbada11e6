//! A simulation's output directory: `summary.json`, `monthly.csv`, the
//! charts as SVG and PNG, `report.html`, and `runs.json` (each run's
//! counts, which `merge` combines). Everything is worked out from the
//! runs' integer counts, sorted by run number, so one machine, several
//! threads or several shards merged write the same bytes.

pub mod charts;
mod html;
pub mod metrics;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::program::Program;
use crate::sim::{RunTally, Scenario};
pub use metrics::{Metric, Spread};

/// What a simulation was asked to do, recorded in its outputs. The
/// scenario's `[simulation]` table holds customers, months, runs, seed
/// and start, with the command line's overrides applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub program: String,
    pub program_file: String,
    pub program_hash: String,
    pub currency: String,
    pub scenario: Scenario,
}

/// `runs.json`: a shard's (or a whole simulation's) runs, with what
/// `merge` needs to finish the job without the program file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunsFile {
    pub inputs: Inputs,
    pub shard: (u32, u32),
    pub program_source: String,
    pub runs: Vec<RunTally>,
    /// A hash of everything above, as written: a file edited or cut
    /// short since is refused by `merge`.
    #[serde(default)]
    pub checksum: String,
}

impl RunsFile {
    pub fn new(
        inputs: Inputs,
        shard: (u32, u32),
        program_source: String,
        runs: Vec<RunTally>,
    ) -> Self {
        let mut file = RunsFile {
            inputs,
            shard,
            program_source,
            runs,
            checksum: String::new(),
        };
        file.checksum = file.content_hash();
        file
    }

    fn content_hash(&self) -> String {
        let content =
            serde_json::to_string(&(&self.inputs, self.shard, &self.program_source, &self.runs))
                .unwrap_or_default();
        format!("{:016x}", crate::fnv::hash(content.as_bytes()))
    }

    /// A shard's `runs.json`, whole and of one simulation, or why not;
    /// `path` names it in the message.
    pub fn read(text: &str, path: &Path) -> Result<RunsFile, String> {
        let file: RunsFile = serde_json::from_str(text)
            .map_err(|e| format!("{} is not a simulation's runs.json: {e}", path.display()))?;
        file.check(path)?;
        Ok(file)
    }

    /// Whether the file is whole and of one simulation: its checksum,
    /// the program's hash against its text, every run's number and
    /// shape. The message says what is wrong, in `path`.
    fn check(&self, path: &Path) -> Result<(), String> {
        let at = path.display();
        if self.checksum != self.content_hash() {
            return Err(format!(
                "{at} was changed after the simulation wrote it (its checksum does not match); \
                 simulate that shard again"
            ));
        }
        let program = crate::load(&self.program_source)
            .map_err(|_| format!("{at}: the program recorded in it does not compile"))?;
        if format!("{:016x}", program.hash) != self.inputs.program_hash {
            return Err(format!(
                "{at}: the program's text does not match its hash: simulate that shard again"
            ));
        }
        let simulation = &self.inputs.scenario.simulation;
        let (k, n) = self.shard;
        if n == 0 || k == 0 || k > n {
            return Err(format!("{at}: shard {k}/{n} is not a shard"));
        }
        let months = simulation.months.0 as usize;
        let tiers = program.tiers.len();
        for tally in &self.runs {
            if tally.run >= simulation.runs.0 || tally.run % n != k - 1 {
                return Err(format!(
                    "{at}: run {} is not one of shard {k}/{n}'s {} runs",
                    tally.run, simulation.runs.0
                ));
            }
            let values = months * (crate::sim::FIELDS + tiers);
            if tally.months != months || tally.tiers != tiers || tally.values.len() != values {
                return Err(format!(
                    "{at}: run {} has {} values where the simulation's {months} months and \
                     {tiers} tiers make {values}",
                    tally.run,
                    tally.values.len(),
                ));
            }
        }
        Ok(())
    }
}

/// Writes an output folder: `write` fills a new folder beside `out`,
/// which then takes its place whole. A kill or a full disk leaves the
/// previous outputs as they were (and the error says so), and nothing is
/// written through a link left in the old folder.
pub fn write_folder<T>(
    out: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<T, String> {
    if !force && let Some(file) = foreign_file(out) {
        return Err(format!(
            "{} holds {file}, which no simulation wrote: give an empty or new folder, or \
             `--force` to replace the folder with the outputs",
            out.display()
        ));
    }
    let staged = Staged::new(out)?;
    match write(&staged.dir) {
        Ok(written) => {
            staged.commit()?;
            Ok(written)
        }
        Err(error) if out.exists() => Err(format!(
            "{error}; the previous outputs in {} are as they were",
            out.display()
        )),
        Err(error) => Err(error),
    }
}

/// A file in `out` that tells it is not an earlier output folder (one
/// with `runs.json`, or `compare`'s `compare.csv`), if it holds any.
fn foreign_file(out: &Path) -> Option<String> {
    let entries: Vec<String> = fs::read_dir(out)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let earlier_output = entries
        .iter()
        .any(|name| name == "runs.json" || name == "compare.csv");
    if earlier_output {
        return None;
    }
    let mut entries = entries;
    entries.sort();
    entries.into_iter().next().map(|name| format!("`{name}`"))
}

/// A folder being written beside `--out` (see [`write_folder`]).
struct Staged {
    out: PathBuf,
    dir: PathBuf,
}

impl Staged {
    fn new(out: &Path) -> Result<Staged, String> {
        if out.is_file() {
            return Err(format!("{} is a file, not a folder", out.display()));
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        Ok(Staged {
            out: out.to_path_buf(),
            dir,
        })
    }

    /// Puts the finished folder in place of `--out`, and removes the old
    /// one; the swap is one step where the system has one (Linux).
    fn commit(self) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("cannot replace {}: {e}", self.out.display());
        if fs::symlink_metadata(&self.out).is_ok() {
            // Swapped, `dir` holds the previous outputs, which `Drop`
            // removes.
            if !exchange(&self.dir, &self.out) {
                let mut old = self.dir.clone().into_os_string();
                old.push(".old");
                fs::rename(&self.out, &old).map_err(failed)?;
                fs::rename(&self.dir, &self.out).map_err(failed)?;
                let _ = fs::remove_dir_all(&old);
            }
        } else {
            fs::rename(&self.dir, &self.out).map_err(failed)?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    /// A folder not committed (an error, a full disk) is removed; the
    /// previous outputs stay.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Swaps two paths in one step (Linux's `renameat2` with
/// `RENAME_EXCHANGE`); `false` where the system or file system cannot.
fn exchange(a: &Path, b: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let (Ok(a), Ok(b)) = (
            std::ffi::CString::new(a.as_os_str().as_bytes()),
            std::ffi::CString::new(b.as_os_str().as_bytes()),
        ) else {
            return false;
        };
        // SAFETY: two NUL-terminated paths that live across the call.
        let done = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        done == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        false
    }
}

impl Inputs {
    pub fn new(program: &Program, file: &str, scenario: &Scenario) -> Inputs {
        Inputs {
            program: program.name.clone(),
            program_file: file.to_string(),
            program_hash: format!("{:016x}", program.hash),
            currency: program.currency.clone(),
            scenario: scenario.clone(),
        }
    }
}

/// Numbers in the files are rounded to 4 decimals: more is noise.
fn round(x: f64) -> f64 {
    let r = (x * 10_000.0).round() / 10_000.0;
    if r == 0.0 { 0.0 } else { r }
}

fn spread_json(s: &Spread) -> Value {
    json!({ "mean": round(s.mean), "p5": round(s.p5), "p50": round(s.p50), "p95": round(s.p95) })
}

pub fn summary_json(inputs: &Inputs, shard: (u32, u32), metrics: &[Metric]) -> String {
    let mut all = Map::new();
    for m in metrics {
        all.insert(m.name.clone(), spread_json(&m.horizon));
    }
    let mut summary = json!({
        "loyalty": env!("CARGO_PKG_VERSION"),
        "inputs": inputs,
        "metrics": all,
    });
    if shard.1 > 1 {
        summary["shard"] = json!(format!("{}/{}", shard.0, shard.1));
    }
    let mut text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    text.push('\n');
    text
}

pub fn monthly_csv(metrics: &[Metric]) -> String {
    let mut out = String::from("month,metric,mean,p5,p50,p95\n");
    let months = metrics.first().map_or(0, |m| m.monthly.len());
    for month in 0..months {
        for m in metrics {
            let s = &m.monthly[month];
            let name = if m.name.contains([',', '"']) {
                format!("\"{}\"", m.name.replace('"', "\"\""))
            } else {
                m.name.clone()
            };
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                month + 1,
                name,
                round(s.mean),
                round(s.p5),
                round(s.p50),
                round(s.p95)
            ));
        }
    }
    out
}

/// Writes every output of a simulation (or of a merge) into `dir`.
pub fn write(dir: &Path, program: &Program, runs_file: &RunsFile) -> Result<Vec<Metric>, String> {
    // Inside a folder `write_folder` made, or a part of one made here.
    if !dir.is_dir() {
        fs::create_dir(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    let inputs = &runs_file.inputs;
    let customers = inputs.scenario.simulation.customers.0;
    let metrics = metrics::metrics(program, &inputs.scenario, customers, &runs_file.runs);
    let put = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    put(
        "summary.json",
        &summary_json(inputs, runs_file.shard, &metrics),
    )?;
    put("monthly.csv", &monthly_csv(&metrics))?;
    let mut runs = serde_json::to_string(runs_file).map_err(|e| e.to_string())?;
    runs.push('\n');
    put("runs.json", &runs)?;
    let charts = charts::charts(&metrics, program, inputs.scenario.simulation.start.0);
    let mut svgs = Vec::new();
    for chart in &charts {
        let svg = charts::svg(chart)?;
        put(&format!("{}.svg", chart.file), &svg)?;
        charts::png(chart, &dir.join(format!("{}.png", chart.file)))?;
        svgs.push((chart.title.clone(), svg));
    }
    put("report.html", &html::report(inputs, &metrics, &svgs))?;
    Ok(metrics)
}

/// Reads the `runs.json` of each directory and puts the runs together as
/// one simulation would have: same program, same inputs, every run once.
pub fn merge(dirs: &[&Path]) -> Result<RunsFile, String> {
    let mut merged: Option<RunsFile> = None;
    for dir in dirs {
        let path = dir.join("runs.json");
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let part = RunsFile::read(&text, &path)?;
        match &mut merged {
            None => merged = Some(part),
            Some(all) => {
                if all.inputs != part.inputs || all.program_source != part.program_source {
                    return Err(format!(
                        "{} comes from another simulation (program, scenario or options differ)",
                        dir.display()
                    ));
                }
                all.runs.extend(part.runs);
            }
        }
    }
    let mut all = merged.ok_or("no directories to merge")?;
    all.runs.sort_by_key(|r| r.run);
    let runs = all.inputs.scenario.simulation.runs.0;
    let expected = runs as usize;
    if let Some(w) = all.runs.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(format!(
            "run {} is in two of the folders (the same shard given twice?)",
            w[0].run
        ));
    }
    if all.runs.len() != expected {
        let have: std::collections::BTreeSet<u32> = all.runs.iter().map(|r| r.run).collect();
        let missing: Vec<String> = (0..runs)
            .filter(|r| !have.contains(r))
            .take(10)
            .map(|r| r.to_string())
            .collect();
        return Err(format!(
            "{} of {expected} runs found; missing runs {}{}",
            all.runs.len(),
            missing.join(", "),
            if expected - all.runs.len() > 10 {
                ", ..."
            } else {
                ""
            }
        ));
    }
    all.shard = (1, 1);
    all.checksum = all.content_hash();
    Ok(all)
}

/// `compare`'s table in three forms.
pub struct CompareTable {
    pub text: String,
    pub csv: String,
    pub html: String,
    /// The verdict and every metric's row, for `--format json`.
    pub json: Value,
}

/// Writes `compare`'s own outputs into `dir` (each program's are in
/// `a/` and `b/`): the table as CSV and HTML, with the charts of the
/// difference as SVG and PNG.
pub fn write_comparison(
    dir: &Path,
    names: (&str, &str),
    (a, b, differences): (&[Metric], &[Metric], &[Metric]),
    inputs: &Inputs,
) -> Result<CompareTable, String> {
    let put = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let start = inputs.scenario.simulation.start.0;
    let mut svgs = Vec::new();
    for chart in charts::difference_charts(differences, &inputs.currency, start) {
        let svg = charts::svg(&chart)?;
        put(&format!("{}.svg", chart.file), &svg)?;
        charts::png(&chart, &dir.join(format!("{}.png", chart.file)))?;
        svgs.push((chart.title.clone(), svg));
    }
    let table = compare_table(names, &inputs.currency, (a, b, differences), &svgs);
    put("compare.csv", &table.csv)?;
    put("compare.html", &table.html)?;
    Ok(table)
}

/// Each metric over the horizon for A and B, and the paired difference
/// B − A with its p5 and p95; first, which program is worth more.
fn compare_table(
    (name_a, name_b): (&str, &str),
    currency: &str,
    (a, b, differences): (&[Metric], &[Metric], &[Metric]),
    charts: &[(String, String)],
) -> CompareTable {
    let mut text = String::new();
    let mut csv =
        String::from("metric,a_mean,b_mean,difference_mean,difference_p5,difference_p95\n");
    let mut json_rows = Vec::new();
    if let Some(d) = metrics::find(differences, metrics::Name::NetProgramValue).map(|m| m.horizon) {
        let (better, worse) = if d.mean >= 0.0 {
            (name_b, name_a)
        } else {
            (name_a, name_b)
        };
        let sure = if d.p5 > 0.0 || d.p95 < 0.0 {
            "in at least 95% of runs"
        } else {
            "but not in every run: the p5–p95 range of the difference includes 0"
        };
        text.push_str(&format!(
            "\"{better}\" is worth more than \"{worse}\" (net program value, B − A: mean {:.2}, p5 {:.2}, p95 {:.2}), {sure}\n\n",
            d.mean, d.p5, d.p95
        ));
    }
    text.push_str(&format!(
        "{:<28} {:>16} {:>16} {:>16} {:>16} {:>16}\n",
        "metric", "A mean", "B mean", "B - A mean", "B - A p5", "B - A p95"
    ));
    for difference in differences {
        let (name, d) = (&difference.name, &difference.horizon);
        let (Some(ma), Some(mb)) = (
            a.iter().find(|m| &m.name == name),
            b.iter().find(|m| &m.name == name),
        ) else {
            continue;
        };
        text.push_str(&format!(
            "{name:<28} {:>16.2} {:>16.2} {:>16.2} {:>16.2} {:>16.2}\n",
            ma.horizon.mean, mb.horizon.mean, d.mean, d.p5, d.p95
        ));
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            name,
            round(ma.horizon.mean),
            round(mb.horizon.mean),
            round(d.mean),
            round(d.p5),
            round(d.p95)
        ));
        json_rows.push(json!({
            "metric": name,
            "a_mean": round(ma.horizon.mean),
            "b_mean": round(mb.horizon.mean),
            "difference_mean": round(d.mean),
            "difference_p5": round(d.p5),
            "difference_p95": round(d.p95),
        }));
    }
    let verdict = text.lines().next().unwrap_or_default().to_string();
    let html = html::compare(
        (name_a, name_b),
        currency,
        (a, b, differences),
        &verdict,
        charts,
    );
    let json = json!({
        "a": name_a,
        "b": name_b,
        "verdict": verdict,
        "metrics": json_rows,
    });
    CompareTable {
        text,
        csv,
        html,
        json,
    }
}

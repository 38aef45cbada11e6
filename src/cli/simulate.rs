//! `loyalty simulate`, `loyalty compare` and `loyalty merge`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::program::Program;
use crate::report::{self, Inputs, RunsFile};
use crate::sim::{self, Plan, Scenario};

/// Options shared by `simulate` and `compare`.
#[derive(clap::Args, Clone)]
pub struct Options {
    /// A scenario file (TOML); without it the embedded default scenario.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Customers at the start (overrides the scenario); new ones arrive
    /// as the scenario's `[arrivals]` say.
    #[arg(long)]
    customers: Option<u32>,
    /// Months simulated (overrides the scenario).
    #[arg(long)]
    months: Option<u32>,
    /// Runs, each on a new population (overrides the scenario).
    #[arg(long)]
    runs: Option<u32>,
    /// The random seed (overrides the scenario).
    #[arg(long)]
    seed: Option<u64>,
    /// The output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Do this machine's share K of N of the runs (`--shard 2/8`);
    /// `loyalty merge` combines the shards' folders.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// `human` (the default): the headline figures on stdout; `json`:
    /// the summary (as `summary.json`; `compare`: every metric's row).
    #[arg(long, value_enum, default_value_t = super::OutputFormat::Human)]
    format: super::OutputFormat,
    /// Replace `--out` even when it holds files no simulation wrote.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The program file.
    file: PathBuf,
    #[command(flatten)]
    options: Options,
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// The first program (A).
    a: PathBuf,
    /// The second program (B), compared with A.
    b: PathBuf,
    #[command(flatten)]
    options: Options,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Folders written by `simulate --shard`.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The folder for the combined outputs.
    #[arg(long)]
    out: PathBuf,
    /// `human` (the default) or `json`, as for `simulate`.
    #[arg(long, value_enum, default_value_t = super::OutputFormat::Human)]
    format: super::OutputFormat,
    /// Replace `--out` even when it holds files no simulation wrote.
    #[arg(long)]
    force: bool,
}

fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{text}` is not a shard like 2/8 (the 2nd of 8)");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u32 = k.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn scenario(options: &Options) -> Result<Option<Scenario>, String> {
    let mut scenario = match &options.scenario {
        None => Scenario::default(),
        Some(path) => {
            let text = super::read(path)?;
            match Scenario::parse(&text) {
                Ok(s) => s,
                Err(d) => {
                    eprint!(
                        "{}",
                        crate::diagnostic::render(&[d], &path.display().to_string(), &text)
                    );
                    return Ok(None);
                }
            }
        }
    };
    let sim = &mut scenario.simulation;
    let positive = |what: &str, n: u32| {
        if n == 0 {
            Err(format!("--{what} must be at least 1"))
        } else {
            Ok(n)
        }
    };
    if let Some(n) = options.customers {
        // 0 is a scenario of arrivals only.
        sim.customers.0 = n;
    }
    if let Some(n) = options.months {
        if !(1..=600).contains(&n) {
            return Err("--months must be from 1 to 600".into());
        }
        sim.months.0 = n;
    }
    if let Some(n) = options.runs {
        sim.runs.0 = positive("runs", n)?;
    }
    if let Some(seed) = options.seed {
        sim.seed = seed;
    }
    if let Some((_, problem)) = scenario.size_problem() {
        return Err(problem);
    }
    Ok(Some(scenario))
}

fn plan(scenario: &Scenario, options: &Options) -> Result<Plan, String> {
    let s = &scenario.simulation;
    let shard = options.shard.unwrap_or((1, 1));
    if shard.1 > s.runs.0 {
        return Err(format!(
            "--shard {}/{}: more shards than runs ({})",
            shard.0, shard.1, s.runs.0
        ));
    }
    Ok(Plan {
        customers: s.customers.0,
        months: s.months.0 as usize,
        runs: s.runs.0,
        shard,
    })
}

/// A bar over every customer of every run, as many times as each program
/// goes over them (`sim::passes`).
fn progress(options: &Options, scenario: &Scenario, plan: &Plan, passes: u64) -> ProgressBar {
    let runs = plan.runs().count() as u64;
    if options.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(scenario.population(plan.months) * runs * passes);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} simulating [{bar:40}] {percent}% customers×runs, {elapsed} so far, about {eta} to go",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn run_program(
    program: &Program,
    scenario: &Scenario,
    plan: Plan,
    bar: &ProgressBar,
) -> Result<Vec<sim::RunTally>, String> {
    let done = |n: u64| bar.inc(n);
    sim::simulate(program, scenario, plan, &done).map_err(|e| e.to_string())
}

fn load(path: &Path) -> Result<Option<(Program, String)>, String> {
    let source = super::read(path)?;
    Ok(super::load_program(path, &source).map(|p| (p, source)))
}

pub fn simulate(args: SimulateArgs) -> Result<ExitCode, String> {
    let Some((program, source)) = load(&args.file)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(scenario) = scenario(&args.options)? else {
        return Ok(ExitCode::from(1));
    };
    let plan = plan(&scenario, &args.options)?;
    let bar = progress(&args.options, &scenario, &plan, sim::passes(&program));
    let runs = run_program(&program, &scenario, plan, &bar)?;
    bar.finish_and_clear();
    let file = args.file.display().to_string();
    let runs_file = RunsFile::new(
        Inputs::new(&program, &file, &scenario),
        plan.shard,
        source,
        runs,
    );
    let options = &args.options;
    let metrics = report::write_folder(&options.out, options.force, |dir| {
        report::write(dir, &program, &runs_file)
    })?;
    print_result(&metrics, &runs_file, &options.out, options.format);
    Ok(ExitCode::SUCCESS)
}

/// What `simulate` and `merge` print on stdout once the outputs are
/// written: the headline, or the summary as JSON.
fn print_result(
    metrics: &[report::Metric],
    runs_file: &RunsFile,
    out: &Path,
    format: super::OutputFormat,
) {
    match format {
        super::OutputFormat::Human => println!("{}", headline(metrics, out)),
        super::OutputFormat::Json => print!(
            "{}",
            report::summary_json(&runs_file.inputs, runs_file.shard, metrics)
        ),
    }
}

pub fn merge(args: MergeArgs) -> Result<ExitCode, String> {
    let dirs: Vec<&Path> = args.dirs.iter().map(PathBuf::as_path).collect();
    let runs_file = report::merge(&dirs)?;
    let program = crate::load(&runs_file.program_source)
        .map_err(|_| "the program recorded in runs.json does not compile".to_string())?;
    let metrics = report::write_folder(&args.out, args.force, |dir| {
        report::write(dir, &program, &runs_file)
    })?;
    print_result(&metrics, &runs_file, &args.out, args.format);
    Ok(ExitCode::SUCCESS)
}

/// The few figures printed when a simulation ends.
fn headline(metrics: &[report::Metric], out: &Path) -> String {
    let mut text = String::new();
    use report::metrics::Name;
    for name in [
        Name::NetProgramValue,
        Name::IncrementalRevenue,
        Name::RewardCost,
        Name::FeeRevenue,
        Name::Liability,
        Name::BreakageRate,
    ] {
        if let Some(m) = report::metrics::find(metrics, name) {
            text.push_str(&format!(
                "{:<22} mean {:>16.2}   p5 {:>16.2}   p95 {:>16.2}\n",
                name.as_str(),
                m.horizon.mean,
                m.horizon.p5,
                m.horizon.p95
            ));
        }
    }
    text.push_str(&format!("written to {}", out.display()));
    text
}

pub fn compare(args: CompareArgs) -> Result<ExitCode, String> {
    let (Some((a, source_a)), Some((b, source_b))) = (load(&args.a)?, load(&args.b)?) else {
        return Ok(ExitCode::from(1));
    };
    let Some(scenario) = scenario(&args.options)? else {
        return Ok(ExitCode::from(1));
    };
    if args.options.shard.is_some() {
        return Err("compare runs whole simulations; use simulate --shard and merge".into());
    }
    let plan = plan(&scenario, &args.options)?;
    let passes = sim::passes(&a) + sim::passes(&b);
    let bar = progress(&args.options, &scenario, &plan, passes);
    let runs_a = run_program(&a, &scenario, plan, &bar)?;
    let runs_b = run_program(&b, &scenario, plan, &bar)?;
    bar.finish_and_clear();
    let table = report::write_folder(&args.options.out, args.options.force, |out| {
        let mut metrics = Vec::new();
        for (name, program, source, file, runs) in [
            ("a", &a, source_a, &args.a, runs_a),
            ("b", &b, source_b, &args.b, runs_b),
        ] {
            let runs_file = RunsFile::new(
                Inputs::new(program, &file.display().to_string(), &scenario),
                plan.shard,
                source,
                runs,
            );
            let m = report::write(&out.join(name), program, &runs_file)?;
            metrics.push((m, runs_file));
        }
        let differences = report::metrics::differences(
            (&a, &metrics[0].1.runs),
            (&b, &metrics[1].1.runs),
            &scenario,
            plan.customers,
        );
        let inputs = &metrics[0].1.inputs;
        report::write_comparison(
            out,
            (&a.name, &b.name),
            (&metrics[0].0, &metrics[1].0, &differences),
            inputs,
        )
    })?;
    match args.options.format {
        super::OutputFormat::Human => print!("{}", table.text),
        super::OutputFormat::Json => println!("{}", table.json),
    }
    Ok(ExitCode::SUCCESS)
}

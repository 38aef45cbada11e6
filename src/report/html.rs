//! `report.html`: one self-contained page (inline SVG and CSS, nothing
//! fetched) with the headline table and every chart. Everything that
//! comes from the program or the scenario is escaped.

use crate::report::metrics::{BREAKDOWN, Name, find};
use crate::report::{Inputs, Metric, Spread};

/// The headline table's rows: metric, label, how to show it.
const HEADLINE: &[(Name, &str, Show)] = &[
    (Name::NetProgramValue, "Net program value", Show::Money),
    (Name::IncrementalRevenue, "Incremental revenue", Show::Money),
    (
        Name::Revenue,
        "Revenue with the program, net of returns",
        Show::Money,
    ),
    (Name::Returns, "Refunded on returns", Show::Money),
    (Name::RewardCost, "Reward cost", Show::Money),
    (Name::FeeRevenue, "Fee revenue", Show::Money),
    (Name::PartnerFunded, "Funded by partners", Show::Money),
    (
        Name::RedemptionMargin,
        "Kept of redemptions at partners",
        Show::Money,
    ),
    (Name::CharityDonations, "Charity donations", Show::Money),
    (Name::Liability, "Liability at the end", Show::Money),
    (
        Name::ReturnOnCost,
        "Net value per unit of cost",
        Show::Share,
    ),
    (Name::CostPerMember, "Cost per member", Show::Money),
    (
        Name::IncrementalRevenuePerMember,
        "Incremental revenue per member",
        Show::Money,
    ),
    (Name::RewardRate, "Reward cost per revenue", Show::Share),
    (Name::NewCustomers, "New customers", Show::Count),
    (Name::ReferredCustomers, "Referred by members", Show::Count),
    (Name::Members, "Members at the end", Show::Count),
    (Name::EnrollmentRate, "Enrollment rate", Show::Share),
    (Name::PointsIssued, "Points issued", Show::Count),
    (Name::PointsRedeemed, "Points redeemed", Show::Count),
    (Name::RedemptionRate, "Redemption rate", Show::Share),
    (Name::BreakageRate, "Breakage rate", Show::Share),
    (
        Name::RetentionRate,
        "Customers still active at the end",
        Show::Share,
    ),
    (
        Name::RepeatPurchaseRate,
        "Repeat purchase rate",
        Show::Share,
    ),
    (Name::Aov, "Average order value", Show::Money),
];

#[derive(Clone, Copy)]
enum Show {
    Money,
    Count,
    Share,
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn number(x: f64, show: Show) -> String {
    let grouped = |x: f64, decimals: usize| {
        let text = format!("{:.*}", decimals, x.abs());
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
            out.insert(0, '−');
        }
        out
    };
    match show {
        Show::Money => grouped(x, 2),
        Show::Count => grouped(x, 0),
        Show::Share => format!("{}%", grouped(x * 100.0, 1)),
    }
}

fn cells(s: &Spread, show: Show) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        number(s.mean, show),
        number(s.p5, show),
        number(s.p50, show),
        number(s.p95, show)
    )
}

/// The pages' look: one style for the report and the comparison.
const STYLE: &str = "<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child { text-align: left; font-weight: normal; }
thead th { font-weight: bold; }
tr.total th, tr.total td { font-weight: bold; border-top: 2px solid #222; }
figure { margin: 2em 0; }
figcaption { color: #555; }
</style>";

/// The charts as figures, their SVG inline.
fn figures(charts: &[(String, String)]) -> String {
    let mut figures = String::new();
    for (title, svg) in charts {
        // The SVG's own XML declaration is not wanted inside HTML.
        let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
        figures.push_str(&format!(
            "<figure>\n{body}\n<figcaption>{}</figcaption>\n</figure>\n",
            escape(title)
        ));
    }
    figures
}

/// The cost breakdown's rows, one column per set of metrics: each line's
/// mean, signed, adding up to the net value's mean (means add up).
fn breakdown_rows(columns: &[&[Metric]]) -> String {
    let mut rows = String::new();
    let cells = |name: Name, sign: f64| -> String {
        columns
            .iter()
            .map(|metrics| {
                let mean = find(metrics, name).map_or(0.0, |m| m.horizon.mean);
                format!("<td>{}</td>", number(sign * mean, Show::Money))
            })
            .collect()
    };
    for (name, label, _, sign) in BREAKDOWN {
        rows.push_str(&format!(
            "<tr><th>{}</th>{}</tr>\n",
            escape(label),
            cells(*name, *sign)
        ));
    }
    rows.push_str(&format!(
        "<tr class=\"total\"><th>Net program value</th>{}</tr>\n",
        cells(Name::NetProgramValue, 1.0)
    ));
    rows
}

pub fn report(inputs: &Inputs, metrics: &[Metric], charts: &[(String, String)]) -> String {
    let mut rows = String::new();
    for &(name, label, show) in HEADLINE {
        if let Some(m) = find(metrics, name) {
            rows.push_str(&format!(
                "<tr><th>{}</th>{}</tr>\n",
                escape(label),
                cells(&m.horizon, show)
            ));
        }
    }
    for m in metrics.iter().filter(|m| m.name.starts_with("tier:")) {
        rows.push_str(&format!(
            "<tr><th>Members in tier {} at the end</th>{}</tr>\n",
            escape(m.name.trim_start_matches("tier:")),
            cells(&m.horizon, Show::Count)
        ));
    }
    let breakdown = breakdown_rows(&[metrics]);
    let months = inputs.scenario.simulation.months.0;
    let break_even = match find(metrics, Name::BreakEvenMonth) {
        Some(m) if m.horizon.p50 <= f64::from(months) => format!(
            "In half the runs the net value so far is at or above zero from month {:.0} \
             to the end (p5 month {:.0}, p95 month {:.0}).",
            m.horizon.p50, m.horizon.p5, m.horizon.p95
        ),
        Some(_) => "In most runs the program does not break even within the horizon.".into(),
        None => String::new(),
    };
    let figures = figures(charts);
    let name = escape(&inputs.program);
    let simulation = &inputs.scenario.simulation;
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{name}: simulated economics</title>
{STYLE}
</head>
<body>
<h1 id="program">{name}</h1>
<p>Simulated on {customers} customers at the start{arriving} over {months} months, {runs} runs (seed {seed}, from {start}),
program file <code>{file}</code>. Money in {currency}. Each figure is over the whole horizon:
the mean of the runs and their 5th, 50th and 95th percentiles.</p>
<table id="headline">
<thead><tr><th>Metric</th><th>Mean</th><th>p5</th><th>p50</th><th>p95</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<h2>Where the net value comes from</h2>
<table id="breakdown">
<thead><tr><th>Over the horizon, mean of the runs</th><th>{currency}</th></tr></thead>
<tbody>
{breakdown}</tbody>
</table>
<p id="break-even">{break_even}</p>
{figures}<p>Incremental figures compare the program with the same customers, on the same
random numbers, without it. How customers respond to the program is the scenario's
<code>[behavior]</code>; its numbers and their sources are in the README.</p>
</body>
</html>
"#,
        customers = number(f64::from(simulation.customers.0), Show::Count),
        arriving = match find(metrics, Name::NewCustomers) {
            Some(m) if m.horizon.mean > 0.0 => format!(
                " and {} new ones on average",
                number(m.horizon.mean, Show::Count)
            ),
            _ => String::new(),
        },
        months = simulation.months.0,
        runs = simulation.runs.0,
        seed = simulation.seed,
        start = simulation.start,
        file = escape(&inputs.program_file),
        currency = escape(&inputs.currency),
    )
}

/// `compare.html`: the verdict, the headline metrics of A and B with the
/// paired difference B − A, the cost breakdowns side by side, and charts
/// of the difference over time.
pub fn compare(
    names: (&str, &str),
    currency: &str,
    (a, b, differences): (&[Metric], &[Metric], &[Metric]),
    verdict: &str,
    charts: &[(String, String)],
) -> String {
    let mut rows = String::new();
    for &(name, label, show) in HEADLINE {
        let (Some(ma), Some(mb), Some(d)) = (find(a, name), find(b, name), find(differences, name))
        else {
            continue;
        };
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(label),
            number(ma.horizon.mean, show),
            number(mb.horizon.mean, show),
            number(d.horizon.mean, show),
            number(d.horizon.p5, show),
            number(d.horizon.p95, show),
        ));
    }
    let breakdown = breakdown_rows(&[a, b, differences]);
    let figures = figures(charts);
    let (name_a, name_b) = (escape(names.0), escape(names.1));
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{name_a} against {name_b}</title>
{STYLE}
</head>
<body>
<h1>A: {name_a} against B: {name_b}</h1>
<p id="verdict">{verdict}</p>
<p>Both programs ran on the same customers and random numbers; the difference B − A is
taken run by run, and its 5th and 95th percentiles are over the runs. Money in {currency}.
Each program's own report is in <a href="a/report.html">a/</a> and <a href="b/report.html">b/</a>;
every metric is in <code>compare.csv</code>.</p>
<table id="compare">
<thead><tr><th>Over the horizon</th><th>A mean</th><th>B mean</th><th>B − A mean</th><th>B − A p5</th><th>B − A p95</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<h2>Where the net value comes from</h2>
<table id="breakdown">
<thead><tr><th>Mean of the runs, {currency}</th><th>A</th><th>B</th><th>B − A</th></tr></thead>
<tbody>
{breakdown}</tbody>
</table>
{figures}</body>
</html>
"#,
        verdict = escape(verdict),
        currency = escape(currency),
    )
}

//! Charts with plotters, as SVG (for the report) and PNG. The PNG text is
//! drawn with a font bundled in the binary (DejaVu Sans, licence beside
//! it), so it renders on a machine with no system fonts.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::decimal::count_text;
use crate::program::{Benefit, BonusKind, Program};
use crate::report::metrics::{BREAKDOWN, Metric, Name, Spread, find};
use crate::time::Time;

static FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const SIZE: (u32, u32) = (900, 480);
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A chart: lines of metrics' monthly means, with the p5–p95 band
/// shaded where `band` is set, or a waterfall.
pub struct Chart {
    /// The file name without extension.
    pub file: &'static str,
    pub title: String,
    /// What the y axis counts: a count's name, or the currency's code.
    pub unit: String,
    pub lines: Vec<Line>,
    /// Steps of a waterfall (label, amount), drawn instead of lines
    /// when there are any: each bar starts where the last ended, and a
    /// last bar shows where they end.
    pub steps: Vec<(String, f64)>,
    /// The simulation's first month, to name the months on the x axis.
    pub start: Time,
}

pub struct Line {
    pub label: String,
    pub values: Vec<Spread>,
    pub band: bool,
}

impl Chart {
    fn lines(
        file: &'static str,
        title: &str,
        unit: &str,
        lines: impl IntoIterator<Item = Option<Line>>,
        start: Time,
    ) -> Chart {
        Chart {
            file,
            title: title.into(),
            unit: unit.into(),
            lines: lines.into_iter().flatten().collect(),
            steps: Vec::new(),
            start,
        }
    }
}

/// A metric's monthly means (with its band when `band`), if there is
/// such a metric.
fn line(metrics: &[Metric], name: Name, label: &str, band: bool) -> Option<Line> {
    find(metrics, name).map(|m| Line {
        label: label.to_string(),
        values: m.monthly.clone(),
        band,
    })
}

/// The cost breakdown's mean lines that are not 0, then the net value.
pub fn waterfall(metrics: &[Metric], currency: &str, start: Time) -> Chart {
    let mean = |name: Name| find(metrics, name).map_or(0.0, |m| m.horizon.mean);
    let steps = BREAKDOWN
        .iter()
        .map(|&(name, _, short, sign)| (short.to_string(), sign * mean(name)))
        .filter(|(_, amount)| amount.abs() >= 0.005)
        .collect();
    Chart {
        file: "waterfall",
        title: "Where the net value comes from, over the horizon (mean of the runs)".into(),
        unit: currency.into(),
        lines: Vec::new(),
        steps,
        start,
    }
}

/// `compare`'s charts: the paired difference B − A month by month, with
/// its p5–p95 band over runs.
pub fn difference_charts(differences: &[Metric], currency: &str, start: Time) -> Vec<Chart> {
    let line = |name: Name, label: &str| line(differences, name, label, true);
    vec![
        Chart::lines(
            "difference_so_far",
            "Net value so far, B − A",
            currency,
            [line(Name::CumulativeNetValue, "net value so far, B − A")],
            start,
        ),
        Chart::lines(
            "difference_value",
            "Each month, B − A",
            currency,
            [
                line(Name::IncrementalRevenue, "incremental revenue, B − A"),
                line(Name::RewardCost, "reward cost, B − A"),
                line(Name::NetProgramValue, "net program value, B − A"),
            ],
            start,
        ),
        Chart::lines(
            "difference_members",
            "Members, B − A",
            "members",
            [line(Name::Members, "members, B − A")],
            start,
        ),
    ]
}

/// The report's charts, from the metrics of a simulation: only those of
/// what the program has (no points chart for a program without points).
pub fn charts(metrics: &[Metric], program: &Program, start: Time) -> Vec<Chart> {
    let line = |name: Name, label: &str, band: bool| line(metrics, name, label, band);
    let money = program.currency.clone();
    let has_points = program
        .rules
        .iter()
        .any(|r| matches!(r.benefit, Benefit::Points(_)))
        || program
            .bonuses
            .iter()
            .any(|b| matches!(b.kind, BonusKind::FlatPoints(_)));
    let mut tiers: Vec<Line> = vec![line(Name::Members, "members", true)]
        .into_iter()
        .flatten()
        .collect();
    if program.memberships.iter().any(|plan| plan.fee.is_some()) {
        tiers.extend(line(Name::PaidMembers, "with a plan", true));
    }
    for m in metrics.iter().filter(|m| m.name.starts_with("tier:")) {
        tiers.push(Line {
            label: m.name.trim_start_matches("tier:").to_string(),
            values: m.monthly.clone(),
            band: false,
        });
    }
    let charts = vec![
        waterfall(metrics, &money, start),
        Chart::lines(
            "points",
            "Points each month",
            &program.points_name,
            [
                line(Name::PointsIssued, "issued", true),
                line(Name::PointsRedeemed, "redeemed", true),
                line(Name::PointsExpired, "expired", true),
                line(Name::PointsOutstanding, "outstanding (end of month)", true),
            ],
            start,
        ),
        Chart::lines(
            "liability",
            "Liability for outstanding points, reward money and rewards held",
            &money,
            [
                line(Name::Liability, "liability", true),
                line(Name::LiabilityPoints, "points", false),
                line(Name::LiabilityRewardMoney, "reward money", false),
                line(Name::LiabilityRewardsHeld, "rewards held", false),
            ],
            start,
        ),
        Chart {
            lines: tiers,
            ..Chart::lines("tiers", "Members, by tier and plan", "members", [], start)
        },
        Chart::lines(
            "value",
            "Incremental revenue against reward cost each month",
            &money,
            [
                line(Name::IncrementalRevenue, "incremental revenue", true),
                line(Name::RewardCost, "reward cost", true),
                line(Name::NetProgramValue, "net program value", true),
            ],
            start,
        ),
        Chart::lines(
            "value_so_far",
            "Net program value so far (break-even where it stays above 0)",
            &money,
            [line(Name::CumulativeNetValue, "net value so far", true)],
            start,
        ),
        Chart::lines(
            "retention",
            "Customers still active",
            "customers",
            [
                line(Name::CustomersActive, "with the program", true),
                line(Name::CustomersActiveBaseline, "without it", true),
            ],
            start,
        ),
    ];
    charts
        .into_iter()
        .filter(|chart| chart.file != "points" || has_points)
        .collect()
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    if !chart.steps.is_empty() {
        return draw_waterfall(root, chart);
    }
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let months = chart.lines.first().map_or(1, |l| l.values.len()).max(1);
    let mut low = 0.0f64;
    let mut high = 0.0f64;
    for line in &chart.lines {
        for v in &line.values {
            low = low.min(v.p5).min(v.mean);
            high = high.max(v.p95).max(v.mean);
        }
    }
    if high - low < 1e-9 {
        high = low + 1.0;
    }
    let pad = (high - low) * 0.05;
    let mut c = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(1f64..months.max(2) as f64, (low - pad)..(high + pad))
        .map_err(err)?;
    // Calendar months on the x axis; whole numbers, grouped, on the y
    // axis (counts, and money in whole units of the currency).
    let month = |x: &f64| {
        let (year, month, _) = chart.start.add_months(x.round() as i64 - 1).date();
        format!("{year}-{month:02}")
    };
    let whole = |y: &f64| count_text(y.round() as i64);
    c.configure_mesh()
        .x_desc("month")
        .y_desc(chart.unit.as_str())
        .x_label_formatter(&month)
        .y_label_formatter(&whole)
        .x_labels(months.min(12))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, line) in chart.lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let x = |m: usize| (m + 1) as f64;
        if line.band {
            let mut outline: Vec<(f64, f64)> = line
                .values
                .iter()
                .enumerate()
                .map(|(m, v)| (x(m), v.p95))
                .collect();
            outline.extend(
                line.values
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(m, v)| (x(m), v.p5)),
            );
            c.draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.18))))
                .map_err(err)?;
        }
        c.draw_series(LineSeries::new(
            line.values.iter().enumerate().map(|(m, v)| (x(m), v.mean)),
            colour.stroke_width(2),
        ))
        .map_err(err)?
        .label(&line.label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    if chart.lines.iter().any(|line| line.band) {
        // The shaded bands, named once in the legend.
        c.draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
            .map_err(err)?
            .label("shaded: 5th to 95th percentile over runs")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLACK.mix(0.18).filled())
            });
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// A waterfall: a bar per step from the running total before it to the
/// one after, green where it adds and red where it takes, then the total
/// in blue; the currency on the y axis, with a line at 0.
fn draw_waterfall<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let mut bars = Vec::new();
    let mut total = 0.0;
    for (label, amount) in &chart.steps {
        bars.push((label.clone(), total, total + amount));
        total += amount;
    }
    bars.push(("net value".to_string(), 0.0, total));
    let (mut low, mut high) = (0.0f64, 0.0f64);
    for (_, from, to) in &bars {
        low = low.min(*from).min(*to);
        high = high.max(*from).max(*to);
    }
    if high - low < 1e-9 {
        high = low + 1.0;
    }
    let pad = (high - low) * 0.08;
    let n = bars.len() as u32;
    let mut c = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(90)
        // A segmented 0..k has a segment for each of 0 to k.
        .build_cartesian_2d((0u32..n - 1).into_segmented(), (low - pad)..(high + pad))
        .map_err(err)?;
    let label = |x: &SegmentValue<u32>| match x {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars
            .get(*i as usize)
            .map(|(label, ..)| label.clone())
            .unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    let whole = |y: &f64| count_text(y.round() as i64);
    c.configure_mesh()
        .disable_x_mesh()
        .x_desc("")
        .y_desc(chart.unit.as_str())
        .x_labels(bars.len())
        .x_label_formatter(&label)
        .y_label_formatter(&whole)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let last = bars.len() - 1;
    c.draw_series(bars.iter().enumerate().map(|(i, (_, from, to))| {
        let colour = if i == last {
            COLOURS[0]
        } else if to >= from {
            COLOURS[2]
        } else {
            COLOURS[1]
        };
        let i = i as u32;
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), *from),
                (SegmentValue::Exact(i + 1), *to),
            ],
            colour.filled(),
        );
        bar.set_margin(0, 0, 12, 12);
        bar
    }))
    .map_err(err)?;
    c.draw_series(LineSeries::new(
        [(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    root.present().map_err(err)
}

fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is valid; should it not be, text is left out
        // rather than the charts.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The chart as SVG text.
pub fn svg(chart: &Chart) -> Result<String, String> {
    register_font();
    let mut text = String::new();
    draw(
        SVGBackend::with_string(&mut text, SIZE).into_drawing_area(),
        chart,
    )?;
    Ok(text)
}

/// Writes the chart as a PNG file.
pub fn png(chart: &Chart, path: &Path) -> Result<(), String> {
    register_font();
    draw(BitMapBackend::new(path, SIZE).into_drawing_area(), chart)
}

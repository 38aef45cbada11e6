//! The metrics of DESIGN.md, worked out from each run's integer counts,
//! then summarised over runs (mean, p5, p50, p95). Formulas are in the
//! README ("Metrics"); a ratio whose denominator is 0 is 0.

use crate::compile::Program;
use crate::sim::{Field, RunTally, Scenario};

/// How a metric adds up over the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// A flow: the months' sum.
    Sum,
    /// A stock or a ratio: its value in the last month.
    Last,
}

/// One metric for one run: a value per month and over the horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub monthly: Vec<f64>,
    pub horizon: f64,
}

/// Mean and percentiles over runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

/// The lines of the cost breakdown, which add up to the net program
/// value: metric, label, a short label for the waterfall chart, and
/// whether it adds to the net value (1) or takes from it (−1).
pub const BREAKDOWN: &[(&str, &str, &str, f64)] = &[
    (
        "margin_on_incremental_revenue",
        "Gross margin on incremental revenue",
        "margin",
        1.0,
    ),
    ("fee_revenue", "Membership fees", "fees", 1.0),
    ("partner_funded", "Funded by partners", "partners", 1.0),
    ("discounts", "Discounts", "discounts", -1.0),
    (
        "reward_money_spent",
        "Reward money spent",
        "reward money",
        -1.0,
    ),
    ("rewards_used_value", "Rewards used", "rewards", -1.0),
    ("charity_donations", "Charity donations", "charity", -1.0),
    ("perks_cost", "Perks", "perks", -1.0),
];

/// One metric over all runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub name: String,
    pub monthly: Vec<Spread>,
    pub horizon: Spread,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn money(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Every metric's series for one run, in a fixed order.
pub fn run_series(
    program: &Program,
    scenario: &Scenario,
    customers: u32,
    run: &RunTally,
) -> Vec<(String, Series)> {
    let months = run.months;
    let get = |f: Field| -> Vec<i64> { (0..months).map(|m| run.get(m, f)).collect() };
    let cumulative = |f: Field| -> Vec<i64> {
        get(f)
            .iter()
            .scan(0, |acc, x| {
                *acc = i64::saturating_add(*acc, *x);
                Some(*acc)
            })
            .collect()
    };
    let mut out: Vec<(String, Series)> = Vec::new();
    let mut push = |name: &str, monthly: Vec<f64>, over: Over| {
        let horizon = match over {
            Over::Sum => monthly.iter().sum(),
            Over::Last => monthly.last().copied().unwrap_or(0.0),
        };
        out.push((name.to_string(), Series { monthly, horizon }));
    };
    let count = |v: Vec<i64>| v.into_iter().map(|x| x as f64).collect::<Vec<f64>>();
    let cash = |v: Vec<i64>| v.into_iter().map(money).collect::<Vec<f64>>();
    let customers = f64::from(customers);
    let margin = scenario.simulation.gross_margin.0;
    let share = scenario.behavior.redemption_share.0;

    let alive = get(Field::Alive);
    let revenue = get(Field::Revenue);
    let baseline = get(Field::BaselineRevenue);
    let orders = get(Field::Orders);
    let reward_cost: Vec<i64> = (0..months)
        .map(|m| {
            [
                Field::Discounts,
                Field::RewardMoneySpent,
                Field::RewardsUsed,
                Field::CharityDonations,
            ]
            .into_iter()
            .fold(0i64, |sum, f| sum.saturating_add(run.get(m, f)))
        })
        .collect();
    let incremental: Vec<i64> = (0..months)
        .map(|m| revenue[m].saturating_sub(baseline[m]))
        .collect();

    push("customers_active", count(alive.clone()), Over::Last);
    push(
        "customers_active_baseline",
        count(get(Field::BaselineAlive)),
        Over::Last,
    );
    push("members", count(get(Field::Members)), Over::Last);
    push("paid_members", count(get(Field::PaidMembers)), Over::Last);
    push("new_members", count(get(Field::Enrollments)), Over::Sum);
    // New customers: those who arrive (with the program and without) and
    // the friends its referrals bring.
    let arrived = get(Field::Arrived);
    let referred = get(Field::Referred);
    let new_customers: Vec<i64> = (0..months)
        .map(|m| arrived[m].saturating_add(referred[m]))
        .collect();
    push("new_customers", count(new_customers.clone()), Over::Sum);
    push("referred_customers", count(referred.clone()), Over::Sum);
    push("orders", count(orders.clone()), Over::Sum);
    push(
        "orders_baseline",
        count(get(Field::BaselineOrders)),
        Over::Sum,
    );
    push("revenue", cash(revenue.clone()), Over::Sum);
    push("revenue_baseline", cash(baseline.clone()), Over::Sum);
    push("returns", cash(get(Field::Returns)), Over::Sum);
    push("incremental_revenue", cash(incremental.clone()), Over::Sum);
    push("points_issued", count(get(Field::PointsIssued)), Over::Sum);
    push(
        "points_redeemed",
        count(get(Field::PointsRedeemed)),
        Over::Sum,
    );
    push(
        "points_expired",
        count(get(Field::PointsExpired)),
        Over::Sum,
    );
    push(
        "points_donated",
        count(get(Field::PointsDonated)),
        Over::Sum,
    );
    push(
        "points_outstanding",
        count(get(Field::PointsOutstanding)),
        Over::Last,
    );
    // What the program owes its members at each month's end: the points
    // expected to be redeemed, the reward money held, and the rewards
    // held that are worth an amount.
    let owed_points: Vec<f64> = (0..months)
        .map(|m| money(program.points_value(run.get(m, Field::PointsOutstanding))) * share)
        .collect();
    let owed_money = cash(get(Field::RewardMoneyOutstanding));
    let owed_rewards = cash(get(Field::RewardsHeldValue));
    let liability: Vec<f64> = (0..months)
        .map(|m| owed_points[m] + owed_money[m] + owed_rewards[m])
        .collect();
    push("liability", liability, Over::Last);
    push("liability_points", owed_points, Over::Last);
    push("liability_reward_money", owed_money, Over::Last);
    push("liability_rewards_held", owed_rewards, Over::Last);
    push(
        "reward_money_issued",
        cash(get(Field::RewardMoneyIssued)),
        Over::Sum,
    );
    push("reward_cost", cash(reward_cost.clone()), Over::Sum);
    push(
        "rewards_issued",
        count(get(Field::RewardsIssued)),
        Over::Sum,
    );
    push(
        "rewards_issued_value",
        cash(get(Field::RewardsIssuedValue)),
        Over::Sum,
    );
    push(
        "rewards_used",
        count(get(Field::RewardsUsedCount)),
        Over::Sum,
    );
    push(
        "rewards_used_value",
        cash(get(Field::RewardsUsed)),
        Over::Sum,
    );
    push(
        "rewards_expired",
        count(get(Field::RewardsExpired)),
        Over::Sum,
    );
    push(
        "rewards_expired_value",
        cash(get(Field::RewardsExpiredValue)),
        Over::Sum,
    );
    push("discounts", cash(get(Field::Discounts)), Over::Sum);
    push("perks_cost", cash(get(Field::PerksCost)), Over::Sum);
    push("fee_revenue", cash(get(Field::Fees)), Over::Sum);
    push("partner_funded", cash(get(Field::PartnerFunded)), Over::Sum);
    push(
        "clawback_shortfall",
        cash(get(Field::ClawbackShortfall)),
        Over::Sum,
    );
    push(
        "charity_donations",
        cash(get(Field::CharityDonations)),
        Over::Sum,
    );
    // The lines of the cost breakdown, which add up to the net value.
    let margin_on_incremental: Vec<f64> = (0..months)
        .map(|m| money(incremental[m]) * margin)
        .collect();
    push(
        "margin_on_incremental_revenue",
        margin_on_incremental,
        Over::Sum,
    );
    push(
        "reward_money_spent",
        cash(get(Field::RewardMoneySpent)),
        Over::Sum,
    );
    let net: Vec<f64> = (0..months)
        .map(|m| {
            money(incremental[m]) * margin
                + money(run.get(m, Field::Fees))
                + money(run.get(m, Field::PartnerFunded))
                - money(reward_cost[m])
                - money(run.get(m, Field::PerksCost))
        })
        .collect();
    // Value over time: the net value so far, and the month from which it
    // stays at or above zero to the end (months + 1: not within the
    // horizon).
    let so_far = |values: &[f64]| -> Vec<f64> {
        values
            .iter()
            .scan(0.0, |total, x| {
                *total += x;
                Some(*total)
            })
            .collect()
    };
    let cumulative_net = so_far(&net);
    let break_even = cumulative_net
        .iter()
        .rposition(|&so_far| so_far < 0.0)
        .map_or(1, |last_below| last_below + 2);
    let program_cost: Vec<f64> = (0..months)
        .map(|m| money(reward_cost[m]) + money(run.get(m, Field::PerksCost)))
        .collect();
    let cost_so_far = so_far(&program_cost);
    let incremental_so_far = so_far(&cash(incremental.clone()));
    let members_then = get(Field::Members);
    let per_member = |totals: &[f64]| -> Vec<f64> {
        (0..months)
            .map(|m| ratio(totals[m], members_then[m] as f64))
            .collect()
    };
    let return_on_cost: Vec<f64> = (0..months)
        .map(|m| ratio(cumulative_net[m], cost_so_far[m]))
        .collect();
    let cost_per_member = per_member(&cost_so_far);
    let incremental_per_member = per_member(&incremental_so_far);
    push("net_program_value", net, Over::Sum);
    push("cumulative_net_value", cumulative_net, Over::Last);
    out.push((
        "break_even_month".to_string(),
        Series {
            monthly: vec![break_even as f64; months],
            horizon: break_even as f64,
        },
    ));

    // Ratios: their horizon value is worked out from the horizon's
    // totals, not summed.
    let mut ratios = |name: &str, monthly: Vec<f64>, horizon: f64| {
        out.push((name.to_string(), Series { monthly, horizon }));
    };
    // Customer retention rate, CRR = (E - N) / S: the customers active at
    // the end (E) less the new ones of the period (N) over those at its
    // start (S). The horizon's period is the whole horizon.
    let before = |m: usize| {
        if m == 0 {
            customers
        } else {
            alive[m - 1] as f64
        }
    };
    let retention = |end: i64, new: i64, start: f64| ratio(end.saturating_sub(new) as f64, start);
    ratios(
        "retention_rate",
        (0..months)
            .map(|m| retention(alive[m], new_customers[m], before(m)))
            .collect(),
        retention(
            alive.last().copied().unwrap_or(0),
            sum(&new_customers),
            customers,
        ),
    );
    let ordered = get(Field::Ordered);
    let repeat = get(Field::Repeat);
    let repeat_rate: Vec<f64> = (0..months)
        .map(|m| ratio(repeat[m] as f64, ordered[m] as f64))
        .collect();
    let last_repeat = repeat_rate.last().copied().unwrap_or(0.0);
    ratios("repeat_purchase_rate", repeat_rate, last_repeat);
    ratios(
        "aov",
        (0..months)
            .map(|m| ratio(money(revenue[m]), orders[m] as f64))
            .collect(),
        ratio(money(sum(&revenue)), sum(&orders) as f64),
    );
    // Members over the customers so far: those at the start and the new.
    let members = get(Field::Members);
    let enrollment: Vec<f64> = members
        .iter()
        .zip(new_customers.iter().scan(customers, |so_far, &new| {
            *so_far += new as f64;
            Some(*so_far)
        }))
        .map(|(&n, so_far)| ratio(n as f64, so_far))
        .collect();
    let last_enrollment = enrollment.last().copied().unwrap_or(0.0);
    ratios("enrollment_rate", enrollment, last_enrollment);
    let issued = cumulative(Field::PointsIssued);
    let redeemed = cumulative(Field::PointsRedeemed);
    let expired = cumulative(Field::PointsExpired);
    let abandoned = get(Field::PointsAbandoned);
    let redemption: Vec<f64> = (0..months)
        .map(|m| ratio(redeemed[m] as f64, issued[m] as f64))
        .collect();
    let last_redemption = redemption.last().copied().unwrap_or(0.0);
    ratios("redemption_rate", redemption, last_redemption);
    let breakage: Vec<f64> = (0..months)
        .map(|m| ratio(expired[m] as f64 + abandoned[m] as f64, issued[m] as f64))
        .collect();
    let last_breakage = breakage.last().copied().unwrap_or(0.0);
    ratios("breakage_rate", breakage, last_breakage);
    // So far, at each month's end; the horizon's is the last month's.
    for (name, monthly) in [
        ("return_on_cost", return_on_cost),
        ("cost_per_member", cost_per_member),
        ("incremental_revenue_per_member", incremental_per_member),
    ] {
        let last = monthly.last().copied().unwrap_or(0.0);
        ratios(name, monthly, last);
    }
    ratios(
        "reward_rate",
        (0..months)
            .map(|m| ratio(reward_cost[m] as f64, revenue[m] as f64))
            .collect(),
        ratio(sum(&reward_cost) as f64, sum(&revenue) as f64),
    );
    for (t, tier) in program.tiers.iter().enumerate() {
        let monthly: Vec<f64> = (0..months).map(|m| run.tier(m, t) as f64).collect();
        let last = monthly.last().copied().unwrap_or(0.0);
        out.push((
            format!("tier:{}", tier.name),
            Series {
                monthly,
                horizon: last,
            },
        ));
    }
    out
}

/// Linear interpolation between the closest ranks (type 7).
/// Counts added up, pinned at `i64`'s ends: a forged `runs.json` may
/// hold any numbers (the simulator's own counts are checked).
fn sum(values: &[i64]) -> i64 {
    values.iter().fold(0, |sum, &x| sum.saturating_add(x))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

pub fn spread(values: &[f64]) -> Spread {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    };
    Spread {
        mean,
        p5: percentile(&sorted, 0.05),
        p50: percentile(&sorted, 0.50),
        p95: percentile(&sorted, 0.95),
    }
}

/// Every metric over the runs (which come sorted by run number, so that
/// sums are taken in one order).
pub fn metrics(
    program: &Program,
    scenario: &Scenario,
    customers: u32,
    runs: &[RunTally],
) -> Vec<Metric> {
    let per_run: Vec<Vec<(String, Series)>> = runs
        .iter()
        .map(|run| run_series(program, scenario, customers, run))
        .collect();
    summarise(&per_run)
}

/// Each metric's mean and percentiles over runs, month by month and over
/// the horizon.
fn summarise(per_run: &[Vec<(String, Series)>]) -> Vec<Metric> {
    let Some(first) = per_run.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, (name, series))| {
            let monthly = (0..series.monthly.len())
                .map(|m| {
                    let values: Vec<f64> = per_run.iter().map(|r| r[i].1.monthly[m]).collect();
                    spread(&values)
                })
                .collect();
            let horizon: Vec<f64> = per_run.iter().map(|r| r[i].1.horizon).collect();
            Metric {
                name: name.clone(),
                monthly,
                horizon: spread(&horizon),
            }
        })
        .collect()
}

/// The paired difference B − A of each metric that both programs have,
/// run by run (both on the same customers) and month by month, for
/// `compare`.
pub fn differences(
    a: (&Program, &[RunTally]),
    b: (&Program, &[RunTally]),
    scenario: &Scenario,
    customers: u32,
) -> Vec<Metric> {
    let per_run: Vec<Vec<(String, Series)>> =
        a.1.iter()
            .zip(b.1)
            .map(|(run_a, run_b)| {
                let series_a = run_series(a.0, scenario, customers, run_a);
                let series_b = run_series(b.0, scenario, customers, run_b);
                series_a
                    .into_iter()
                    .filter_map(|(name, x)| {
                        let (_, y) = series_b.iter().find(|(n, _)| *n == name)?;
                        let monthly = x
                            .monthly
                            .iter()
                            .zip(&y.monthly)
                            .map(|(x, y)| y - x)
                            .collect();
                        let horizon = y.horizon - x.horizon;
                        Some((name, Series { monthly, horizon }))
                    })
                    .collect()
            })
            .collect();
    summarise(&per_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let s = spread(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.p50, 3.0);
        assert!((s.p5 - 1.2).abs() < 1e-12);
        assert!((s.p95 - 4.8).abs() < 1e-12);
    }
}

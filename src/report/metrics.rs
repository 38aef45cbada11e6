//! The metrics of DESIGN.md, worked out from each run's integer counts,
//! then summarised over runs (mean, p5, p50, p95). Formulas are in the
//! README ("Metrics"); a ratio whose denominator is 0 is 0.

use crate::program::Program;
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

/// Declares the metrics' names once: the enum every part of the crate
/// uses, and the text that the outputs (summary.json, monthly.csv, the
/// command line) show.
macro_rules! names {
    ($($name:ident = $text:literal,)*) => {
        /// A metric, by name (`tier:<name>` metrics are per tier and have
        /// none).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Name {
            $($name,)*
        }

        impl Name {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Name::$name => $text,)*
                }
            }
        }
    };
}

names! {
    CustomersActive = "customers_active",
    CustomersActiveBaseline = "customers_active_baseline",
    Members = "members",
    PaidMembers = "paid_members",
    NewMembers = "new_members",
    NewCustomers = "new_customers",
    ReferredCustomers = "referred_customers",
    Orders = "orders",
    OrdersBaseline = "orders_baseline",
    Revenue = "revenue",
    RevenueBaseline = "revenue_baseline",
    Returns = "returns",
    IncrementalRevenue = "incremental_revenue",
    PointsIssued = "points_issued",
    PointsRedeemed = "points_redeemed",
    PointsExpired = "points_expired",
    PointsDonated = "points_donated",
    PointsOutstanding = "points_outstanding",
    Liability = "liability",
    LiabilityPoints = "liability_points",
    LiabilityRewardMoney = "liability_reward_money",
    LiabilityRewardsHeld = "liability_rewards_held",
    RewardMoneyIssued = "reward_money_issued",
    RewardCost = "reward_cost",
    RewardsIssued = "rewards_issued",
    RewardsIssuedValue = "rewards_issued_value",
    RewardsUsed = "rewards_used",
    RewardsUsedValue = "rewards_used_value",
    RewardsExpired = "rewards_expired",
    RewardsExpiredValue = "rewards_expired_value",
    Discounts = "discounts",
    PerksCost = "perks_cost",
    FeeRevenue = "fee_revenue",
    PartnerFunded = "partner_funded",
    RedemptionMargin = "redemption_margin",
    ClawbackShortfall = "clawback_shortfall",
    CharityDonations = "charity_donations",
    MarginOnIncrementalRevenue = "margin_on_incremental_revenue",
    RewardMoneySpent = "reward_money_spent",
    NetProgramValue = "net_program_value",
    CumulativeNetValue = "cumulative_net_value",
    BreakEvenMonth = "break_even_month",
    RetentionRate = "retention_rate",
    RepeatPurchaseRate = "repeat_purchase_rate",
    Aov = "aov",
    EnrollmentRate = "enrollment_rate",
    RedemptionRate = "redemption_rate",
    BreakageRate = "breakage_rate",
    ReturnOnCost = "return_on_cost",
    CostPerMember = "cost_per_member",
    IncrementalRevenuePerMember = "incremental_revenue_per_member",
    RewardRate = "reward_rate",
    BudgetsRunOut = "budgets_run_out",
}

/// The metric of this name among a simulation's.
pub fn find(metrics: &[Metric], name: Name) -> Option<&Metric> {
    metrics.iter().find(|m| m.name == name.as_str())
}

/// The lines of the cost breakdown, which add up to the net program
/// value: metric, label, a short label for the waterfall chart, and
/// whether it adds to the net value (1) or takes from it (−1).
pub const BREAKDOWN: &[(Name, &str, &str, f64)] = &[
    (
        Name::MarginOnIncrementalRevenue,
        "Gross margin on incremental revenue",
        "margin",
        1.0,
    ),
    (Name::FeeRevenue, "Membership fees", "fees", 1.0),
    (Name::PartnerFunded, "Funded by partners", "partners", 1.0),
    (
        Name::RedemptionMargin,
        "Kept of redemptions at partners",
        "margin at partners",
        1.0,
    ),
    (Name::Discounts, "Discounts", "discounts", -1.0),
    (
        Name::RewardMoneySpent,
        "Reward money spent",
        "reward money",
        -1.0,
    ),
    (Name::RewardsUsedValue, "Rewards used", "rewards", -1.0),
    (Name::CharityDonations, "Charity donations", "charity", -1.0),
    (Name::PerksCost, "Perks", "perks", -1.0),
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
    let mut push = |name: Name, monthly: Vec<f64>, over: Over| {
        let horizon = match over {
            Over::Sum => monthly.iter().sum(),
            Over::Last => monthly.last().copied().unwrap_or(0.0),
        };
        out.push((name.as_str().to_string(), Series { monthly, horizon }));
    };
    let count = |v: Vec<i64>| v.into_iter().map(|x| x as f64).collect::<Vec<f64>>();
    let cash = |v: Vec<i64>| v.into_iter().map(money).collect::<Vec<f64>>();
    // A field's counts as they are, and a field of cents in the currency.
    let counted = |f: Field| count(get(f));
    let in_money = |f: Field| cash(get(f));
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

    push(Name::CustomersActive, count(alive.clone()), Over::Last);
    push(
        Name::CustomersActiveBaseline,
        counted(Field::BaselineAlive),
        Over::Last,
    );
    push(Name::Members, counted(Field::Members), Over::Last);
    push(Name::PaidMembers, counted(Field::PaidMembers), Over::Last);
    push(Name::NewMembers, counted(Field::Enrollments), Over::Sum);
    // New customers: those who arrive (with the program and without) and
    // the friends its referrals bring.
    let arrived = get(Field::Arrived);
    let referred = get(Field::Referred);
    let new_customers: Vec<i64> = (0..months)
        .map(|m| arrived[m].saturating_add(referred[m]))
        .collect();
    push(Name::NewCustomers, count(new_customers.clone()), Over::Sum);
    push(Name::ReferredCustomers, count(referred.clone()), Over::Sum);
    push(Name::Orders, count(orders.clone()), Over::Sum);
    push(
        Name::OrdersBaseline,
        counted(Field::BaselineOrders),
        Over::Sum,
    );
    push(Name::Revenue, cash(revenue.clone()), Over::Sum);
    push(Name::RevenueBaseline, cash(baseline.clone()), Over::Sum);
    push(Name::Returns, in_money(Field::Returns), Over::Sum);
    push(
        Name::IncrementalRevenue,
        cash(incremental.clone()),
        Over::Sum,
    );
    push(Name::PointsIssued, counted(Field::PointsIssued), Over::Sum);
    push(
        Name::PointsRedeemed,
        counted(Field::PointsRedeemed),
        Over::Sum,
    );
    push(
        Name::PointsExpired,
        counted(Field::PointsExpired),
        Over::Sum,
    );
    push(
        Name::PointsDonated,
        counted(Field::PointsDonated),
        Over::Sum,
    );
    push(
        Name::PointsOutstanding,
        counted(Field::PointsOutstanding),
        Over::Last,
    );
    // What the program owes its members at each month's end: the points
    // expected to be redeemed, the reward money held, and the rewards
    // held that are worth an amount.
    let owed_points: Vec<f64> = (0..months)
        .map(|m| money(program.points_value(run.get(m, Field::PointsOutstanding))) * share)
        .collect();
    let owed_money = in_money(Field::RewardMoneyOutstanding);
    let owed_rewards = in_money(Field::RewardsHeldValue);
    let liability: Vec<f64> = (0..months)
        .map(|m| owed_points[m] + owed_money[m] + owed_rewards[m])
        .collect();
    push(Name::Liability, liability, Over::Last);
    push(Name::LiabilityPoints, owed_points, Over::Last);
    push(Name::LiabilityRewardMoney, owed_money, Over::Last);
    push(Name::LiabilityRewardsHeld, owed_rewards, Over::Last);
    push(
        Name::RewardMoneyIssued,
        in_money(Field::RewardMoneyIssued),
        Over::Sum,
    );
    push(Name::RewardCost, cash(reward_cost.clone()), Over::Sum);
    push(
        Name::RewardsIssued,
        counted(Field::RewardsIssued),
        Over::Sum,
    );
    push(
        Name::RewardsIssuedValue,
        in_money(Field::RewardsIssuedValue),
        Over::Sum,
    );
    push(
        Name::RewardsUsed,
        counted(Field::RewardsUsedCount),
        Over::Sum,
    );
    push(
        Name::RewardsUsedValue,
        in_money(Field::RewardsUsed),
        Over::Sum,
    );
    push(
        Name::RewardsExpired,
        counted(Field::RewardsExpired),
        Over::Sum,
    );
    push(
        Name::RewardsExpiredValue,
        in_money(Field::RewardsExpiredValue),
        Over::Sum,
    );
    push(Name::Discounts, in_money(Field::Discounts), Over::Sum);
    push(Name::PerksCost, in_money(Field::PerksCost), Over::Sum);
    push(Name::FeeRevenue, in_money(Field::Fees), Over::Sum);
    push(
        Name::PartnerFunded,
        in_money(Field::PartnerFunded),
        Over::Sum,
    );
    push(
        Name::RedemptionMargin,
        in_money(Field::RedemptionMargin),
        Over::Sum,
    );
    push(
        Name::ClawbackShortfall,
        in_money(Field::ClawbackShortfall),
        Over::Sum,
    );
    push(
        Name::CharityDonations,
        in_money(Field::CharityDonations),
        Over::Sum,
    );
    // The lines of the cost breakdown, which add up to the net value.
    let margin_on_incremental: Vec<f64> = (0..months)
        .map(|m| money(incremental[m]) * margin)
        .collect();
    push(
        Name::MarginOnIncrementalRevenue,
        margin_on_incremental,
        Over::Sum,
    );
    push(
        Name::RewardMoneySpent,
        in_money(Field::RewardMoneySpent),
        Over::Sum,
    );
    let net: Vec<f64> = (0..months)
        .map(|m| {
            money(incremental[m]) * margin
                + money(run.get(m, Field::Fees))
                + money(run.get(m, Field::PartnerFunded))
                + money(run.get(m, Field::RedemptionMargin))
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
    push(Name::NetProgramValue, net, Over::Sum);
    push(Name::CumulativeNetValue, cumulative_net, Over::Last);
    out.push((
        Name::BreakEvenMonth.as_str().to_string(),
        Series {
            monthly: vec![break_even as f64; months],
            horizon: break_even as f64,
        },
    ));

    // Ratios: their horizon value is worked out from the horizon's
    // totals, not summed.
    let mut ratios = |name: Name, monthly: Vec<f64>, horizon: f64| {
        out.push((name.as_str().to_string(), Series { monthly, horizon }));
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
        Name::RetentionRate,
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
    ratios(Name::RepeatPurchaseRate, repeat_rate, last_repeat);
    ratios(
        Name::Aov,
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
    ratios(Name::EnrollmentRate, enrollment, last_enrollment);
    let issued = cumulative(Field::PointsIssued);
    let redeemed = cumulative(Field::PointsRedeemed);
    let expired = cumulative(Field::PointsExpired);
    let abandoned = get(Field::PointsAbandoned);
    let redemption: Vec<f64> = (0..months)
        .map(|m| ratio(redeemed[m] as f64, issued[m] as f64))
        .collect();
    let last_redemption = redemption.last().copied().unwrap_or(0.0);
    ratios(Name::RedemptionRate, redemption, last_redemption);
    let breakage: Vec<f64> = (0..months)
        .map(|m| ratio(expired[m] as f64 + abandoned[m] as f64, issued[m] as f64))
        .collect();
    let last_breakage = breakage.last().copied().unwrap_or(0.0);
    ratios(Name::BreakageRate, breakage, last_breakage);
    // So far, at each month's end; the horizon's is the last month's.
    for (name, monthly) in [
        (Name::ReturnOnCost, return_on_cost),
        (Name::CostPerMember, cost_per_member),
        (Name::IncrementalRevenuePerMember, incremental_per_member),
    ] {
        let last = monthly.last().copied().unwrap_or(0.0);
        ratios(name, monthly, last);
    }
    ratios(
        Name::RewardRate,
        (0..months)
            .map(|m| ratio(reward_cost[m] as f64, revenue[m] as f64))
            .collect(),
        ratio(sum(&reward_cost) as f64, sum(&revenue) as f64),
    );
    if program.budget_slots > 0 {
        // How often a budget shared by all members ran out: a cost the
        // program did not pay, and members who came too late.
        out.push((
            Name::BudgetsRunOut.as_str().to_string(),
            Series {
                monthly: counted(Field::BudgetsRunOut),
                horizon: run.total(Field::BudgetsRunOut) as f64,
            },
        ));
    }
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

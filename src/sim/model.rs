//! The program and the scenario, read once into what the customer loop
//! needs: no names, no maps; and the horizon's calendar of months.

use rand_distr::{Beta, Gamma, Poisson};
use rayon::prelude::*;

use crate::engine::Budgets;

use crate::program::{
    Action, ActionId, Measure, NameId, Points, Program, Qualification, RewardId, TierId, Trigger,
    Window, sku_key,
};
use crate::sim::lift::Gives;
use crate::sim::scenario::{Batch, Scenario, Segment};
use crate::sim::week::Week;
use crate::sim::{CHUNK, RunTally, Work};
use crate::time::Time;

/// The program and the scenario, read once into what the customer loop
/// needs: no names, no maps.
pub struct Model<'p> {
    pub program: &'p Program,
    pub scenario: &'p Scenario,
    pub months: usize,
    pub(super) start: Time,
    /// When in the week orders come: the purchase clock's own time
    /// (`week`); none when every hour weighs the same.
    pub(super) week: Option<Week>,
    /// Day (from the start) at which each month begins; one more for the
    /// end of the horizon.
    pub(super) month_days: Vec<f64>,
    pub(super) month_times: Vec<Time>,
    pub(super) segments: Vec<SegmentModel>,
    /// Rewards bought with points, cheapest first.
    pub(super) ladder: Vec<(Points, RewardId)>,
    pub(super) conversions: Vec<Points>,
    /// Punch cards: (rule, stamps needed).
    pub(super) punch_cards: Vec<(usize, u32)>,
    /// Actions that some rule rewards and that a member does by choice.
    pub(super) actions: Vec<ActionId>,
    /// Tiers with a threshold: (tier, measure, amount, window).
    pub(super) thresholds: Vec<(TierId, Measure, i64, Window)>,
    pub(super) chosen_days: bool,
    /// Whether some tier counts nights, so that each order is a stay.
    pub(super) counts_nights: bool,
    /// What the program gives, by where it stands: the member lifts
    /// hold only while a member is in reach of something of value.
    pub(super) gives: Gives,
    pub(super) attributes: Vec<(NameId, bool)>,
    pub(super) partners: u64,
    pub(super) brands: u64,
    /// New customers, numbered after the customers at the start: batch
    /// `i`'s first is customer `first_of_batch[i]`.
    pub(super) batches: Vec<Batch>,
    pub(super) first_of_batch: Vec<u32>,
    /// Customers at the start, and everyone.
    pub(super) base: u32,
    pub(super) population: u32,
    /// Whether the program rewards referrals, so that the friends they
    /// bring are its doing.
    pub(super) refers: bool,
}

pub(super) struct SegmentModel {
    /// Upper end of this segment's slice of [0, 1).
    pub(super) until: f64,
    pub(super) rate: Gamma<f64>,
    pub(super) dropout: Beta<f64>,
    pub(super) spend_rate: Gamma<f64>,
    pub(super) spend_shape: f64,
    /// Days per BG/NBD time unit.
    pub(super) unit_days: f64,
    pub(super) categories: Vec<(f64, NameId)>,
    /// Items an order has beyond the first, on average; and the products
    /// (SKU keys) of items, as cumulative shares. An order is a basket
    /// when either is there.
    pub(super) extra_items: Option<Poisson<f64>>,
    pub(super) products: Vec<(f64, u64)>,
    /// Nights a stay has beyond the first, on average, when the
    /// program's tiers count nights (`Model::counts_nights`).
    pub(super) extra_nights: Option<Poisson<f64>>,
    pub(super) channels: Vec<(f64, NameId)>,
    pub(super) payment_methods: Vec<(f64, NameId)>,
}

/// Why a scenario does not fit a program.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

impl<'p> Model<'p> {
    pub fn new(
        program: &'p Program,
        scenario: &'p Scenario,
        plan: crate::sim::Plan,
    ) -> Result<Model<'p>, ModelError> {
        let months = plan.months;
        let start = scenario.simulation.start.0;
        let month_times: Vec<Time> = (0..=months as i64).map(|m| start.add_months(m)).collect();
        let offset = program.calendar.local(start).0 - start.0;
        let week = Week::new(&scenario.week, start, offset);
        let on_clock = |days: f64| week.as_ref().map_or(days, |w| w.clock(days));
        let month_days = month_times
            .iter()
            .map(|t| on_clock(t.days_since(start)))
            .collect();
        let mut until = 0.0;
        let mut segments = Vec::new();
        for segment in &scenario.segments {
            until += segment.share.0;
            segments.push(SegmentModel::new(program, segment, until)?);
        }
        if let Some(last) = segments.last_mut() {
            last.until = f64::INFINITY;
        }
        let mut ladder: Vec<(Points, RewardId)> = program
            .rewards
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.cost.map(|c| (c, i as RewardId)))
            .collect();
        ladder.sort();
        let mut actions = Vec::new();
        let mut punch_cards = Vec::new();
        for (i, rule) in program.rules.iter().enumerate() {
            let action = match rule.trigger {
                Trigger::Action(a) => a,
                Trigger::EveryNth { nth, action } => {
                    punch_cards.push((i, nth));
                    action
                }
                _ => continue,
            };
            let automatic = [
                Action::Joining,
                Action::Birthday,
                Action::Referral,
                Action::BeingReferred,
                Action::Visit,
            ]
            .iter()
            .any(|a| a.id() == action);
            if !automatic && !actions.contains(&action) {
                actions.push(action);
            }
        }
        let thresholds: Vec<(TierId, Measure, i64, Window)> = program
            .tiers
            .iter()
            .enumerate()
            .filter_map(|(t, tier)| match tier.qualification {
                Qualification::Threshold {
                    measure,
                    amount,
                    window,
                } => Some((t as TierId, measure, amount, window)),
                _ => None,
            })
            .collect();
        let base = plan.customers;
        let mut batches = scenario.arrivals(months);
        // New customers arrive spread over the clock's days, so more of
        // them in the busy hours.
        for batch in &mut batches {
            let from = on_clock(batch.from);
            batch.days = on_clock(batch.from + batch.days) - from;
            batch.from = from;
        }
        let mut first_of_batch = Vec::with_capacity(batches.len());
        let mut population = base;
        for batch in &batches {
            first_of_batch.push(population);
            population = population.checked_add(batch.count).ok_or_else(|| {
                ModelError("more customers arrive than this tool simulates".into())
            })?;
        }
        let refers = program.rules.iter().any(|rule| {
            matches!(rule.trigger, Trigger::Action(a)
                if a == Action::Referral.id() || a == Action::BeingReferred.id())
        });
        Ok(Model {
            program,
            scenario,
            months,
            batches,
            first_of_batch,
            base,
            population,
            refers,
            start,
            week,
            month_days,
            month_times,
            segments,
            ladder,
            conversions: program.conversions.iter().map(|c| c.points).collect(),
            punch_cards,
            actions,
            counts_nights: thresholds
                .iter()
                .any(|&(_, measure, _, _)| measure == Measure::Nights),
            thresholds,
            chosen_days: program
                .bonuses
                .iter()
                .any(|b| b.conditions.chosen_days.is_some()),
            gives: Gives::of(program),
            attributes: (0..program.attributes.len() as NameId)
                .map(|a| (a, true))
                .collect(),
            partners: program.partners.len() as u64,
            brands: program.brands.len() as u64,
        })
    }

    /// Everyone simulated in a run: the customers at the start, then
    /// those who arrive.
    /// One run over every customer, on the threads there are, its
    /// budgets as `budgets` makes them for each thread.
    pub(super) fn run(
        &self,
        run: u32,
        budgets: &(dyn Fn() -> Budgets + Sync),
        done: &(dyn Fn(u64) + Sync),
    ) -> RunTally {
        let population = self.population();
        let (months, tiers) = (self.months, self.program.tiers.len());
        (0..population.div_ceil(CHUNK))
            .into_par_iter()
            .map_init(
                || Work::new(self.program, budgets()),
                |work, chunk| {
                    let mut tally = RunTally::new(run, months, tiers);
                    let first = chunk * CHUNK;
                    let last = (first + CHUNK).min(population);
                    for c in first..last {
                        self.customer(run, c, work, &mut tally);
                    }
                    done(u64::from(last - first));
                    tally
                },
            )
            .reduce(
                || RunTally::new(run, months, tiers),
                |mut a, b| {
                    a.absorb(&b);
                    a
                },
            )
    }

    pub fn population(&self) -> u32 {
        self.population
    }

    /// The month (from 0) that a day of the horizon falls in.
    pub(super) fn month_of(&self, day: f64) -> usize {
        self.month_days
            .partition_point(|&start| start <= day)
            .saturating_sub(1)
            .min(self.months.saturating_sub(1))
    }

    /// The moment of a day of the purchase clock (from the start, with
    /// its fraction).
    pub(super) fn time_at(&self, day: f64) -> Time {
        let days = self.week.as_ref().map_or(day, |w| w.days(day));
        self.start.add_fractional_days(days)
    }

    /// The day of the purchase clock (from the start, with its fraction)
    /// of a moment.
    pub(super) fn day_of(&self, at: Time) -> f64 {
        let days = at.days_since(self.start);
        self.week.as_ref().map_or(days, |w| w.clock(days))
    }
}

/// Shares over what the program names (`named`: each name and what it
/// stands for), as cumulative thresholds: as `given`, or 1/(n+1) each
/// when nothing is given.
fn mix<T: Copy>(
    kind: &str,
    named: &[(&str, T)],
    given: &std::collections::BTreeMap<String, crate::sim::scenario::Probability>,
    segment: &str,
) -> Result<Vec<(f64, T)>, ModelError> {
    let mut out = Vec::new();
    let mut total = 0.0;
    if given.is_empty() {
        let share = 1.0 / (named.len() + 1) as f64;
        for &(_, id) in named {
            total += share;
            out.push((total, id));
        }
        return Ok(out);
    }
    for (name, share) in given {
        let Some(&(_, id)) = named.iter().find(|(n, _)| n == name) else {
            let hint = crate::diagnostic::did_you_mean(name, named.iter().map(|(n, _)| *n))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(ModelError(format!(
                "segment \"{segment}\": the program has no {kind} `{name}`{hint}"
            )));
        };
        total += share.0;
        out.push((total, id));
    }
    if total > 1.0 + 1e-9 {
        return Err(ModelError(format!(
            "segment \"{segment}\": the {kind} shares add up to {total}, more than 1"
        )));
    }
    Ok(out)
}

/// The names of a kind with their ids, for [`mix`].
fn named(names: &crate::program::Names) -> Vec<(&str, NameId)> {
    names.iter().zip(0..).collect()
}

/// The products (SKUs) the program names with their keys, for [`mix`].
fn products(program: &Program) -> Vec<(&str, u64)> {
    let mut skus: Vec<&str> = (program.products.iter())
        .flat_map(|list| list.skus.iter().map(String::as_str))
        .collect();
    skus.sort_unstable();
    skus.dedup();
    skus.into_iter().map(|sku| (sku, sku_key(sku))).collect()
}

pub(super) fn pick<T: Copy>(mix: &[(f64, T)], u: f64) -> Option<T> {
    mix.iter().find(|(until, _)| u < *until).map(|(_, id)| *id)
}

impl SegmentModel {
    fn new(program: &Program, s: &Segment, until: f64) -> Result<SegmentModel, ModelError> {
        let bad = |what: &str| ModelError(format!("segment \"{}\": {what}", s.name));
        Ok(SegmentModel {
            until,
            rate: Gamma::new(s.purchase.r.0, 1.0 / s.purchase.alpha.0)
                .map_err(|_| bad("r and alpha must be above 0"))?,
            dropout: Beta::new(s.purchase.a.0, s.purchase.b.0)
                .map_err(|_| bad("a and b must be above 0"))?,
            spend_rate: Gamma::new(s.spend.q.0, 1.0 / s.spend.v.0)
                .map_err(|_| bad("q and v must be above 0"))?,
            spend_shape: s.spend.p.0,
            unit_days: s.purchase.unit.days(),
            categories: mix(
                "category",
                &named(&program.categories),
                &s.categories,
                &s.name,
            )?,
            extra_items: Poisson::new(s.items.0 - 1.0).ok(),
            extra_nights: Poisson::new(s.nights.0 - 1.0).ok(),
            products: mix("product", &products(program), &s.products, &s.name)?,
            channels: mix("channel", &named(&program.channels), &s.channels, &s.name)?,
            payment_methods: mix(
                "payment method",
                &named(&program.payment_methods),
                &s.payment_methods,
                &s.name,
            )?,
        })
    }
}

//! One synthetic customer over the horizon, twice: without the program
//! (the baseline) and with it, on the same random numbers. With the
//! program, the customer's member account is run by the engine's own
//! `Apply`, the code that `loyalty run` uses, so a simulated member earns,
//! redeems, expires and pays exactly as the program says.
//!
//! Purchases follow BG/NBD in continuous time: the waiting time to the
//! next purchase is a standard exponential divided by the purchase rate,
//! and a change of rate (a lift) rescales what is left of it, so the
//! program and the baseline share their waiting times. Behaviour lifts
//! are read from the member's state at each month start and after each
//! purchase.

use rand_distr::{Beta, Distribution, Gamma};

use crate::compile::{
    Action, ActionId, Benefit, ConversionInto, Fee, Measure, MembershipId, NameId, PerkCost,
    PerkId, Points, Program, Qualification, RewardId, RewardValue, Scope, TierId, Trigger, Window,
};
use crate::engine::{Apply, Cause, Effect, EffectKind, Member, MembershipState, Purchase};
use crate::sim::rng::{Rng, Stream};
use crate::sim::scenario::{Batch, Scenario, Segment};
use crate::sim::tally::{Field, RunTally};
use crate::time::Time;

const DAY: i64 = 86_400;

/// The program and the scenario, read once into what the customer loop
/// needs: no names, no maps.
pub struct Model<'p> {
    pub program: &'p Program,
    pub scenario: &'p Scenario,
    pub months: usize,
    start: Time,
    /// Day (from the start) at which each month begins; one more for the
    /// end of the horizon.
    month_days: Vec<f64>,
    month_times: Vec<Time>,
    segments: Vec<SegmentModel>,
    /// Rewards bought with points, cheapest first.
    ladder: Vec<(Points, RewardId)>,
    conversions: Vec<Points>,
    /// Punch cards: (rule, stamps needed).
    punch_cards: Vec<(usize, u32)>,
    /// Actions that some rule rewards and that a member does by choice.
    actions: Vec<ActionId>,
    /// Tiers with a threshold: (tier, measure, amount, window).
    thresholds: Vec<(TierId, Measure, i64, Window)>,
    chosen_days: bool,
    /// What the program gives, by where it stands: the member lifts
    /// hold only while a member is in reach of something of value.
    gives: Gives,
    attributes: Vec<(NameId, bool)>,
    partners: u64,
    brands: u64,
    /// New customers, numbered after the customers at the start: batch
    /// `i`'s first is customer `first_of_batch[i]`.
    batches: Vec<Batch>,
    first_of_batch: Vec<u32>,
    /// Customers at the start, and everyone.
    base: u32,
    population: u32,
    /// Whether the program rewards referrals, so that the friends they
    /// bring are its doing.
    refers: bool,
}

struct SegmentModel {
    /// Upper end of this segment's slice of [0, 1).
    until: f64,
    rate: Gamma<f64>,
    dropout: Beta<f64>,
    spend_rate: Gamma<f64>,
    spend_shape: f64,
    /// Days per BG/NBD time unit.
    unit_days: f64,
    categories: Vec<(f64, NameId)>,
    channels: Vec<(f64, NameId)>,
    payment_methods: Vec<(f64, NameId)>,
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
        let month_days = month_times
            .iter()
            .map(|t| ((t.0 - start.0) / DAY) as f64)
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
        let thresholds = program
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
        let batches = scenario.arrivals(months);
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
            month_days,
            month_times,
            segments,
            ladder,
            conversions: program.conversions.iter().map(|c| c.points).collect(),
            punch_cards,
            actions,
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
    pub fn population(&self) -> u32 {
        self.population
    }

    /// The month (from 0) that a day of the horizon falls in.
    fn month_of(&self, day: f64) -> usize {
        self.month_days
            .partition_point(|&start| start <= day)
            .saturating_sub(1)
            .min(self.months.saturating_sub(1))
    }

    fn time_at(&self, day: f64) -> Time {
        Time(self.start.0 + (day * DAY as f64) as i64)
    }

    /// The day (from the start, with its fraction) of a time.
    fn day_of(&self, at: Time) -> f64 {
        (at.0 - self.start.0) as f64 / DAY as f64
    }
}

/// Shares of orders over names, as cumulative thresholds.
fn mix(
    kind: &str,
    names: &crate::compile::Names,
    given: &std::collections::BTreeMap<String, crate::sim::scenario::Probability>,
    segment: &str,
) -> Result<Vec<(f64, NameId)>, ModelError> {
    let mut out = Vec::new();
    let mut total = 0.0;
    if given.is_empty() {
        let share = 1.0 / (names.len() + 1) as f64;
        for id in 0..names.len() as NameId {
            total += share;
            out.push((total, id));
        }
        return Ok(out);
    }
    for (name, share) in given {
        let Some(id) = names.id(name) else {
            let hint = crate::diagnostic::did_you_mean(name, names.iter())
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

fn pick(mix: &[(f64, NameId)], u: f64) -> Option<NameId> {
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
            categories: mix("category", &program.categories, &s.categories, &s.name)?,
            channels: mix("channel", &program.channels, &s.channels, &s.name)?,
            payment_methods: mix(
                "payment method",
                &program.payment_methods,
                &s.payment_methods,
                &s.name,
            )?,
        })
    }
}

/// Who is simulated: a customer of a run, or the `friend`-th friend
/// their referrals brought (0: the customer themself).
#[derive(Clone, Copy)]
struct Who {
    run: u32,
    customer: u32,
    friend: u32,
}

impl Who {
    fn rng(self, model: &Model, stream: Stream) -> Rng {
        let seed = model.scenario.simulation.seed;
        Rng::of_friend(seed, self.run, self.customer, self.friend, stream)
    }
}

/// A customer's fixed traits, drawn the same way for both passes.
struct Traits {
    segment: usize,
    /// Purchases per day while alive.
    rate: f64,
    dropout: f64,
    /// Order values: Gamma(p, ν) with the customer's ν, times `value`
    /// (`referred_value` for a referred friend, else 1).
    spend: Option<Gamma<f64>>,
    value: f64,
    /// The day a new customer arrives and makes their first purchase;
    /// `None` for a customer there at the start.
    arrives: Option<f64>,
}

/// One order's draws: the same for both passes, whatever the program.
#[derive(Clone, Copy)]
struct OrderDraw {
    cents: i64,
    at_partner: Option<NameId>,
    /// The share of the order returned (0: kept) and the day it is.
    returned: f64,
    return_after: f64,
    category: f64,
    channel: f64,
    payment: f64,
    brand: f64,
}

/// The draws both passes read in the same order, the waiting times and
/// the orders: the baseline draws and keeps them, the program pass reads
/// them back (they cost logarithms and gamma variates) and draws on from
/// where the baseline stopped when the program's customer buys more.
struct Replay {
    waits: Vec<f64>,
    orders: Vec<OrderDraw>,
    wait_stream: Rng,
    order_stream: Rng,
}

/// The program pass's place in the baseline's draws.
#[derive(Default)]
struct Cursor {
    waits: usize,
    orders: usize,
}

impl Replay {
    fn wait(&mut self, cursor: &mut Cursor) -> f64 {
        cursor.waits += 1;
        match self.waits.get(cursor.waits - 1) {
            Some(&wait) => wait,
            None => self.wait_stream.exponential(),
        }
    }
}

/// What a thread reuses from customer to customer.
pub struct Work {
    member: Member,
    replay: Replay,
    effects: Vec<Effect>,
    /// Members' returns not yet refunded: (day, order number, share
    /// returned).
    returns: Vec<(f64, u32, f64)>,
    /// Friends that referrals brought, still to simulate: (day they
    /// arrive, segment).
    friends: Vec<(f64, usize)>,
    /// Until when the member spends less after losing a tier (a time;
    /// `demotion_spend`): set by any change that demotes, scheduled or not.
    demoted_until: Time,
}

impl Work {
    pub fn new(program: &Program) -> Work {
        Work {
            member: Member::new(program, "", Time(0)),
            effects: Vec::with_capacity(64),
            replay: Replay {
                waits: Vec::with_capacity(256),
                orders: Vec::with_capacity(256),
                wait_stream: Rng::new(0, 0, 0, Stream::Waits),
                order_stream: Rng::new(0, 0, 0, Stream::Orders),
            },
            returns: Vec::with_capacity(16),
            friends: Vec::with_capacity(MAX_FRIENDS as usize),
            demoted_until: Time(i64::MIN),
        }
    }
}

/// Whether the program gives anything a member can value (points, reward
/// money, rewards, discounts, perks, donations): at the top level, in
/// each tier's block, in each membership's.
struct Gives {
    program: bool,
    tiers: Vec<bool>,
    memberships: Vec<bool>,
}

impl Gives {
    fn of(program: &Program) -> Gives {
        let mut gives = Gives {
            program: !program.conversions.is_empty(),
            tiers: vec![false; program.tiers.len()],
            memberships: vec![false; program.memberships.len()],
        };
        let scopes = (program.rules.iter().map(|r| r.conditions.scope))
            .chain(program.discounts.iter().map(|d| d.conditions.scope))
            .chain(program.perks.iter().map(|p| p.conditions.scope))
            .chain(program.bonuses.iter().map(|b| b.conditions.scope));
        for scope in scopes {
            match scope {
                Scope::Program => gives.program = true,
                Scope::Tier(t) => gives.tiers[usize::from(t)] = true,
                Scope::Membership(m) => gives.memberships[usize::from(m)] = true,
            }
        }
        gives
    }

    /// Whether something of value is in the member's reach now.
    fn to(&self, member: &Member) -> bool {
        self.program
            || member.tier.is_some_and(|t| self.tiers[usize::from(t)])
            || member
                .memberships
                .iter()
                .zip(&self.memberships)
                .any(|(status, gives)| *gives && status.is_active())
    }
}

/// The program pass's state beside the member account.
struct Customer {
    alive: bool,
    enrolled: bool,
    orders: u32,
    /// The day the month after the member's last redemption ends: the
    /// `after_redemption` lift holds until then.
    redeemed_until: f64,
    /// The day the no-program twin drops out (infinite once passed).
    drops_at: f64,
    /// A member who stayed when the twin dropped out (`member_retention`).
    outlived_twin: bool,
}

/// The most orders a day a customer makes: the far tail of Gamma(r, alpha),
/// or lifts multiplied together, would otherwise ask for unbounded work
/// of one customer.
pub const MAX_ORDERS_PER_DAY: f64 = 20.0;

/// Days within which a returned order comes back, uniformly.
pub const RETURN_WITHIN_DAYS: f64 = 30.0;

/// The most friends one customer's referrals (and their friends') bring
/// in a run: a bound on one customer's work whatever the scenario says.
pub const MAX_FRIENDS: u32 = 64;

/// An order's id for the engine, written without allocating: the
/// simulator gives ids only to orders that will be returned.
fn order_id(n: u32, buffer: &mut [u8; 10]) -> &str {
    let mut at = buffer.len();
    let mut n = n;
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).unwrap_or("0")
}

impl Model<'_> {
    /// Draws who the customer is: their segment (`segment` when they
    /// arrive in a segment's batch), purchase rate, drop-out chance and
    /// spend. `value` scales their order values.
    fn traits(&self, rng: &mut Rng, segment: Option<usize>, value: f64) -> Traits {
        let u = rng.uniform();
        let drawn = self.segments.iter().position(|s| u < s.until).unwrap_or(0);
        let segment = segment.unwrap_or(drawn);
        let s = &self.segments[segment];
        let rate = (s.rate.sample(rng) / s.unit_days).min(MAX_ORDERS_PER_DAY);
        let dropout = s.dropout.sample(rng);
        let nu: f64 = s.spend_rate.sample(rng);
        Traits {
            segment,
            rate,
            dropout,
            spend: Gamma::new(s.spend_shape, 1.0 / nu.max(1e-9)).ok(),
            value,
            arrives: None,
        }
    }

    /// One order's draws. A first purchase is made at the shop, not at a
    /// partner: it is how a customer arrives.
    fn order(&self, traits: &Traits, rng: &mut Rng, first: bool) -> OrderDraw {
        let value = traits.spend.map_or(0.0, |g| g.sample(rng)) * traits.value;
        let partner = rng.uniform();
        let which_partner = rng.below(self.partners.max(1));
        let segment = &self.scenario.segments[traits.segment];
        let at_partner = (self.partners > 0 && !first && partner < segment.partner_orders.0)
            .then_some(which_partner as NameId);
        let category = rng.uniform();
        let channel = rng.uniform();
        let payment = rng.uniform();
        let brand = rng.uniform();
        // Every order draws the same numbers whether it is returned or
        // not, so that the draws that follow stay in step.
        let (returns, whole, after) = (rng.uniform(), rng.uniform(), rng.uniform());
        let returned = if returns >= segment.returns.0 || at_partner.is_some() {
            0.0
        } else if whole < segment.whole_returns.0 {
            1.0
        } else {
            (whole - segment.whole_returns.0) / (1.0 - segment.whole_returns.0)
        };
        OrderDraw {
            cents: ((value * 100.0).round() as i64).clamp(1, 10_000_000_000),
            at_partner,
            returned,
            return_after: after * RETURN_WITHIN_DAYS,
            category,
            channel,
            payment,
            brand,
        }
    }

    /// Counts an order's return, if it has one within the horizon, in
    /// the month it comes back: revenue is net of returns.
    fn count_return(
        &self,
        day: f64,
        order: &OrderDraw,
        cents: i64,
        revenue: Field,
        tally: &mut RunTally,
    ) {
        let back = day + order.return_after;
        if order.returned > 0.0 && back < self.month_days[self.months] {
            let refunded = ((cents as f64 * order.returned).round() as i64).clamp(1, cents);
            let m = self.month_of(back);
            tally.add(m, revenue, -refunded);
            if revenue == Field::Revenue {
                tally.add(m, Field::Returns, refunded);
            }
        }
    }

    /// Simulates customer `c` of run `run` into `tally`, then the friends
    /// their referrals brought.
    pub fn customer(&self, run: u32, c: u32, work: &mut Work, tally: &mut RunTally) {
        let seed = self.scenario.simulation.seed;
        let who = Who {
            run,
            customer: c,
            friend: 0,
        };
        let mut rng = Rng::new(seed, run, c, Stream::Traits);
        let batch = (c >= self.base).then(|| {
            let i = self.first_of_batch.partition_point(|&first| first <= c) - 1;
            (&self.batches[i], c - self.first_of_batch[i])
        });
        let mut traits = self.traits(&mut rng, batch.and_then(|(b, _)| b.segment), 1.0);
        if let Some((batch, k)) = batch {
            // Spread evenly over the batch's days, each at a random
            // moment of its own slot.
            let day =
                batch.from + (f64::from(k) + rng.uniform()) / f64::from(batch.count) * batch.days;
            traits.arrives = Some(day);
            tally.add(self.month_of(day), Field::Arrived, 1);
        }
        let drops_at = self.baseline(who, &traits, Some(tally), &mut work.replay);
        work.friends.clear();
        self.with_program(who, &traits, drops_at, work, tally);
        let referred_value = self.scenario.behavior.referred_value.factor();
        let mut j = 0;
        while j < work.friends.len() {
            let (day, segment) = work.friends[j];
            j += 1;
            let friend = Who {
                friend: j as u32,
                ..who
            };
            let mut rng = Rng::of_friend(seed, run, c, friend.friend, Stream::Traits);
            let mut traits = self.traits(&mut rng, Some(segment), referred_value);
            traits.arrives = Some(day);
            tally.add(self.month_of(day), Field::Referred, 1);
            // A friend exists only with the program; their twin's clock
            // is still drawn, so that buying more does not shorten
            // their life either.
            let drops_at = self.baseline(friend, &traits, None, &mut work.replay);
            self.with_program(friend, &traits, drops_at, work, tally);
        }
    }

    /// The customer without the program, counted into `tally` if given;
    /// returns the day they drop out (infinite if they outlast the
    /// horizon), their twin's clock.
    fn baseline(
        &self,
        who: Who,
        traits: &Traits,
        mut tally: Option<&mut RunTally>,
        replay: &mut Replay,
    ) -> f64 {
        let mut waits = who.rng(self, Stream::Waits);
        let mut orders = who.rng(self, Stream::Orders);
        replay.waits.clear();
        replay.orders.clear();
        let mut dropout = who.rng(self, Stream::Dropout);
        let mut alive = true;
        let mut drops_at = f64::INFINITY;
        let (mut day, first_month) = traits.arrives.map_or((0.0, 0), |d| (d, self.month_of(d)));
        let mut first = traits.arrives.is_some();
        let mut wait = waits.exponential();
        replay.waits.push(wait);
        for m in first_month..self.months {
            let end = self.month_days[m + 1];
            while alive {
                if !first {
                    let next = day + wait / traits.rate;
                    if next >= end {
                        wait -= (end - day) * traits.rate;
                        day = end;
                        break;
                    }
                    day = next;
                    wait = waits.exponential();
                    replay.waits.push(wait);
                }
                let order = self.order(traits, &mut orders, first);
                replay.orders.push(order);
                if let Some(tally) = tally.as_deref_mut()
                    && order.at_partner.is_none()
                {
                    tally.add(m, Field::BaselineOrders, 1);
                    tally.add(m, Field::BaselineRevenue, order.cents);
                    self.count_return(day, &order, order.cents, Field::BaselineRevenue, tally);
                }
                // BG/NBD: a customer may drop out after a repeat
                // purchase, never after the first.
                if first {
                    first = false;
                    continue;
                }
                alive = !dropout.chance(traits.dropout);
                if !alive {
                    drops_at = day;
                }
            }
            if alive && let Some(tally) = tally.as_deref_mut() {
                tally.add(m, Field::BaselineAlive, 1);
            }
        }
        replay.wait_stream = waits;
        replay.order_stream = orders;
        drops_at
    }

    fn with_program(
        &self,
        who: Who,
        traits: &Traits,
        drops_at: f64,
        work: &mut Work,
        tally: &mut RunTally,
    ) {
        let segment = &self.scenario.segments[traits.segment];
        let retention = self.scenario.behavior.member_retention.0;
        let referred = who.friend > 0;
        let mut cursor = Cursor::default();
        let mut dropout = who.rng(self, Stream::Dropout);
        let mut choices = who.rng(self, Stream::Choices);
        let mut customer = Customer {
            alive: true,
            enrolled: false,
            orders: 0,
            redeemed_until: f64::NEG_INFINITY,
            // Just after the twin's last purchase, so that a purchase at
            // the same moment (the same random numbers, a rate path cut
            // at other places) still happens before it.
            drops_at: drops_at + 1e-6,
            outlived_twin: false,
        };
        work.returns.clear();
        let (mut day, first_month) = traits.arrives.map_or((0.0, 0), |d| (d, self.month_of(d)));
        let mut first = traits.arrives.is_some();
        let mut wait = work.replay.wait(&mut cursor);
        for m in first_month..self.months {
            let month_start = self.month_times[m];
            if customer.enrolled {
                self.month_start(
                    m,
                    month_start,
                    traits,
                    &mut customer,
                    &mut choices,
                    work,
                    tally,
                );
            }
            let end = self.month_days[m + 1];
            while customer.alive {
                if !first {
                    let rate = (traits.rate * self.lift(&customer, work, day, self.time_at(day)))
                        .min(MAX_ORDERS_PER_DAY);
                    // The rate holds to the month's end, or to the end of
                    // the month after a redemption or the twin's drop-out
                    // if that comes first.
                    let until = [customer.redeemed_until, customer.drops_at]
                        .into_iter()
                        .filter(|&t| t > day)
                        .fold(end, f64::min);
                    let next = day + wait / rate;
                    if next >= until {
                        wait -= (until - day) * rate;
                        day = until;
                        if until == customer.drops_at {
                            // A member stays with `member_retention`'s
                            // chance of dropping out; anyone else goes.
                            customer.drops_at = f64::INFINITY;
                            if customer.enrolled && !dropout.chance(retention) {
                                customer.outlived_twin = true;
                            } else {
                                customer.alive = false;
                                if customer.enrolled {
                                    let at = self.time_at(day).max(month_start);
                                    self.drop_out(at, m, work, tally);
                                }
                            }
                        }
                        if until < end {
                            continue;
                        }
                        break;
                    }
                    day = next;
                    wait = work.replay.wait(&mut cursor);
                }
                cursor.orders += 1;
                let order = match work.replay.orders.get(cursor.orders - 1) {
                    Some(&order) => order,
                    None => self.order(traits, &mut work.replay.order_stream, first),
                };
                let at = self.time_at(day).max(month_start);
                self.refunds_due(day, work, tally);
                // A referred friend joins with their first purchase: the
                // referral brought them to it.
                if customer.orders == 0
                    && !customer.enrolled
                    && (referred || choices.chance(segment.enroll.0))
                {
                    self.enroll(at, m, segment, &mut customer, &mut choices, work, tally);
                    if referred {
                        self.step(at, m, work, tally, |a| {
                            a.action(at, Action::BeingReferred.id())
                        });
                    }
                }
                // Time passes first, as before any event: a demotion due
                // by now (a new year's review) shapes this order.
                if customer.enrolled && work.member.due <= at {
                    self.step(at, m, work, tally, |_| {});
                }
                let mut cents = order.cents;
                if customer.enrolled && at < work.demoted_until {
                    cents = ((cents as f64) * self.scenario.behavior.demotion_spend.factor())
                        .round() as i64;
                }
                if order.at_partner.is_none() {
                    tally.add(m, Field::Orders, 1);
                    tally.add(m, Field::Revenue, cents);
                    self.count_return(day, &order, cents, Field::Revenue, tally);
                }
                if customer.enrolled {
                    self.purchase(
                        at,
                        m,
                        cents,
                        &order,
                        traits,
                        segment,
                        &mut customer,
                        &mut choices,
                        work,
                        tally,
                    );
                }
                customer.orders += 1;
                if first {
                    first = false;
                    continue;
                }
                // Drop-out runs on the twin's clock; only a member who
                // outlived their twin draws it after each purchase.
                if customer.outlived_twin && dropout.chance(traits.dropout * retention) {
                    customer.alive = false;
                    self.drop_out(at, m, work, tally);
                }
            }
            self.refunds_due(end, work, tally);
            let month_end = Time(self.month_times[m + 1].0 - 1);
            // Expiry, fees, monthly rewards: only when something is due.
            if customer.enrolled && work.member.due <= month_end {
                self.step(month_end, m, work, tally, |_| {});
            }
            self.stocks(m, &customer, work, tally);
        }
    }

    /// Sends the engine, in time order, the refunds of members' returns
    /// that come back before `day`. A refund takes back the returned
    /// share of what the member paid, so the engine claws back what the
    /// order earned; the order's record then goes, as nothing else
    /// refers to it.
    #[inline]
    fn refunds_due(&self, day: f64, work: &mut Work, tally: &mut RunTally) {
        if work.returns.is_empty() {
            return;
        }
        loop {
            let due = (0..work.returns.len())
                .filter(|&i| work.returns[i].0 < day)
                .min_by(|&a, &b| work.returns[a].0.total_cmp(&work.returns[b].0));
            let Some(i) = due else { break };
            let (back, n, share) = work.returns.swap_remove(i);
            let mut buffer = [0u8; 10];
            let id = order_id(n, &mut buffer);
            let Some(o) = work.member.order(id) else {
                continue;
            };
            let record = &work.member.orders[o];
            let amount = ((record.paid as f64 * share).round() as i64)
                .clamp(0, record.paid - record.refunded);
            let at = self.time_at(back);
            if amount > 0 {
                let _ = self.step(at, self.month_of(back), work, tally, |a| {
                    a.refund(at, id, amount)
                });
            }
            if let Some(o) = work.member.order(id) {
                work.member.orders.swap_remove(o);
            }
        }
    }

    /// Runs one change to the member as the engine does: scheduled work
    /// up to `at` first, then the change, then what it brings due at
    /// once; its effects are counted in month `m`.
    fn step<R>(
        &self,
        at: Time,
        m: usize,
        work: &mut Work,
        tally: &mut RunTally,
        change: impl FnOnce(&mut Apply) -> R,
    ) -> R {
        let mut apply = Apply {
            program: self.program,
            member: &mut work.member,
            index: 0,
            out: &mut work.effects,
            scheduled: false,
        };
        apply.catch_up(at);
        let result = change(&mut apply);
        apply.settle(at);
        for effect in work.effects.drain(..) {
            count_reward(self.program, &effect, m, tally);
            // A demotion, whatever brought it, starts a year of lower
            // order values from its own moment.
            if let (EffectKind::TierChanged, Cause::Tier { from, to }) = (effect.kind, effect.cause)
                && to < from
            {
                work.demoted_until = effect.at.add_months(12);
            }
            count(effect, m, tally);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn enroll(
        &self,
        at: Time,
        m: usize,
        segment: &Segment,
        customer: &mut Customer,
        choices: &mut Rng,
        work: &mut Work,
        tally: &mut RunTally,
    ) {
        customer.enrolled = true;
        work.member.reset(self.program, at);
        work.demoted_until = Time(i64::MIN);
        let birthday = choices
            .chance(segment.birthday.0)
            .then(|| (1 + choices.below(12) as u32, 1 + choices.below(28) as u32));
        let card = choices.chance(segment.card.0);
        let attributes: &[(NameId, bool)] = if card { &self.attributes } else { &[] };
        tally.add(m, Field::Enrollments, 1);
        self.step(at, m, work, tally, |a| a.enroll(at, birthday, attributes));
        for plan in 0..self.program.memberships.len() as MembershipId {
            if choices.chance(segment.subscribe.0) {
                let _ = self.step(at, m, work, tally, |a| a.subscribe(at, plan));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn purchase(
        &self,
        at: Time,
        m: usize,
        cents: i64,
        order: &OrderDraw,
        traits: &Traits,
        segment: &Segment,
        customer: &mut Customer,
        choices: &mut Rng,
        work: &mut Work,
        tally: &mut RunTally,
    ) {
        let balance = work.member.points.balance;
        if let Some(&(_, reward)) = self.ladder.iter().rev().find(|(cost, _)| *cost <= balance)
            && choices.chance(segment.redeem.0)
            && self
                .step(at, m, work, tally, |a| a.redeem(at, reward))
                .is_ok()
        {
            customer.redeemed_until = self.day_of(at.add_months(1));
        }
        let s = &self.segments[traits.segment];
        let money = work.member.money.balance;
        // Only an order that will be returned needs an id to refund.
        let mut buffer = [0u8; 10];
        let returned = order.returned > 0.0 && order.at_partner.is_none();
        let id = order_id(customer.orders, &mut buffer);
        let purchase = Purchase {
            amount: cents,
            order: returned.then_some(std::borrow::Cow::Borrowed(id)),
            category: pick(&s.categories, order.category),
            channel: pick(&s.channels, order.channel),
            payment_method: pick(&s.payment_methods, order.payment),
            brand: (self.brands > 0).then_some((order.brand * self.brands as f64) as NameId),
            partner: order.at_partner,
            shipping: 0,
            tax: 0,
            gift_cards: 0,
            rewards: if money > 0 && choices.chance(segment.use_reward_money.0) {
                money.min(cents)
            } else {
                0
            },
            chosen_day: self.chosen_days && choices.chance(segment.chosen_day.0),
        };
        // A reward held and worth an amount (a free drink) is used on an
        // order it applies to, one an order; a `% off` applies itself.
        let program = self.program;
        let use_rewards = segment.use_rewards.0;
        let use_perks = segment.use_perks.0;
        let _ = self.step(at, m, work, tally, |a| {
            // Perks that cost per use (same-day delivery) are used with
            // the order, each with the segment's chance.
            for (k, perk) in program.perks.iter().enumerate() {
                if let Some((_, PerkCost::Use)) = perk.cost
                    && a.matches(&perk.conditions, at, None)
                    && choices.chance(use_perks)
                {
                    let _ = a.use_perk(at, k as PerkId);
                }
            }
            let usable = a.member.rewards.iter().position(|held| {
                let reward = &program.rewards[usize::from(held.reward)];
                matches!(reward.value, RewardValue::Money(_))
                    && a.matches(&reward.conditions, at, Some(&purchase))
            });
            if let Some(held) = usable
                && choices.chance(use_rewards)
            {
                let reward = a.member.rewards[held].reward;
                let _ = a.redeem(at, reward);
            }
            a.purchase(at, &purchase)
        });
        let back = self.day_of(at) + order.return_after;
        if returned && back < self.month_days[self.months] {
            work.returns.push((back, customer.orders, order.returned));
        }
    }

    /// A member who drops out stops paying for plans that renew.
    fn drop_out(&self, at: Time, m: usize, work: &mut Work, tally: &mut RunTally) {
        for plan in 0..self.program.memberships.len() as MembershipId {
            let status = work.member.memberships[usize::from(plan)];
            if status.is_active() && !status.cancelled && status.until != Time::NEVER {
                let _ = self.step(at, m, work, tally, |a| a.cancel(at, plan));
            }
        }
    }

    /// A member's choices at a month's start: renewing paid plans that
    /// end this month, donating, the rewarded actions, referring.
    #[allow(clippy::too_many_arguments)]
    fn month_start(
        &self,
        m: usize,
        at: Time,
        traits: &Traits,
        customer: &mut Customer,
        choices: &mut Rng,
        work: &mut Work,
        tally: &mut RunTally,
    ) {
        let segment = &self.scenario.segments[traits.segment];
        let behavior = &self.scenario.behavior;
        let next_month = self.month_times[m + 1];
        for (p, plan) in self.program.memberships.iter().enumerate() {
            let status = work.member.memberships[p];
            let renews_now = status.is_active()
                && !status.cancelled
                && status.until >= at
                && status.until < next_month;
            if !renews_now {
                continue;
            }
            let yearly = |first: bool| {
                if first {
                    behavior.renewal_first_year.0
                } else {
                    behavior.renewal_later.0
                }
            };
            let first_year = status.until.0 - status.since.0 <= 366 * DAY;
            let renew = match (status.state, plan.fee) {
                (MembershipState::Trial, _) => behavior.trial_conversion.0,
                (_, Some((_, Fee::Monthly))) => yearly(first_year).powf(1.0 / 12.0),
                _ => yearly(first_year),
            };
            if !choices.chance(renew) {
                let _ = self.step(at, m, work, tally, |a| a.cancel(at, p as MembershipId));
            }
        }
        if !customer.alive {
            return;
        }
        let charities = self.program.charities.len() as u64;
        let balance = work.member.points.balance;
        if charities > 0 && balance > 0 && choices.chance(segment.donate.0 / 12.0) {
            let charity = choices.below(charities) as u16;
            let _ = self.step(at, m, work, tally, |a| a.donate(at, charity, balance));
        }
        for &action in &self.actions {
            if choices.chance(segment.actions.0) {
                self.step(at, m, work, tally, |a| a.action(at, action));
            }
        }
        if choices.chance(segment.refer.0 / 12.0) {
            self.step(at, m, work, tally, |a| a.action(at, Action::Referral.id()));
            // The friend comes in the month, of the referrer's segment,
            // when the program's reward for it is what brings them.
            if self.refers && (work.friends.len() as u32) < MAX_FRIENDS {
                let (from, to) = (self.month_days[m], self.month_days[m + 1]);
                work.friends
                    .push((from + choices.uniform() * (to - from), traits.segment));
            }
        }
    }

    /// The purchase-rate multiplier the member's state brings.
    fn lift(&self, customer: &Customer, work: &Work, day: f64, at: Time) -> f64 {
        if !customer.enrolled || !self.gives.to(&work.member) {
            return 1.0;
        }
        let b = &self.scenario.behavior;
        let member = &work.member;
        // A paid member's rate is against non-members, as the README
        // gives it: it replaces the member lift rather than adding to it.
        let paid = member
            .memberships
            .iter()
            .zip(&self.program.memberships)
            .any(|(status, plan)| status.is_active() && plan.fee.is_some());
        let mut lift = if paid {
            b.paid_member_lift.factor()
        } else {
            b.member_lift.factor()
        };
        lift *= 1.0 + (b.goal_gradient.factor() - 1.0) * self.reward_progress(member);
        lift *= 1.0 + (b.tier_pressure.factor() - 1.0) * self.tier_progress(member, at);
        if day < customer.redeemed_until {
            lift *= b.after_redemption.factor();
        }
        if member
            .points
            .lots
            .first()
            .is_some_and(|lot| lot.expires_at.0 - at.0 <= 30 * DAY)
        {
            lift *= b.expiry_lift.factor();
        }
        lift
    }

    /// How close the member is to their next reward, 0 to 1.
    fn reward_progress(&self, member: &Member) -> f64 {
        let balance = member.points.balance;
        let mut progress: f64 = 0.0;
        if let Some(&(cost, _)) = self.ladder.iter().find(|(cost, _)| *cost > balance) {
            progress = progress.max(balance as f64 / cost as f64);
        }
        for &points in &self.conversions {
            if points > 0 {
                progress = progress.max((balance % points) as f64 / points as f64);
            }
        }
        for &(rule, nth) in &self.punch_cards {
            if nth > 0 {
                let stamps = member.rules[rule].counter.rem_euclid(i64::from(nth));
                progress = progress.max(stamps as f64 / f64::from(nth));
            }
        }
        progress
    }

    /// How close the member is to the next tier up, 0 to 1.
    fn tier_progress(&self, member: &Member, at: Time) -> f64 {
        let current = member.tier.map_or(-1, i32::from);
        self.thresholds
            .iter()
            .find(|(tier, ..)| i32::from(*tier) > current)
            .map_or(0.0, |&(_, measure, amount, window)| {
                let have = member.counters.measure(measure, window, at);
                (have as f64 / amount.max(1) as f64).clamp(0.0, 1.0)
            })
    }

    fn stocks(&self, m: usize, customer: &Customer, work: &Work, tally: &mut RunTally) {
        if customer.alive {
            tally.add(m, Field::Alive, 1);
        }
        if customer.orders >= 1 {
            tally.add(m, Field::Ordered, 1);
        }
        if customer.orders >= 2 {
            tally.add(m, Field::Repeat, 1);
        }
        if !customer.enrolled {
            return;
        }
        let member = &work.member;
        tally.add(m, Field::Members, 1);
        if member.memberships.iter().any(|s| s.is_active()) {
            tally.add(m, Field::PaidMembers, 1);
        }
        if let Some(tier) = member.tier {
            tally.add_tier(m, usize::from(tier), 1);
        }
        tally.add(m, Field::PointsOutstanding, member.points.balance);
        if !customer.alive {
            tally.add(m, Field::PointsAbandoned, member.points.balance);
        }
        tally.add(m, Field::RewardMoneyOutstanding, member.money.balance);
        let held: i64 = member
            .rewards
            .iter()
            .map(
                |held| match self.program.rewards[usize::from(held.reward)].value {
                    RewardValue::Money(cents) => cents,
                    RewardValue::PercentOff(_) => 0,
                },
            )
            .sum();
        tally.add(m, Field::RewardsHeldValue, held);
    }
}

/// Counts a reward issued, used or expired, and its value where it has
/// one.
fn count_reward(program: &Program, effect: &Effect, m: usize, tally: &mut RunTally) {
    let value = |reward: RewardId| match program.rewards[usize::from(reward)].value {
        RewardValue::Money(cents) => cents,
        RewardValue::PercentOff(_) => 0,
    };
    match effect.kind {
        EffectKind::RewardIssued => {
            let reward = match effect.cause {
                Cause::Rule { rule, .. } => match program.rules[usize::from(rule)].benefit {
                    Benefit::Reward(reward) => Some(reward),
                    _ => None,
                },
                Cause::Conversion(c) => match program.conversions[usize::from(c)].into {
                    ConversionInto::Reward(reward) => Some(reward),
                    ConversionInto::Money(_) => None,
                },
                Cause::Reward(reward) => Some(reward),
                _ => None,
            };
            tally.add(m, Field::RewardsIssued, 1);
            tally.add(m, Field::RewardsIssuedValue, reward.map_or(0, value));
        }
        EffectKind::RewardUsed => tally.add(m, Field::RewardsUsedCount, 1),
        EffectKind::RewardExpired => {
            tally.add(m, Field::RewardsExpired, 1);
            if let Cause::Reward(reward) = effect.cause {
                tally.add(m, Field::RewardsExpiredValue, value(reward));
            }
        }
        _ => {}
    }
}

/// Adds an effect to the month's flows.
fn count(effect: Effect, m: usize, tally: &mut RunTally) {
    let (field, amount) = match effect.kind {
        EffectKind::PointsEarned => (Field::PointsIssued, effect.points),
        EffectKind::PointsRedeemed => (Field::PointsRedeemed, -effect.points),
        EffectKind::PointsExpired => (Field::PointsExpired, -effect.points),
        EffectKind::PointsDonated => (Field::PointsDonated, -effect.points),
        EffectKind::PointsClawedBack => (Field::PointsClawedBack, -effect.points),
        EffectKind::RewardMoneyIssued => (Field::RewardMoneyIssued, effect.money),
        EffectKind::RewardMoneySpent => (Field::RewardMoneySpent, -effect.money),
        EffectKind::RewardUsed => (Field::RewardsUsed, effect.value),
        EffectKind::DiscountGiven => (Field::Discounts, effect.value),
        EffectKind::PerkUsed => (Field::PerksCost, effect.value),
        EffectKind::CharityDonation => (Field::CharityDonations, effect.value),
        EffectKind::PartnerFunded => (Field::PartnerFunded, effect.value),
        EffectKind::FeeCharged => (Field::Fees, effect.value),
        EffectKind::ClawbackShortfall => (Field::ClawbackShortfall, effect.value),
        _ => return,
    };
    tally.add(m, field, amount);
}

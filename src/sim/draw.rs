//! A customer's random draws: who they are, when they buy, what each
//! order is. The baseline draws them; the program pass reads the same
//! ones back, so that the two differ only by what the program does.

use rand_distr::{Distribution, Gamma};

use crate::engine::{Item, MAX_ITEMS};
use crate::program::{Cents, NameId};
use crate::sim::model::{Model, SegmentModel, pick};
use crate::sim::rng::{Rng, Stream};

/// Who is simulated: a customer of a run, or the `friend`-th friend
/// their referrals brought (0: the customer themself).
#[derive(Clone, Copy)]
pub(super) struct Who {
    pub(super) run: u32,
    pub(super) customer: u32,
    pub(super) friend: u32,
}

impl Who {
    pub(super) fn rng(self, model: &Model, stream: Stream) -> Rng {
        let seed = model.scenario.simulation.seed;
        Rng::of_friend(seed, self.run, self.customer, self.friend, stream)
    }
}

/// A customer's fixed traits, drawn the same way for both passes.
pub(super) struct Traits {
    pub(super) segment: usize,
    /// Purchases per day while alive.
    pub(super) rate: f64,
    pub(super) dropout: f64,
    /// Order values: Gamma(p, ν) with the customer's ν, times `value`
    /// (`referred_value` for a referred friend, else 1).
    pub(super) spend: Option<Gamma<f64>>,
    pub(super) value: f64,
    /// The day a new customer arrives and makes their first purchase;
    /// `None` for a customer there at the start.
    pub(super) arrives: Option<f64>,
}

/// One order's draws: the same for both passes, whatever the program.
#[derive(Clone, Copy)]
pub(super) struct OrderDraw {
    pub(super) cents: i64,
    pub(super) at_partner: Option<NameId>,
    /// The share of the order returned (0: kept) and the day it is.
    pub(super) returned: f64,
    pub(super) return_after: f64,
    pub(super) category: f64,
    pub(super) channel: f64,
    pub(super) payment: f64,
    pub(super) brand: f64,
}

/// The draws both passes read in the same order, the waiting times and
/// the orders: the baseline draws and keeps them, the program pass reads
/// them back (they cost logarithms and gamma variates) and draws on from
/// where the baseline stopped when the program's customer buys more.
pub(super) struct Replay {
    pub(super) waits: Vec<f64>,
    pub(super) orders: Vec<OrderDraw>,
    pub(super) wait_stream: Rng,
    pub(super) order_stream: Rng,
}

/// The program pass's place in the baseline's draws.
#[derive(Default)]
pub(super) struct Cursor {
    pub(super) waits: usize,
    pub(super) orders: usize,
}

impl Replay {
    pub(super) fn wait(&mut self, cursor: &mut Cursor) -> f64 {
        cursor.waits += 1;
        match self.waits.get(cursor.waits - 1) {
            Some(&wait) => wait,
            None => self.wait_stream.exponential(),
        }
    }
}

/// The most orders a day a customer makes: the far tail of Gamma(r, alpha),
/// or lifts multiplied together, would otherwise ask for unbounded work
/// of one customer.
pub const MAX_ORDERS_PER_DAY: f64 = 20.0;

/// Days within which a returned order comes back, uniformly.
pub const RETURN_WITHIN_DAYS: f64 = 30.0;

impl Model<'_> {
    /// Draws who the customer is: their segment (`segment` when they
    /// arrive in a segment's batch), purchase rate, drop-out chance and
    /// spend. `value` scales their order values.
    pub(super) fn traits(&self, rng: &mut Rng, segment: Option<usize>, value: f64) -> Traits {
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
    pub(super) fn order(&self, traits: &Traits, rng: &mut Rng, first: bool) -> OrderDraw {
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
}

impl SegmentModel {
    /// The items of an order of `cents` when the segment's orders are
    /// baskets (into `items`, emptied first; left empty otherwise): 1 +
    /// Poisson(items − 1) of them, sharing the value as a uniform point
    /// of the simplex (each share of what is left is Beta(1, k) for the k
    /// items after it), each of a category and a product from the
    /// segment's mixes.
    pub(super) fn basket(
        &self,
        cents: Cents,
        brand: Option<NameId>,
        rng: &mut Rng,
        items: &mut Vec<Item>,
    ) {
        items.clear();
        if self.extra_items.is_none() && self.products.is_empty() {
            return;
        }
        let extra = self.extra_items.map_or(0.0, |p| p.sample(rng));
        let n = (1 + extra as usize)
            .min(MAX_ITEMS)
            .min(cents.max(1) as usize);
        let mut left = cents;
        for i in 0..n {
            let after = n - 1 - i;
            let amount = if after == 0 {
                left
            } else {
                let share = 1.0 - rng.uniform().powf(1.0 / after as f64);
                ((left as f64 * share).round() as Cents).clamp(0, left)
            };
            left -= amount;
            items.push(Item {
                sku: pick(&self.products, rng.uniform()).unwrap_or(0),
                category: pick(&self.categories, rng.uniform()),
                brand,
                quantity: 1,
                amount,
            });
        }
    }

    /// The nights of an order that is a stay: 1 + Poisson(nights − 1).
    pub(super) fn nights(&self, rng: &mut Rng) -> u32 {
        1 + self.extra_nights.map_or(0.0, |p| p.sample(rng)).min(365.0) as u32
    }
}

/// BG/NBD's purchase clock in continuous time: the waiting time to the
/// next purchase is a standard exponential divided by the purchase rate,
/// and a change of rate (a lift) rescales what is left of it, so that the
/// program and the baseline share their waiting times. A new customer's
/// first purchase comes on arrival, without a wait.
pub(super) struct Clock {
    pub(super) day: f64,
    wait: f64,
    first: bool,
}

/// What the clock moved to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// A purchase, the customer's first (on arrival) or not.
    Purchase { first: bool },
    /// The time asked for, with no purchase before it.
    Until,
}

impl Clock {
    /// The clock of a customer there from day 0, or arriving on a day;
    /// `wait` is their first waiting time.
    pub(super) fn new(arrives: Option<f64>, wait: f64) -> Clock {
        Clock {
            day: arrives.unwrap_or(0.0),
            wait,
            first: arrives.is_some(),
        }
    }

    /// Moves to the next purchase at `rate` a day if it comes before
    /// `until`, drawing the wait after it; else to `until`.
    pub(super) fn next(&mut self, rate: f64, until: f64, draw: impl FnOnce() -> f64) -> Next {
        if self.first {
            self.first = false;
            return Next::Purchase { first: true };
        }
        let next = self.day + self.wait / rate;
        if next >= until {
            self.wait -= (until - self.day) * rate;
            self.day = until;
            return Next::Until;
        }
        self.day = next;
        self.wait = draw();
        Next::Purchase { first: false }
    }
}

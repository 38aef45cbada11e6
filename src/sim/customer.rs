//! One synthetic customer over the horizon, twice: without the program
//! (the baseline) and with it (`program`), on the same random numbers
//! (`draw`), so that the difference between the two is the program's
//! doing. New customers arrive and make their first purchase; a member's
//! referral brings a friend, who exists only with the program.

use crate::engine::{Budgets, Effect, Item, Member};
use crate::program::Program;
use crate::sim::draw::{Clock, Next, OrderDraw, Replay, Traits, Who};
use crate::sim::model::Model;
use crate::sim::program::MAX_FRIENDS;
use crate::sim::rng::{Rng, Stream};
use crate::sim::tally::{Field, RunTally};
use crate::time::Time;

/// What a thread reuses from customer to customer.
pub struct Work {
    pub(super) member: Member,
    pub(super) replay: Replay,
    pub(super) effects: Vec<Effect>,
    /// Members' returns not yet refunded: (day, order number, share
    /// returned).
    pub(super) returns: Vec<(f64, u32, f64)>,
    /// Friends that referrals brought, still to simulate, by their
    /// number (from 1) among the customer's friends.
    pub(super) friends: Vec<Friend>,
    /// How many of `friends` their referral (the two members' event, in
    /// the referrer's pass) has brought so far: they come in the order
    /// they are numbered, the ones after this still to come.
    pub(super) referred: usize,
    /// Each friend's member account and choices, made at the referral
    /// (in the referrer's pass) and taken over by the friend's own pass;
    /// reused from customer to customer.
    pub(super) friend_accounts: Vec<(Member, Rng)>,
    /// Until when the member spends less after losing a tier (a time;
    /// `demotion_spend`): set by any change that demotes, scheduled or not.
    pub(super) demoted_until: Time,
    /// The program's budgets as this pass sees them (`engine::Budgets`).
    pub(super) budgets: Budgets,
    /// An order's items, when orders are baskets; reused.
    pub(super) items: Vec<Item>,
}

impl Work {
    pub fn new(program: &Program, budgets: Budgets) -> Work {
        Work {
            budgets,
            items: Vec::new(),
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
            referred: 0,
            friend_accounts: Vec::new(),
            demoted_until: Time(i64::MIN),
        }
    }
}

/// A friend a referral brings: of the referrer's segment, they arrive on
/// `day` because of the referral, and join with their first purchase.
pub(super) struct Friend {
    pub(super) day: f64,
    pub(super) segment: usize,
}

impl Model<'_> {
    /// Simulates customer `c` of run `run` into `tally`, then the friends
    /// their referrals brought.
    pub fn customer(&self, run: u32, c: u32, work: &mut Work, tally: &mut RunTally) {
        let who = Who {
            run,
            customer: c,
            friend: 0,
        };
        let mut rng = who.rng(self, Stream::Traits);
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
        work.referred = 0;
        self.with_program(who, &traits, drops_at, work, tally);
        let referred_value = self.scenario.behavior.referred_value.factor();
        let mut j = 0;
        while j < work.friends.len() {
            let Friend { day, segment } = work.friends[j];
            j += 1;
            let friend = Who {
                friend: j as u32,
                ..who
            };
            let mut rng = friend.rng(self, Stream::Traits);
            let mut traits = self.traits(&mut rng, Some(segment), referred_value);
            traits.arrives = Some(day);
            tally.add(self.month_of(day), Field::Referred, 1);
            // A friend exists only with the program; their twin's clock
            // is still drawn, so that buying more does not shorten
            // their life either.
            let drops_at = self.baseline(friend, &traits, None, &mut work.replay);
            self.with_program(friend, &traits, drops_at, work, tally);
        }
        if let Budgets::Noted(uses) = &mut work.budgets {
            for used in uses.drain(..) {
                tally.note_budget(used);
            }
        }
    }

    /// The customer without the program, counted into `tally` if given;
    /// returns the day they drop out (infinite if they outlast the
    /// horizon), their twin's clock. The draws are kept in `replay` for
    /// the program pass.
    fn baseline(
        &self,
        who: Who,
        traits: &Traits,
        mut tally: Option<&mut RunTally>,
        replay: &mut Replay,
    ) -> f64 {
        let mut waits = who.rng(self, Stream::Waits);
        let mut orders = who.rng(self, Stream::Orders);
        let mut dropout = who.rng(self, Stream::Dropout);
        replay.waits.clear();
        replay.orders.clear();
        let mut alive = true;
        let mut drops_at = f64::INFINITY;
        let wait = waits.exponential();
        replay.waits.push(wait);
        let mut clock = Clock::new(traits.arrives, wait);
        let first_month = traits.arrives.map_or(0, |day| self.month_of(day));
        for m in first_month..self.months {
            let end = self.month_days[m + 1];
            while alive {
                let draw = || {
                    let wait = waits.exponential();
                    replay.waits.push(wait);
                    wait
                };
                let Next::Purchase { first } = clock.next(traits.rate, end, draw) else {
                    break;
                };
                let order = self.order(traits, &mut orders, first);
                replay.orders.push(order);
                if let Some(tally) = tally.as_deref_mut()
                    && order.at_partner.is_none()
                {
                    tally.add(m, Field::BaselineOrders, 1);
                    tally.add(m, Field::BaselineRevenue, order.cents);
                    self.count_return(
                        clock.day,
                        &order,
                        order.cents,
                        Field::BaselineRevenue,
                        tally,
                    );
                }
                // BG/NBD: a customer may drop out after a repeat
                // purchase, never after the first.
                if !first && dropout.chance(traits.dropout) {
                    alive = false;
                    drops_at = clock.day;
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

    /// Counts an order's return, if it has one within the horizon, in
    /// the month it comes back: revenue is net of returns.
    pub(super) fn count_return(
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
}

//! The customer with the program: their member account run by the
//! engine's own step, on the same events that `loyalty run` applies, so
//! that a simulated member earns, redeems, expires and pays exactly as
//! the program says; and the member's choices (joining, redeeming, renewing,
//! returning, referring) drawn from the segment's propensities.

use crate::program::{Fee, MembershipId, NameId, PerkCost, PerkId, RewardValue};
use std::borrow::Cow;

use crate::engine::{
    self, Cause, EffectKind, Event, EventKind, Member, MembershipState, Purchase, Reject,
};
use crate::sim::customer::{Friend, Work};
use crate::sim::draw::{Clock, Cursor, MAX_ORDERS_PER_DAY, Next, OrderDraw, Traits, Who};
use crate::sim::model::{Model, pick};
use crate::sim::rng::{Rng, Stream};
use crate::sim::scenario::Segment;
use crate::sim::tally::{Field, RunTally};
use crate::time::Time;

/// The most friends one customer's referrals (and their friends') bring
/// in a run: a bound on one customer's work whatever the scenario says.
pub const MAX_FRIENDS: u32 = 64;

/// Whose member account an event is for: the customer's own, or that of
/// the friend their `k`-th referral (counting their friends') brought.
#[derive(Clone, Copy)]
enum Account {
    Own,
    Friend(usize),
}

/// The program pass's state beside the member account.
pub(super) struct Customer {
    pub(super) alive: bool,
    pub(super) enrolled: bool,
    pub(super) orders: u32,
    /// The day the month after the member's last redemption ends: the
    /// `after_redemption` lift holds until then.
    pub(super) redeemed_until: f64,
    /// The day the no-program twin drops out (infinite once passed).
    pub(super) drops_at: f64,
    /// A member who stayed when the twin dropped out (`member_retention`).
    pub(super) outlived_twin: bool,
}

/// One customer's pass with the program: what it reads, and what it
/// changes and counts.
struct Pass<'a, 'p> {
    model: &'a Model<'p>,
    who: Who,
    traits: &'a Traits,
    segment: &'a Segment,
    customer: Customer,
    /// The member's choices: joining, redeeming, renewing, acting.
    choices: Rng,
    /// The items of the member's orders.
    baskets: Rng,
    work: &'a mut Work,
    tally: &'a mut RunTally,
}

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
    /// Simulates the customer with the program into `tally`, on the
    /// draws the baseline left in `work` and its twin's drop-out day.
    pub(super) fn with_program(
        &self,
        who: Who,
        traits: &Traits,
        drops_at: f64,
        work: &mut Work,
        tally: &mut RunTally,
    ) {
        let retention = self.scenario.behavior.member_retention.0;
        let referred = who.friend > 0;
        let mut cursor = Cursor::default();
        let mut dropout = who.rng(self, Stream::Dropout);
        work.returns.clear();
        let mut choices = who.rng(self, Stream::Choices);
        if referred {
            // The account the referral made, and the choices it drew.
            let (member, friend_choices) = &mut work.friend_accounts[who.friend as usize - 1];
            std::mem::swap(&mut work.member, member);
            std::mem::swap(&mut choices, friend_choices);
        }
        let mut pass = Pass {
            model: self,
            who,
            traits,
            segment: &self.scenario.segments[traits.segment],
            customer: Customer {
                alive: true,
                enrolled: false,
                orders: 0,
                redeemed_until: f64::NEG_INFINITY,
                // Just after the twin's last purchase, so that a purchase
                // at the same moment (the same random numbers, a rate
                // path cut at other places) still happens before it.
                drops_at: drops_at + 1e-6,
                outlived_twin: false,
            },
            choices,
            baskets: who.rng(self, Stream::Baskets),
            work,
            tally,
        };
        let mut clock = Clock::new(traits.arrives, pass.work.replay.wait(&mut cursor));
        let first_month = traits.arrives.map_or(0, |day| self.month_of(day));
        for m in first_month..self.months {
            let month_start = self.month_times[m];
            if pass.customer.enrolled {
                pass.month_start(m, month_start);
            }
            let end = self.month_days[m + 1];
            while pass.customer.alive {
                let day = clock.day;
                let customer = &pass.customer;
                let lift = self.lift(customer, &pass.work.member, day, self.time_at(day));
                let rate = (traits.rate * lift).min(MAX_ORDERS_PER_DAY);
                // The rate holds to the month's end, or to the end of the
                // month after a redemption or the twin's drop-out if that
                // comes first.
                let until = [customer.redeemed_until, customer.drops_at]
                    .into_iter()
                    .filter(|&t| t > day)
                    .fold(end, f64::min);
                let replay = &mut pass.work.replay;
                let Next::Purchase { first } = clock.next(rate, until, || replay.wait(&mut cursor))
                else {
                    if until == pass.customer.drops_at {
                        // A member stays with `member_retention`'s chance
                        // of dropping out; anyone else goes.
                        pass.customer.drops_at = f64::INFINITY;
                        if pass.customer.enrolled && !dropout.chance(retention) {
                            pass.customer.outlived_twin = true;
                        } else {
                            pass.customer.alive = false;
                            if pass.customer.enrolled {
                                pass.drop_out(self.time_at(until).max(month_start), m);
                            }
                        }
                    }
                    if until < end {
                        continue;
                    }
                    break;
                };
                cursor.orders += 1;
                let order = match pass.work.replay.orders.get(cursor.orders - 1) {
                    Some(&order) => order,
                    None => self.order(traits, &mut pass.work.replay.order_stream, first),
                };
                let at = self.time_at(clock.day).max(month_start);
                pass.order(m, clock.day, at, &order, referred);
                if first {
                    continue;
                }
                // Drop-out runs on the twin's clock; only a member who
                // outlived their twin draws it after each purchase.
                if pass.customer.outlived_twin && dropout.chance(traits.dropout * retention) {
                    pass.customer.alive = false;
                    pass.drop_out(at, m);
                }
            }
            pass.due(end);
            let month_end = self.month_times[m + 1].second_before();
            // Expiry, fees, monthly rewards: only when something is due.
            if pass.customer.enrolled && pass.work.member.due <= month_end {
                pass.catch_up(month_end, m);
            }
            pass.stocks(m);
        }
    }
}

impl Pass<'_, '_> {
    /// An order on `day` (at `at`): joining at the first, the time due
    /// before it, its value, and the member's purchase.
    fn order(&mut self, m: usize, day: f64, at: Time, order: &OrderDraw, referred: bool) {
        let model = self.model;
        self.due(day);
        if self.customer.orders == 0 && !self.customer.enrolled {
            if referred {
                // A referred friend joined with this first purchase, at
                // the referral that brought them to it.
                self.customer.enrolled = true;
                self.work.demoted_until = Time(i64::MIN);
            } else if self.choices.chance(self.segment.enroll.0) {
                self.enroll(at, m);
            }
        }
        // Time passes first, as before any event: a demotion due by now
        // (a new year's review) shapes this order.
        if self.customer.enrolled && self.work.member.due <= at {
            self.catch_up(at, m);
        }
        let mut cents = order.cents;
        if self.customer.enrolled && at < self.work.demoted_until {
            cents =
                ((cents as f64) * model.scenario.behavior.demotion_spend.factor()).round() as i64;
        }
        if order.at_partner.is_none() {
            self.tally.add(m, Field::Orders, 1);
            self.tally.add(m, Field::Revenue, cents);
            model.count_return(day, order, cents, Field::Revenue, self.tally);
        }
        if self.customer.enrolled {
            self.purchase(at, m, cents, order);
        }
        self.customer.orders += 1;
    }

    /// Sends the engine, in time order, what comes due before `day`
    /// between the customer's own orders: refunds of returns and the
    /// referrals decided at the month's start.
    #[inline]
    fn due(&mut self, day: f64) {
        if self.work.returns.is_empty() && self.work.referred == self.work.friends.len() {
            return;
        }
        loop {
            let returns = &self.work.returns;
            let refund = (0..returns.len())
                .filter(|&i| returns[i].0 < day)
                .min_by(|&a, &b| returns[a].0.total_cmp(&returns[b].0));
            let referral = self.work.friends.get(self.work.referred).map(|f| f.day);
            match (refund, referral.filter(|&d| d < day)) {
                (Some(i), Some(d)) if returns[i].0 <= d => self.refund(i),
                (_, Some(_)) => self.refer(),
                (Some(i), None) => self.refund(i),
                (None, None) => break,
            }
        }
    }

    /// A member's return: the refund takes back the returned share of
    /// what the member paid, so the engine claws back what the order
    /// earned; the order's record then goes, as nothing else refers to
    /// it.
    fn refund(&mut self, i: usize) {
        let (back, n, share) = self.work.returns.swap_remove(i);
        let mut buffer = [0u8; 10];
        let id = order_id(n, &mut buffer);
        let Some(o) = self.work.member.order(id) else {
            return;
        };
        let record = &self.work.member.orders[o];
        let amount =
            ((record.paid as f64 * share).round() as i64).clamp(0, record.paid - record.refunded);
        let at = self.model.time_at(back);
        if amount > 0 {
            let refund = EventKind::Refund {
                order: Cow::Borrowed(id),
                amount,
                items: Vec::new(),
            };
            let _ = self.apply(at, self.model.month_of(back), refund);
        }
        if let Some(o) = self.work.member.order(id) {
            self.work.member.orders.swap_remove(o);
        }
    }

    /// The referral that brings the next friend, `k`: the friend joins,
    /// in an account of their own and on their own choices, and the two
    /// members' event goes through the engine's `refer`, as `loyalty run`
    /// applies it. The friend's pass takes the account over.
    fn refer(&mut self) {
        let model = self.model;
        let k = self.work.referred;
        self.work.referred += 1;
        let day = self.work.friends[k].day;
        let (at, m) = (model.time_at(day), model.month_of(day));
        let who = Who {
            friend: k as u32 + 1,
            ..self.who
        };
        // Friends are referred in the order they are numbered: this adds
        // at most one account.
        while self.work.friend_accounts.len() <= k {
            let account = (
                Member::new(model.program, "", Time(0)),
                who.rng(model, Stream::Choices),
            );
            self.work.friend_accounts.push(account);
        }
        self.work.friend_accounts[k].1 = who.rng(model, Stream::Choices);
        self.join(Account::Friend(k), at, m);
        let work = &mut *self.work;
        let _ = engine::refer(
            model.program,
            (&mut work.member, 0),
            (&mut work.friend_accounts[k].0, 1),
            at,
            (&mut work.effects, &mut work.budgets),
        );
        self.count_effects(m);
    }

    /// Applies one event to the member through the engine's own step;
    /// its effects are counted in month `m`.
    fn apply(&mut self, at: Time, m: usize, kind: EventKind) -> Result<(), Reject> {
        self.apply_to(Account::Own, at, m, kind)
    }

    fn apply_to(
        &mut self,
        account: Account,
        at: Time,
        m: usize,
        kind: EventKind,
    ) -> Result<(), Reject> {
        self.step(account, m, &Self::event(at, kind))
    }

    /// An event for the engine: the member and the id are the pass's.
    fn event(at: Time, kind: EventKind<'_>) -> Event<'_> {
        Event {
            id: Cow::Borrowed(""),
            at,
            member: Cow::Borrowed(""),
            kind,
        }
    }

    /// Applies an event to the account through the engine's own step; its
    /// effects are counted in month `m`.
    fn step(&mut self, account: Account, m: usize, event: &Event) -> Result<(), Reject> {
        let model = self.model;
        let work = &mut *self.work;
        let (member, index) = match account {
            Account::Own => (&mut work.member, 0),
            Account::Friend(k) => (&mut work.friend_accounts[k].0, 1),
        };
        let out = (&mut work.effects, &mut work.budgets);
        let result = engine::step(model.program, member, index, event, out);
        self.count_effects(m);
        result
    }

    /// The choices of the customer who owns `account`.
    fn choices_of(&mut self, account: Account) -> &mut Rng {
        match account {
            Account::Own => &mut self.choices,
            Account::Friend(k) => &mut self.work.friend_accounts[k].1,
        }
    }

    /// Time passes to `at` for the member, as before any event: the work
    /// scheduled by then runs.
    fn catch_up(&mut self, at: Time, m: usize) {
        let work = &mut *self.work;
        engine::catch_up(
            self.model.program,
            &mut work.member,
            0,
            at,
            (&mut work.effects, &mut work.budgets),
        );
        self.count_effects(m);
    }

    /// Counts the effects of a step in month `m`. A demotion, whatever
    /// brought it, starts a year of lower order values from its own
    /// moment.
    fn count_effects(&mut self, m: usize) {
        let work = &mut *self.work;
        for effect in work.effects.drain(..) {
            if let (EffectKind::TierChanged, Cause::Tier { from, to }) = (effect.kind, effect.cause)
                && to < from
            {
                work.demoted_until = effect.at.add_months(12);
            }
            self.tally.count_effect(self.model.program, &effect, m);
        }
    }

    fn enroll(&mut self, at: Time, m: usize) {
        self.customer.enrolled = true;
        self.work.demoted_until = Time(i64::MIN);
        self.join(Account::Own, at, m);
    }

    /// The owner of `account` joins, drawing from their own choices the
    /// birthday and card they join with and the plans they subscribe to.
    /// A friend is of the segment of the customer whose pass this is.
    fn join(&mut self, account: Account, at: Time, m: usize) {
        let model = self.model;
        let segment = self.segment;
        let choices = self.choices_of(account);
        let birthday = choices
            .chance(segment.birthday.0)
            .then(|| (1 + choices.below(12) as u32, 1 + choices.below(28) as u32));
        let card = choices.chance(segment.card.0);
        let attributes: &[(NameId, bool)] = if card { &model.attributes } else { &[] };
        self.tally.add(m, Field::Enrollments, 1);
        let enroll = EventKind::Enroll {
            birthday,
            attributes: Cow::Borrowed(attributes),
        };
        let _ = self.apply_to(account, at, m, enroll);
        for plan in 0..model.program.memberships.len() as MembershipId {
            if self.choices_of(account).chance(segment.subscribe.0) {
                let _ = self.apply_to(account, at, m, EventKind::Subscribe(plan));
            }
        }
    }

    fn purchase(&mut self, at: Time, m: usize, cents: i64, order: &OrderDraw) {
        let model = self.model;
        let segment = self.segment;
        let balance = self.work.member.points.balance;
        if let Some(&(_, reward)) = model.ladder.iter().rev().find(|(cost, _)| *cost <= balance)
            && self.choices.chance(segment.redeem.0)
            && self
                .apply(
                    at,
                    m,
                    EventKind::Redeem {
                        reward,
                        partner: None,
                    },
                )
                .is_ok()
        {
            self.customer.redeemed_until = model.day_of(at.add_months(1));
        }
        let s = &model.segments[self.traits.segment];
        let money = self.work.member.money.balance;
        // Only an order that will be returned needs an id to refund.
        let mut buffer = [0u8; 10];
        let returned = order.returned > 0.0 && order.at_partner.is_none();
        let number = self.customer.orders;
        let id = order_id(number, &mut buffer);
        let brand = (model.brands > 0).then_some((order.brand * model.brands as f64) as NameId);
        let mut items = std::mem::take(&mut self.work.items);
        s.basket(cents, brand, &mut self.baskets, &mut items);
        let nights = if model.counts_nights {
            s.nights(&mut self.baskets)
        } else {
            0
        };
        let choices = &mut self.choices;
        let purchase = Purchase {
            amount: cents,
            order: returned.then_some(Cow::Borrowed(id)),
            category: pick(&s.categories, order.category),
            channel: pick(&s.channels, order.channel),
            payment_method: pick(&s.payment_methods, order.payment),
            brand,
            partner: order.at_partner,
            shipping: 0,
            tax: 0,
            gift_cards: 0,
            rewards: if money > 0 && choices.chance(segment.use_reward_money.0) {
                money.min(cents)
            } else {
                0
            },
            chosen_day: model.chosen_days && choices.chance(segment.chosen_day.0),
            nights,
            items,
        };
        // A reward held and worth an amount (a free drink) is used on an
        // order it applies to, one an order; a `% off` applies itself.
        // Perks that cost per use (same-day delivery) are used with the
        // order, each with the segment's chance.
        let program = model.program;
        for (k, perk) in program.perks.iter().enumerate() {
            if let Some((_, PerkCost::Use)) = perk.cost
                && self.work.member.meets(&perk.conditions, program, at, None)
                && self.choices.chance(segment.use_perks.0)
            {
                let _ = self.apply(at, m, EventKind::Use(k as PerkId));
            }
        }
        let usable = self.work.member.rewards.iter().position(|held| {
            let reward = &program.rewards[usize::from(held.reward)];
            matches!(reward.value, RewardValue::Money(_))
                && self
                    .work
                    .member
                    .meets(&reward.conditions, program, at, Some(&purchase))
        });
        if let Some(held) = usable
            && self.choices.chance(segment.use_rewards.0)
        {
            let reward = self.work.member.rewards[held].reward;
            let partner = purchase.partner;
            let _ = self.apply(at, m, EventKind::Redeem { reward, partner });
        }
        let event = Self::event(at, EventKind::Purchase(purchase));
        let _ = self.step(Account::Own, m, &event);
        if let EventKind::Purchase(purchase) = event.kind {
            self.work.items = purchase.items;
        }
        let back = model.day_of(at) + order.return_after;
        if returned && back < model.month_days[model.months] {
            self.work.returns.push((back, number, order.returned));
        }
    }

    /// A member who drops out stops paying for plans that renew.
    fn drop_out(&mut self, at: Time, m: usize) {
        for plan in 0..self.model.program.memberships.len() as MembershipId {
            let status = self.work.member.memberships[usize::from(plan)];
            if status.is_active() && !status.cancelled && status.until != Time::NEVER {
                let _ = self.apply(at, m, EventKind::Cancel(plan));
            }
        }
    }

    /// A member's choices at a month's start: renewing paid plans that
    /// end this month, donating, the rewarded actions, referring.
    fn month_start(&mut self, m: usize, at: Time) {
        let model = self.model;
        let segment = self.segment;
        let behavior = &model.scenario.behavior;
        let next_month = model.month_times[m + 1];
        for (p, plan) in model.program.memberships.iter().enumerate() {
            let status = self.work.member.memberships[p];
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
            let first_year = status.until <= status.since.add_days(366);
            let renew = match (status.state, plan.fee) {
                (MembershipState::Trial, _) => behavior.trial_conversion.0,
                (_, Some((_, Fee::Monthly))) => yearly(first_year).powf(1.0 / 12.0),
                _ => yearly(first_year),
            };
            if !self.choices.chance(renew) {
                let _ = self.apply(at, m, EventKind::Cancel(p as MembershipId));
            }
        }
        if !self.customer.alive {
            return;
        }
        let charities = model.program.charities.len() as u64;
        let balance = self.work.member.points.balance;
        if charities > 0 && balance > 0 && self.choices.chance(segment.donate.0 / 12.0) {
            let charity = self.choices.below(charities) as u16;
            let _ = self.apply(
                at,
                m,
                EventKind::Donate {
                    charity,
                    points: balance,
                },
            );
        }
        for &action in &model.actions {
            if self.choices.chance(segment.actions.0) {
                let _ = self.apply(at, m, EventKind::Action(action));
            }
        }
        // A referral is an event of two members: it happens when the
        // program's reward for it brings a friend, who comes in the month
        // (`due` applies it then).
        if self.choices.chance(segment.refer.0 / 12.0)
            && model.refers
            && (self.work.friends.len() as u32) < MAX_FRIENDS
        {
            let (from, to) = (model.month_days[m], model.month_days[m + 1]);
            let day = from + self.choices.uniform() * (to - from);
            self.work.friends.push(Friend {
                day,
                segment: self.traits.segment,
            });
        }
    }

    /// The month's stocks: customers, members, tiers, what is held.
    fn stocks(&mut self, m: usize) {
        let (customer, tally) = (&self.customer, &mut *self.tally);
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
        let member = &self.work.member;
        tally.add(m, Field::Members, 1);
        if member.memberships.iter().any(|s| s.is_active()) {
            tally.add(m, Field::PaidMembers, 1);
        }
        if let Some(tier) = member.tier {
            tally.add_tier(m, usize::from(tier), 1);
        }
        // Pending points are owed as much as those that can be spent.
        let outstanding = member
            .points
            .balance
            .saturating_add(member.pending_points());
        tally.add(m, Field::PointsOutstanding, outstanding);
        if !customer.alive {
            tally.add(m, Field::PointsAbandoned, outstanding);
        }
        tally.add(m, Field::RewardMoneyOutstanding, member.money.balance);
        let held: i64 = member
            .rewards
            .iter()
            .map(
                |held| match self.model.program.rewards[usize::from(held.reward)].value {
                    RewardValue::Money(cents) => cents,
                    RewardValue::PercentOff(_) => 0,
                },
            )
            .sum();
        tally.add(m, Field::RewardsHeldValue, held);
    }
}

//! Purchases and refunds: the stacking rule of the README, applied in its
//! order, and the proportional claw-back of what an order earned.

use super::apply::Apply;
use super::effect::{Cause, EffectKind, Moved};
use super::event::{Purchase, Reject};
use super::member::{Order, OrderItem, Tally, VisitCredit, fits, order_key};
use crate::decimal::{Decimal, percent_of, saturate};
use crate::program::{
    Action, Benefit, BonusKind, Cents, Conditions, Exclusions, PerkCost, Points, RewardValue,
    Trigger, mask_ids,
};
use crate::time::{Every, Time};

const SCALE: i128 = Decimal::SCALE as i128;

fn saturating(a: i64, b: i64) -> i64 {
    a.saturating_add(b)
}

/// A spend rate as a fraction, to compare rates exactly.
#[derive(Clone, Copy)]
struct Rate {
    rule: usize,
    /// Earned per `per` cents (points, or cents of reward money), in
    /// ten-thousandths.
    earned: i128,
    per: i128,
}

impl Rate {
    fn beats(self, other: Option<Rate>) -> bool {
        other.is_none_or(|o| self.earned * o.per > o.earned * self.per)
    }
}

impl Rate {
    /// A spend rule's rate, if it is one of the kind asked for (points,
    /// or reward money and shares back).
    fn of(rule: usize, r: &crate::program::EarnRule, money: bool) -> Option<Rate> {
        let (earned, per) = match (r.benefit, r.trigger) {
            (Benefit::Points(n), Trigger::PerSpent(per)) if !money => (i128::from(n) * SCALE, per),
            (Benefit::Money(cents), Trigger::PerSpent(per)) if money => {
                (i128::from(cents) * SCALE, per)
            }
            (Benefit::Back(percent), _) if money => (i128::from(percent.raw()), 100),
            _ => return None,
        };
        Some(Rate {
            rule,
            earned,
            per: i128::from(per),
        })
    }
}

/// A multiplier's factor, in ten-thousandths.
fn factor(program: &crate::program::Program, b: usize) -> i128 {
    match program.bonuses[b].kind {
        BonusKind::PointsMultiplier(m) | BonusKind::RewardsMultiplier(m) => i128::from(m.raw()),
        BonusKind::FlatPoints(_) => SCALE,
    }
}

/// Step 2 on what some items earn (`exact`, in ten-thousandths): the
/// multipliers in `mask` multiply it, and the extra they bring is held
/// to the room each one's limits have left, which it uses up.
fn multiply(
    program: &crate::program::Program,
    exact: i128,
    mask: u64,
    multipliers: &mut Multipliers,
) -> i128 {
    let mut total = exact;
    let mut left = i128::MAX;
    for b in mask_ids(mask) {
        total = total.saturating_mul(factor(program, b)) / SCALE;
        left = left.min(multipliers.slot(b).room);
    }
    let extra = (total - exact).clamp(0, left.max(0));
    for b in mask_ids(mask) {
        let slot = multipliers.slot(b);
        slot.room -= extra;
        slot.used += extra;
    }
    exact + extra
}

/// The multipliers that apply to an order, each with the room its limits
/// leave and the extra it has brought, in ten-thousandths. The first
/// eight are kept on the stack: an order rarely meets more.
struct Multipliers {
    applying: u64,
    first: [Use; 8],
    more: Vec<Use>,
}

#[derive(Clone, Copy, Default)]
struct Use {
    room: i128,
    used: i128,
}

impl Multipliers {
    fn new() -> Multipliers {
        Multipliers {
            applying: 0,
            first: [Use::default(); 8],
            more: Vec::new(),
        }
    }

    /// Adds bonus `b` (in increasing order), with its room.
    fn add(&mut self, b: usize, room: i128) {
        self.applying |= 1 << b;
        let rank = self.applying.count_ones() as usize - 1;
        let entry = Use { room, used: 0 };
        match self.first.get_mut(rank) {
            Some(slot) => *slot = entry,
            None => self.more.push(entry),
        }
    }

    fn slot(&mut self, b: usize) -> &mut Use {
        let rank = (self.applying & ((1u64 << b) - 1)).count_ones() as usize;
        match rank {
            0..8 => &mut self.first[rank],
            _ => &mut self.more[rank - 8],
        }
    }
}

/// The basket as the stacking rule reads it: its lines (the items, or
/// the whole purchase as one; in a basket, the order's shipping, tax and
/// gift cards as a last line of their own), and what was paid for them.
/// Reductions (discounts, a share off, reward money spent) come off the
/// items in proportion to their amounts; the order's parts are paid in
/// full unless the reductions are more than the items.
struct Basket<'p> {
    purchase: &'p Purchase<'p>,
    lines: usize,
    merchandise: Cents,
    parts: Cents,
    /// What was paid for the items and for the parts, once known
    /// ([`Basket::pay`]); until then, their amounts.
    merchandise_paid: Cents,
    parts_paid: Cents,
}

impl<'p> Basket<'p> {
    fn of(purchase: &'p Purchase<'p>) -> Basket<'p> {
        let parts = purchase.parts();
        let merchandise = purchase.amount - parts;
        Basket {
            purchase,
            // The whole purchase as one line; or the items, and the
            // order's parts when it has some.
            lines: match purchase.items.len() {
                0 => 1,
                items => items + usize::from(parts > 0),
            },
            merchandise,
            parts,
            merchandise_paid: merchandise,
            parts_paid: parts,
        }
    }

    /// What the member paid in all, after the order's reductions.
    fn pay(&mut self, paid: Cents) {
        let reduced = (self.purchase.amount - paid).max(0);
        self.merchandise_paid = self.merchandise - reduced.min(self.merchandise);
        self.parts_paid = paid - self.merchandise_paid;
    }

    /// Whether conditions take line `l`: an item they fit; the order's
    /// parts when they pick no items.
    fn takes(&self, program: &crate::program::Program, c: &Conditions, l: usize) -> bool {
        let p = self.purchase;
        match p.items.get(l) {
            Some(item) => fits(program, c, item),
            None if p.items.is_empty() => p
                .lines()
                .next()
                .is_some_and(|whole| fits(program, c, &whole)),
            None => !c.picks_items(),
        }
    }

    /// The lines conditions take.
    fn taken<'b>(
        &'b self,
        program: &'b crate::program::Program,
        c: &'b Conditions,
    ) -> impl Iterator<Item = usize> + 'b {
        (0..self.lines).filter(move |&l| self.takes(program, c, l))
    }

    /// What was paid for an item of `amount`, to the cent below.
    fn item_paid(&self, amount: Cents) -> Cents {
        if self.merchandise > 0 {
            saturate(
                i128::from(amount) * i128::from(self.merchandise_paid)
                    / i128::from(self.merchandise),
            )
        } else {
            0
        }
    }

    /// The amount of the lines conditions take (and `also` takes, if
    /// given), before reductions.
    fn amount_taken(
        &self,
        program: &crate::program::Program,
        c: &Conditions,
        also: Option<&Conditions>,
    ) -> Cents {
        let p = self.purchase;
        self.taken(program, c)
            .filter(|&l| also.is_none_or(|a| self.takes(program, a, l)))
            .map(|l| match p.items.get(l) {
                Some(item) => item.amount,
                None if p.items.is_empty() => p.amount,
                None => self.parts,
            })
            .sum()
    }

    /// What was paid for some lines, less the parts `excluding` leaves
    /// out, to the cent below. The whole purchase, as one line, carries
    /// the order's parts.
    fn spend(&self, lines: impl Iterator<Item = usize>, excluding: Exclusions) -> Cents {
        let p = self.purchase;
        let mut items: Cents = 0;
        let mut with_parts = false;
        for l in lines {
            match p.items.get(l) {
                Some(item) => items += item.amount,
                None if p.items.is_empty() => {
                    items += self.merchandise;
                    with_parts = true;
                }
                None => with_parts = true,
            }
        }
        let mut spend = self.item_paid(items);
        if with_parts && self.parts > 0 {
            let mut kept = self.parts;
            if excluding.shipping {
                kept -= p.shipping;
            }
            if excluding.tax {
                kept -= p.tax;
            }
            if excluding.gift_cards {
                kept -= p.gift_cards;
            }
            spend +=
                saturate(i128::from(kept) * i128::from(self.parts_paid) / i128::from(self.parts));
        }
        spend
    }
}

impl Apply<'_> {
    pub fn purchase(&mut self, at: Time, p: &Purchase) -> Result<(), Reject> {
        let program = self.program;
        let money = |cents: Cents| program.money(cents);

        // Everything that can reject the purchase comes first.
        if let Some(order) = &p.order
            && self.member.order(order).is_some()
        {
            return Err(Reject::DuplicateOrder(order.to_string()));
        }
        if p.rewards > self.member.money.balance {
            return Err(Reject::InsufficientRewardMoney {
                needed: money(p.rewards),
                balance: money(self.member.money.balance),
            });
        }
        // Discounts do not stack: the largest that matches applies.
        let mut discount: Option<(usize, Decimal)> = None;
        for (d, rule) in program.discounts.iter().enumerate() {
            if self.matches(&rule.conditions, at, Some(p))
                && discount.is_none_or(|(_, best)| rule.percent > best)
            {
                discount = Some((d, rule.percent));
            }
        }
        // A discount, and a held share off, take their share of the items
        // they name (of the whole order when they name none).
        let mut basket = Basket::of(p);
        let discounted = |also: Option<&Conditions>| match discount {
            Some((d, percent)) => {
                let c = &program.discounts[d].conditions;
                percent_of(basket.amount_taken(program, c, also), percent)
            }
            None => 0,
        };
        let discount_cents = discounted(None);
        // A held share off the next order is used on it.
        let voucher = self.member.rewards.iter().position(|held| {
            let reward = &program.rewards[usize::from(held.reward)];
            matches!(reward.value, RewardValue::PercentOff(_))
                && self.matches(&reward.conditions, at, Some(p))
        });
        let voucher_cents = voucher.map_or(0, |v| {
            let reward = &program.rewards[usize::from(self.member.rewards[v].reward)];
            match reward.value {
                RewardValue::PercentOff(percent) => {
                    let c = &reward.conditions;
                    let taken = basket.amount_taken(program, c, None);
                    percent_of(taken - discounted(Some(c)), percent)
                }
                RewardValue::Money(_) => 0,
            }
        });
        let left = p.amount - discount_cents - voucher_cents;
        if p.rewards > left {
            return Err(Reject::RewardsExceedOrder {
                used: money(p.rewards),
                left: money(left),
            });
        }
        let paid = left - p.rewards;
        basket.pay(paid);

        // From here on nothing fails.
        if program.points_pending.is_some() {
            self.pending_order = Some(p.order.as_deref().map_or(0, order_key));
        }
        if let Some((d, _)) = discount
            && discount_cents > 0
        {
            self.effect(
                at,
                EffectKind::DiscountGiven,
                Moved::value(discount_cents),
                Cause::Discount(d as u16),
            );
        }
        if let Some(v) = voucher {
            let held = self.member.rewards.remove(v);
            self.effect(
                at,
                EffectKind::RewardUsed,
                Moved::value(voucher_cents),
                Cause::Reward(held.reward),
            );
            self.keep_margin(at, p.partner, voucher_cents);
        }
        if p.rewards > 0 {
            self.member.money.take(p.rewards);
            self.member.totals.money_spent =
                self.member.totals.money_spent.saturating_add(p.rewards);
            self.effect(
                at,
                EffectKind::RewardMoneySpent,
                Moved {
                    money: -p.rewards,
                    value: p.rewards,
                    ..Moved::NONE
                },
                Cause::None,
            );
            self.keep_margin(at, p.partner, p.rewards);
        }

        // 1. to 4. of the stacking rule, item by item: points, then
        // reward money.
        let (order_points, _) = self.earn_on_basket(at, &basket, false);
        // 3. Flat bonuses add.
        let mut order_points = order_points;
        for (b, bonus) in program.bonuses.iter().enumerate() {
            let BonusKind::FlatPoints(n) = bonus.kind else {
                continue;
            };
            if !self.bonus_applies(at, p, b) {
                continue;
            }
            let points = n.min(self.room(&bonus.caps, at).points);
            if points > 0 {
                self.use_bonus(at, b, points, 0);
                self.earn_points(at, points, Cause::Bonus(b as u16));
                order_points = saturating(order_points, points);
            }
        }
        let (order_money, accrued_rule) = self.earn_on_basket(at, &basket, true);

        let mut funded = 0;
        if let Some(partner) = p
            .partner
            .filter(|&id| usize::from(id) < program.partners.len())
        {
            funded =
                program.partners[usize::from(partner)].funding(program, order_points, order_money);
            if funded > 0 {
                self.effect(
                    at,
                    EffectKind::PartnerFunded,
                    Moved::value(funded),
                    Cause::Partner {
                        partner,
                        refund: false,
                    },
                );
            }
        }

        // Visits: `for visit` rules and punch cards. What they issue is
        // the order's too, for a refund to take back.
        let totals = self.member.totals;
        let held_before = self.member.rewards.len();
        let punched = self.action_rules(at, Action::Visit.id(), Some(p));
        // `for spending $30 in a month`, once per period.
        for (i, rule) in program.rules.iter().enumerate() {
            let Trigger::Spending { cents, per } = rule.trigger else {
                continue;
            };
            if !self.matches(&rule.conditions, at, Some(p)) {
                continue;
            }
            let key = program.calendar.key(per, at);
            let spend = basket.spend(
                basket.taken(program, &rule.conditions),
                rule.conditions.excluding,
            );
            let status = &mut self.member.rules[i];
            if status.period != key {
                status.period = key;
                status.counter = 0;
            }
            let before = status.counter;
            status.counter = status.counter.saturating_add(spend);
            if before < cents && status.counter >= cents {
                self.give(at, i, true);
            }
        }
        for (k, perk) in program.perks.iter().enumerate() {
            if let Some((cost, PerkCost::Order)) = perk.cost
                && self.matches(&perk.conditions, at, Some(p))
            {
                self.effect(
                    at,
                    EffectKind::PerkUsed,
                    Moved::value(cost),
                    Cause::Perk(k as u16),
                );
            }
        }

        self.member.count(
            program,
            at,
            at,
            Tally {
                spend: paid,
                points: 0,
                visits: 1,
                nights: i64::from(p.nights),
            },
        );
        if let Some(order) = &p.order {
            let now = self.member.totals;
            let mut rewards = [0; 4];
            let issued = self.member.rewards.get(held_before..).unwrap_or_default();
            for (slot, held) in rewards.iter_mut().zip(issued) {
                *slot = held.reward;
            }
            self.member.orders.push(Order {
                key: order_key(order),
                at,
                paid,
                refunded: 0,
                points: saturating(
                    order_points,
                    now.points_issued.saturating_sub(totals.points_issued),
                ),
                points_clawed_back: 0,
                money: order_money,
                money_clawed_back: 0,
                accrued_rule,
                visit: VisitCredit {
                    money: now.money_issued.saturating_sub(totals.money_issued),
                    money_clawed_back: 0,
                    rewards,
                    reward_count: issued.len().min(4) as u8,
                    punched,
                    funded,
                    funded_returned: 0,
                    undone: false,
                },
                partner: p
                    .partner
                    .filter(|&id| usize::from(id) < program.partners.len()),
                nights: p.nights,
                items: p
                    .items
                    .iter()
                    .map(|item| OrderItem {
                        sku: item.sku,
                        quantity: item.quantity,
                        refunded: 0,
                        paid: basket.item_paid(item.amount),
                    })
                    .collect(),
            });
        }
        self.pending_order = None;
        self.member.last_activity = at;
        self.after_change(at);
        Ok(())
    }

    /// Takes back up to `cents` of reward money for a refund; returns
    /// how much there was to take.
    fn claw_back_money(&mut self, at: Time, cents: Cents) -> Cents {
        let taken = self.member.money.take(cents);
        self.member.totals.money_clawed_back =
            saturating(self.member.totals.money_clawed_back, taken);
        if taken > 0 {
            self.effect(
                at,
                EffectKind::RewardMoneyClawedBack,
                Moved::money(-taken),
                Cause::Refund,
            );
        }
        taken
    }

    /// The amount a refund of `items` of order `o` returns (what was paid
    /// for each unit named), and how many of each of the order's items
    /// are refunded with it.
    fn refund_items(
        &self,
        o: usize,
        order: &str,
        items: &[(u64, Option<u32>)],
    ) -> Result<(Cents, Vec<u32>), Reject> {
        let lines = &self.member.orders[o].items;
        let mut refunded: Vec<u32> = lines.iter().map(|i| i.refunded).collect();
        let mut amount: Cents = 0;
        for (n, &(sku, quantity)) in items.iter().enumerate() {
            let not_returned = |l: usize| lines[l].sku == sku && refunded[l] < lines[l].quantity;
            let Some(l) = (0..lines.len()).find(|&l| not_returned(l)) else {
                return Err(Reject::Malformed(format!(
                    "item {}: order `{order}` has no such item left to refund",
                    n + 1
                )));
            };
            let left = lines[l].quantity - refunded[l];
            let units = quantity.unwrap_or(left);
            if units > left {
                return Err(Reject::Malformed(format!(
                    "item {}: {units} returned, but {left} of it are left to refund in order `{order}`",
                    n + 1
                )));
            }
            refunded[l] += units;
            amount += saturate(
                i128::from(lines[l].paid) * i128::from(units) / i128::from(lines[l].quantity),
            );
        }
        Ok((amount, refunded))
    }

    /// Whether a bonus applies to this purchase: its conditions hold, its
    /// limits have room, and a chosen day is left (or today is one).
    fn bonus_applies(&self, at: Time, p: &Purchase, b: usize) -> bool {
        let bonus = &self.program.bonuses[b];
        if !self.matches(&bonus.conditions, at, Some(p)) || !self.room(&bonus.caps, at).times {
            return false;
        }
        let Some((count, per)) = bonus.conditions.chosen_days else {
            return true;
        };
        let chosen = &self.member.chosen[b];
        let calendar = &self.program.calendar;
        let today = calendar.key(Every::Day, at);
        chosen.period != calendar.key(per, at) || chosen.day == today || chosen.used < count
    }

    /// Counts a bonus that was applied: its limits, and today as a chosen
    /// day if it needs one.
    fn use_bonus(&mut self, at: Time, b: usize, points: Points, money: Cents) {
        let bonus = &self.program.bonuses[b];
        self.use_caps(&bonus.caps, at, points, money);
        if let Some((_, per)) = bonus.conditions.chosen_days {
            let calendar = &self.program.calendar;
            let (key, today) = (calendar.key(per, at), calendar.key(Every::Day, at));
            let chosen = &mut self.member.chosen[b];
            if chosen.period != key {
                chosen.period = key;
                chosen.used = 0;
            }
            if chosen.day != today {
                chosen.used += 1;
                chosen.day = today;
            }
        }
    }

    /// Steps 1, 2 and 4 of the stacking rule for points (or, with
    /// `money`, reward money), on the basket: each item earns at the best
    /// rate among the rules that take it; the multipliers that take it
    /// multiply what it earns; each rule's total is rounded down once and
    /// held to its limits. Returns what was earned, and the rule whose
    /// payout was saved up, if one was.
    fn earn_on_basket(&mut self, at: Time, basket: &Basket, money: bool) -> (i64, Option<u16>) {
        let program = self.program;
        let p = basket.purchase;
        // A purchase without items is one line: no allocation for it.
        let mut one = [None; 1];
        let mut many;
        let best: &mut [Option<Rate>] = if p.items.is_empty() {
            &mut one
        } else {
            many = vec![None; basket.lines];
            &mut many
        };
        for &r in &program.rate_rules {
            let rule = &program.rules[r];
            let Some(rate) = Rate::of(r, rule, money) else {
                continue;
            };
            if !self.matches(&rule.conditions, at, Some(p)) || !self.room(&rule.caps, at).times {
                continue;
            }
            for (l, best) in best.iter_mut().enumerate() {
                if basket.takes(program, &rule.conditions, l) && rate.beats(*best) {
                    *best = Some(rate);
                }
            }
        }
        let best: &[Option<Rate>] = best;
        if best.iter().all(Option::is_none) {
            return (0, None);
        }

        // The multipliers of this kind that apply to the order, and the
        // room their limits leave, in ten-thousandths.
        let mut multipliers = Multipliers::new();
        for (b, bonus) in program.bonuses.iter().enumerate().take(64) {
            let of_kind = match bonus.kind {
                BonusKind::PointsMultiplier(_) => !money,
                BonusKind::RewardsMultiplier(_) => money,
                BonusKind::FlatPoints(_) => false,
            };
            if of_kind && self.bonus_applies(at, p, b) {
                let room = self.room(&bonus.caps, at);
                let room = if money { room.money } else { room.points };
                multipliers.add(b, i128::from(room).saturating_mul(SCALE));
            }
        }
        let applying = multipliers.applying;
        let line_bonuses = |l: usize| -> u64 {
            let mut mask = 0;
            let mut exclusive = false;
            for b in mask_ids(applying) {
                let conditions = &program.bonuses[b].conditions;
                if basket.takes(program, conditions, l) {
                    mask |= 1 << b;
                    exclusive |= program.bonuses[b].exclusive;
                }
            }
            if exclusive {
                // Only the largest applies, the first of equals.
                let largest =
                    mask_ids(mask).max_by_key(|&b| (factor(program, b), std::cmp::Reverse(b)));
                mask = largest.map_or(0, |b| 1 << b);
            }
            mask
        };

        let mut one_mask = [0u64; 1];
        let mut many_masks;
        let masks: &mut [u64] = if p.items.is_empty() {
            &mut one_mask
        } else {
            many_masks = vec![0; basket.lines];
            &mut many_masks
        };
        for (l, mask) in masks.iter_mut().enumerate() {
            if best[l].is_some() {
                *mask = line_bonuses(l);
            }
        }
        let masks: &[u64] = masks;

        let mut used_bonuses: u64 = 0;
        let mut earned: i64 = 0;
        let mut accrued_rule = None;
        for (first, rate) in best.iter().enumerate() {
            let Some(rate) = *rate else { continue };
            // Each rule once, at its first line.
            if best[..first]
                .iter()
                .any(|b| b.is_some_and(|b| b.rule == rate.rule))
            {
                continue;
            }
            let rule = &program.rules[rate.rule];
            let lines_of_rule = || {
                (first..best.len()).filter(move |&l| best[l].is_some_and(|b| b.rule == rate.rule))
            };
            let carried = matches!(
                (rule.benefit, rule.trigger),
                (Benefit::Money(_), Trigger::PerSpent(per)) if per > 0
            );
            let mut total: i128 = 0;
            let mut bonuses: u64 = 0;
            if carried {
                // `$5 reward per $100 spent`: whole steps of all the rule
                // takes, the rest kept for the next purchase; a multiplier
                // that takes any of its items multiplies all of it.
                let spend = basket.spend(lines_of_rule(), rule.conditions.excluding);
                let (Benefit::Money(cents), Trigger::PerSpent(per)) = (rule.benefit, rule.trigger)
                else {
                    continue;
                };
                let status = &mut self.member.rules[rate.rule];
                let sum = status.counter + spend;
                status.counter = sum % per;
                let exact = i128::from(sum / per) * i128::from(cents) * SCALE;
                let mask = lines_of_rule().fold(0, |m, l| m | masks[l]);
                total = multiply(program, exact, mask, &mut multipliers);
                bonuses = mask;
            } else {
                // Lines taken by the same multipliers earn together.
                for l in lines_of_rule() {
                    let mask = masks[l];
                    if lines_of_rule()
                        .take_while(|&k| k < l)
                        .any(|k| masks[k] == mask)
                    {
                        continue;
                    }
                    let group = lines_of_rule().filter(|&k| k >= l && masks[k] == mask);
                    let spend = basket.spend(group, rule.conditions.excluding);
                    let exact = i128::from(spend) * rate.earned / rate.per;
                    total += multiply(program, exact, mask, &mut multipliers);
                    bonuses |= mask;
                }
            }
            used_bonuses |= bonuses;
            let room = self.room(&rule.caps, at);
            let amount = saturate(total / SCALE).min(if money { room.money } else { room.points });
            if amount <= 0 {
                continue;
            }
            let (points, cents) = if money { (0, amount) } else { (amount, 0) };
            self.use_caps(&rule.caps, at, points, cents);
            let cause = Cause::Rule {
                rule: rate.rule as u16,
                bonuses,
            };
            if !money {
                self.earn_points(at, amount, cause);
            } else if rule.paid_out_yearly {
                let accrued = &mut self.member.rules[rate.rule].accrued;
                *accrued = accrued.saturating_add(amount);
                self.effect(at, EffectKind::PayoutSaved, Moved::value(amount), cause);
                accrued_rule = Some(rate.rule as u16);
            } else {
                self.issue_money(at, amount, cause);
            }
            earned = saturating(earned, amount);
        }
        for b in mask_ids(used_bonuses) {
            let extra = saturate(multipliers.slot(b).used / SCALE);
            let (points, cents) = if money { (0, extra) } else { (extra, 0) };
            self.use_bonus(at, b, points, cents);
        }
        (earned, accrued_rule)
    }

    pub fn refund(
        &mut self,
        at: Time,
        order: &str,
        amount: Cents,
        items: &[(u64, Option<u32>)],
    ) -> Result<(), Reject> {
        let program = self.program;
        let money = |cents: Cents| program.money(cents);
        let o = self
            .member
            .order(order)
            .ok_or_else(|| Reject::UnknownOrder(order.to_string()))?;
        let (amount, items_refunded) = if items.is_empty() {
            (amount, Vec::new())
        } else {
            self.refund_items(o, order, items)?
        };
        let record = &mut self.member.orders[o];
        let left = record.paid - record.refunded;
        if amount > left {
            return Err(Reject::RefundTooLarge {
                order: order.to_string(),
                refund: money(amount),
                left: money(left),
            });
        }
        for (item, refunded) in record.items.iter_mut().zip(items_refunded) {
            item.refunded = refunded;
        }
        // What the order's refunded share earned, less what earlier
        // refunds of it already took back: proportional, and never twice.
        record.refunded += amount;
        let share = |earned: i64| {
            if record.paid == 0 {
                0
            } else {
                saturate(i128::from(earned) * i128::from(record.refunded) / i128::from(record.paid))
            }
        };
        let points_due = share(record.points) - record.points_clawed_back;
        let money_due = share(record.money) - record.money_clawed_back;
        record.points_clawed_back += points_due;
        record.money_clawed_back += money_due;
        let visit = &mut record.visit;
        let visit_money_due = share(visit.money) - visit.money_clawed_back;
        visit.money_clawed_back += visit_money_due;
        let funding_due = share(visit.funded) - visit.funded_returned;
        visit.funded_returned += funding_due;
        // A refund in full undoes the visit itself, once.
        let undo = record.refunded == record.paid && !visit.undone;
        visit.undone |= undo;
        let visit = *visit;
        let (made_at, accrued_rule, partner) = (record.at, record.accrued_rule, record.partner);
        let nights = if undo { i64::from(record.nights) } else { 0 };

        // Points still pending are cancelled first: the member never had
        // them to spend.
        let cancelled = self.member.cancel_pending(order_key(order), points_due);
        let points = cancelled + self.member.points.take(points_due - cancelled);
        self.member.totals.points_clawed_back =
            saturating(self.member.totals.points_clawed_back, points);
        if points > 0 {
            self.effect(
                at,
                EffectKind::PointsClawedBack,
                Moved::points(-points),
                Cause::Refund,
            );
        }
        let cents = match accrued_rule {
            Some(rule) => {
                let accrued = &mut self.member.rules[usize::from(rule)].accrued;
                let taken = money_due.min(*accrued).max(0);
                *accrued -= taken;
                if taken > 0 {
                    self.effect(
                        at,
                        EffectKind::PayoutSaved,
                        Moved::value(-taken),
                        Cause::Refund,
                    );
                }
                taken
            }
            None => self.claw_back_money(at, money_due),
        };
        let visit_cents = self.claw_back_money(at, visit_money_due);
        if funding_due > 0 {
            self.effect(
                at,
                EffectKind::PartnerFunded,
                Moved::value(-funding_due),
                partner.map_or(Cause::Refund, |partner| Cause::Partner {
                    partner,
                    refund: true,
                }),
            );
        }
        let rewards_short = if undo {
            self.undo_visit(at, program, &visit)
        } else {
            0
        };
        if points < points_due
            || cents < money_due
            || visit_cents < visit_money_due
            || rewards_short > 0
        {
            let value = program.points_value(points_due - points)
                + (money_due - cents)
                + (visit_money_due - visit_cents)
                + rewards_short;
            self.effect(
                at,
                EffectKind::ClawbackShortfall,
                Moved::value(value),
                Cause::Refund,
            );
        }
        self.member.count(
            program,
            at,
            made_at,
            Tally {
                spend: -amount,
                points: -points,
                visits: -i64::from(undo),
                nights: -nights,
            },
        );
        self.after_change(at);
        Ok(())
    }

    /// Undoes what a refunded order's visit did besides earning: its
    /// punches (a card it completed is one short again) and the rewards
    /// it issued, taken back if still held. Returns what the rewards
    /// already used were worth, a shortfall.
    fn undo_visit(
        &mut self,
        at: Time,
        program: &crate::program::Program,
        visit: &VisitCredit,
    ) -> Cents {
        for (i, rule) in program.rules.iter().enumerate().take(64) {
            if visit.punched & (1 << i) == 0 {
                continue;
            }
            if let Trigger::EveryNth { nth, .. } = rule.trigger {
                let counter = &mut self.member.rules[i].counter;
                *counter = if *counter > 0 {
                    *counter - 1
                } else {
                    i64::from(nth) - 1
                };
            }
        }
        let mut short = 0;
        for &reward in &visit.rewards[..usize::from(visit.reward_count.min(4))] {
            match self.member.rewards.iter().rposition(|h| h.reward == reward) {
                Some(h) => {
                    self.member.rewards.remove(h);
                    self.effect(
                        at,
                        EffectKind::RewardClawedBack,
                        Moved::NONE,
                        Cause::Reward(reward),
                    );
                }
                None => {
                    short += match program.rewards[usize::from(reward)].value {
                        RewardValue::Money(cents) => cents,
                        RewardValue::PercentOff(_) => 0,
                    };
                }
            }
        }
        short
    }
}

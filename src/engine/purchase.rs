//! Purchases and refunds: the stacking rule of the README, applied in its
//! order, and the proportional claw-back of what an order earned.

use super::apply::Apply;
use super::effect::{Cause, EffectKind, Moved};
use super::event::{Purchase, Reject};
use super::member::{Order, Tally, VisitCredit, order_key};
use crate::decimal::{Decimal, percent_of, saturate};
use crate::program::{
    Action, Benefit, BonusKind, Cents, Exclusions, PerkCost, Points, RewardValue, Trigger,
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

fn spend_of(purchase: &Purchase, paid: Cents, excluding: Exclusions) -> Cents {
    let mut spend = paid;
    if excluding.shipping {
        spend -= purchase.shipping;
    }
    if excluding.tax {
        spend -= purchase.tax;
    }
    if excluding.gift_cards {
        spend -= purchase.gift_cards;
    }
    spend.max(0)
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
        let discount_cents = discount.map_or(0, |(_, percent)| percent_of(p.amount, percent));
        // A held share off the next order is used on it.
        let voucher = self.member.rewards.iter().position(|held| {
            let reward = &program.rewards[usize::from(held.reward)];
            matches!(reward.value, RewardValue::PercentOff(_))
                && self.matches(&reward.conditions, at, Some(p))
        });
        let voucher_cents = voucher.map_or(0, |v| {
            match program.rewards[usize::from(self.member.rewards[v].reward)].value {
                RewardValue::PercentOff(percent) => percent_of(p.amount - discount_cents, percent),
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
        }

        // 1. The best base rate, points and reward money apart.
        let mut best_points: Option<Rate> = None;
        let mut best_money: Option<Rate> = None;
        for (i, rule) in program.rules.iter().enumerate() {
            let rate = match (rule.benefit, rule.trigger) {
                (Benefit::Points(n), Trigger::PerSpent(per)) => Rate {
                    rule: i,
                    earned: i128::from(n) * SCALE,
                    per: i128::from(per),
                },
                (Benefit::Money(cents), Trigger::PerSpent(per)) => Rate {
                    rule: i,
                    earned: i128::from(cents) * SCALE,
                    per: i128::from(per),
                },
                (Benefit::Back(percent), _) => Rate {
                    rule: i,
                    earned: i128::from(percent.raw()),
                    per: 100,
                },
                _ => continue,
            };
            if !self.matches(&rule.conditions, at, Some(p)) || !self.room(&rule.caps, at).times {
                continue;
            }
            let best = if matches!(rule.benefit, Benefit::Points(_)) {
                &mut best_points
            } else {
                &mut best_money
            };
            if rate.beats(*best) {
                *best = Some(rate);
            }
        }

        let mut order_points = 0;
        if let Some(rate) = best_points {
            let rule = &program.rules[rate.rule];
            let spend = spend_of(p, paid, rule.conditions.excluding);
            let exact = i128::from(spend) * rate.earned / rate.per;
            // 2. Multipliers, then 4. the rule's limits.
            let (exact, bonuses) = self.multiply(at, p, exact, false);
            let room = self.room(&rule.caps, at);
            let points = saturate(exact / SCALE).min(room.points);
            if points > 0 {
                self.use_caps(&rule.caps, at, points, 0);
                self.earn_points(
                    at,
                    points,
                    Cause::Rule {
                        rule: rate.rule as u16,
                        bonuses,
                    },
                );
                order_points = saturating(order_points, points);
            }
        }
        // 3. Flat bonuses add.
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

        let mut order_money = 0;
        let mut accrued_rule = None;
        if let Some(rate) = best_money {
            let rule = &program.rules[rate.rule];
            let spend = spend_of(p, paid, rule.conditions.excluding);
            let exact = match (rule.benefit, rule.trigger) {
                // `$5 reward per $100 spent`: whole steps, the rest kept
                // for the next purchase.
                (Benefit::Money(cents), Trigger::PerSpent(per)) if per > 0 => {
                    let status = &mut self.member.rules[rate.rule];
                    let total = status.counter + spend;
                    status.counter = total % per;
                    i128::from(total / per) * i128::from(cents) * SCALE
                }
                _ => i128::from(spend) * rate.earned / rate.per,
            };
            let (exact, bonuses) = self.multiply(at, p, exact, true);
            let room = self.room(&rule.caps, at);
            let cents = saturate(exact / SCALE).min(room.money);
            if cents > 0 {
                self.use_caps(&rule.caps, at, 0, cents);
                let cause = Cause::Rule {
                    rule: rate.rule as u16,
                    bonuses,
                };
                if rule.paid_out_yearly {
                    let accrued = &mut self.member.rules[rate.rule].accrued;
                    *accrued = accrued.saturating_add(cents);
                    self.effect(at, EffectKind::PayoutSaved, Moved::value(cents), cause);
                    accrued_rule = Some(rate.rule as u16);
                } else {
                    self.issue_money(at, cents, cause);
                }
                order_money = cents;
            }
        }

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
            let status = &mut self.member.rules[i];
            if status.period != key {
                status.period = key;
                status.counter = 0;
            }
            let before = status.counter;
            status.counter =
                status
                    .counter
                    .saturating_add(spend_of(p, paid, rule.conditions.excluding));
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
            });
        }
        self.pending_order = None;
        self.member.last_activity = at;
        self.after_change(at);
        Ok(())
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

    /// Step 2 of the stacking rule: all matching multipliers multiply,
    /// unless one is exclusive, when only the largest applies. A limit on
    /// a multiplier caps the extra it brings.
    fn multiply(&mut self, at: Time, p: &Purchase, exact: i128, rewards: bool) -> (i128, u64) {
        let program = self.program;
        let mut applying: u64 = 0;
        let mut exclusive = false;
        for (b, bonus) in program.bonuses.iter().enumerate().take(64) {
            let is_kind = match bonus.kind {
                BonusKind::PointsMultiplier(_) => !rewards,
                BonusKind::RewardsMultiplier(_) => rewards,
                BonusKind::FlatPoints(_) => false,
            };
            if is_kind && self.bonus_applies(at, p, b) {
                applying |= 1 << b;
                exclusive |= bonus.exclusive;
            }
        }
        let factor = |b: usize| match program.bonuses[b].kind {
            BonusKind::PointsMultiplier(m) | BonusKind::RewardsMultiplier(m) => i128::from(m.raw()),
            BonusKind::FlatPoints(_) => SCALE,
        };
        if exclusive {
            let largest = (0..64)
                .filter(|b| applying & (1 << b) != 0)
                .max_by_key(|&b| (factor(b), std::cmp::Reverse(b)));
            applying = largest.map_or(0, |b| 1 << b);
        }
        let applied = (0..program.bonuses.len().min(64)).filter(|b| applying & (1 << b) != 0);
        let mut total = exact;
        let mut room = i128::MAX;
        for b in applied.clone() {
            total = total.saturating_mul(factor(b)) / SCALE;
            let left = self.room(&program.bonuses[b].caps, at);
            room = room.min(
                i128::from(if rewards { left.money } else { left.points }).saturating_mul(SCALE),
            );
        }
        if total > exact {
            total = exact + (total - exact).min(room);
        }
        let extra = saturate((total - exact).max(0) / SCALE);
        for b in applied {
            let (points, money) = if rewards { (0, extra) } else { (extra, 0) };
            self.use_bonus(at, b, points, money);
        }
        (total, applying)
    }

    pub fn refund(&mut self, at: Time, order: &str, amount: Cents) -> Result<(), Reject> {
        let program = self.program;
        let money = |cents: Cents| program.money(cents);
        let o = self
            .member
            .order(order)
            .ok_or_else(|| Reject::UnknownOrder(order.to_string()))?;
        let record = &mut self.member.orders[o];
        let left = record.paid - record.refunded;
        if amount > left {
            return Err(Reject::RefundTooLarge {
                order: order.to_string(),
                refund: money(amount),
                left: money(left),
            });
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
            None => {
                let taken = self.member.money.take(money_due);
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
        };
        let visit_cents = self.member.money.take(visit_money_due);
        self.member.totals.money_clawed_back =
            saturating(self.member.totals.money_clawed_back, visit_cents);
        if visit_cents > 0 {
            self.effect(
                at,
                EffectKind::RewardMoneyClawedBack,
                Moved::money(-visit_cents),
                Cause::Refund,
            );
        }
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

//! What one simulated run counts, month by month, in integers (cents,
//! points, customers). Integers add up to the same total in any order,
//! so threads and shards cannot change a result; metrics are worked out
//! from these counts afterwards (`report::metrics`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{BudgetUse, Cause, Effect, EffectKind};
use crate::program::{Benefit, ConversionInto, Program, RewardId, RewardValue};

/// The counts kept for each month. Flows are what happened in the
/// month; stocks (marked) are the state at its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    /// Stock: customers who have not dropped out (BG/NBD's "alive").
    Alive,
    /// Stock: members enrolled.
    Members,
    /// Stock: members with a paid membership (trial included).
    PaidMembers,
    Enrollments,
    Orders,
    /// Cents, order value before the program's discounts.
    Revenue,
    /// Stock: customers alive without the program.
    BaselineAlive,
    BaselineOrders,
    BaselineRevenue,
    PointsIssued,
    PointsRedeemed,
    PointsExpired,
    PointsDonated,
    PointsClawedBack,
    /// Stock: points held by members.
    PointsOutstanding,
    /// Stock: points held by members who have dropped out, who will
    /// never redeem them.
    PointsAbandoned,
    RewardMoneyIssued,
    /// Stock: reward money held, in cents.
    RewardMoneyOutstanding,
    Discounts,
    RewardMoneySpent,
    /// Value of issued rewards used (a free item, % off an order).
    RewardsUsed,
    /// Rewards issued (a free drink, a birthday gift), and the value of
    /// those worth an amount of money (a `% off` is valued when used).
    RewardsIssued,
    RewardsIssuedValue,
    RewardsUsedCount,
    RewardsExpired,
    RewardsExpiredValue,
    /// Stock: the value of the rewards members hold that are worth an
    /// amount of money (a free drink not yet used).
    RewardsHeldValue,
    PerksCost,
    Fees,
    PartnerFunded,
    /// What the program kept of redemptions at partners.
    RedemptionMargin,
    CharityDonations,
    /// New customers who arrived (and made their first purchase): the
    /// same with and without the program.
    Arrived,
    /// Friends whom members' referrals brought: customers only with the
    /// program.
    Referred,
    /// Cents refunded on returned orders (with the program; revenue is
    /// already net of them, in both).
    Returns,
    /// What a refund should have taken back but the member had already
    /// spent, at its value.
    ClawbackShortfall,
    /// Stock: customers with at least one order so far.
    Ordered,
    /// Stock: customers with two or more orders so far.
    Repeat,
    /// Budgets shared by all members that ran out in the month (one per
    /// budget and period).
    BudgetsRunOut,
}

pub const FIELDS: usize = Field::BudgetsRunOut as usize + 1;

/// One run's counts: for each month the fields, then one count per tier
/// (members in it at the month's end).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTally {
    pub run: u32,
    pub months: usize,
    pub tiers: usize,
    pub values: Vec<i64>,
    /// A count went past what `i64` holds (and was pinned there): the
    /// run's numbers are not exact, and the simulation says so.
    #[serde(skip)]
    pub overflowed: bool,
    /// A first pass's use of each budget, by budget, period and hour
    /// (`engine::BudgetUse::noted`), for the second pass to close them.
    #[serde(skip)]
    pub budgets_used: BTreeMap<(u32, i64, i64), i64>,
}

impl RunTally {
    pub fn new(run: u32, months: usize, tiers: usize) -> RunTally {
        RunTally {
            run,
            months,
            tiers,
            values: vec![0; months * (FIELDS + tiers)],
            overflowed: false,
            budgets_used: BTreeMap::new(),
        }
    }

    pub fn note_budget(&mut self, used: BudgetUse) {
        let sum = self.budgets_used.entry(used.noted()).or_default();
        *sum = sum.saturating_add(used.amount);
    }

    fn width(&self) -> usize {
        FIELDS + self.tiers
    }

    pub fn get(&self, month: usize, field: Field) -> i64 {
        self.values[month * self.width() + field as usize]
    }

    pub fn add(&mut self, month: usize, field: Field, amount: i64) {
        let w = self.width();
        self.add_at(month * w + field as usize, amount);
    }

    /// Checked: a sum past `i64` is pinned and marks the run.
    fn add_at(&mut self, at: usize, amount: i64) {
        let value = &mut self.values[at];
        match value.checked_add(amount) {
            Some(sum) => *value = sum,
            None => {
                *value = value.saturating_add(amount);
                self.overflowed = true;
            }
        }
    }

    pub fn tier(&self, month: usize, tier: usize) -> i64 {
        self.values[month * self.width() + FIELDS + tier]
    }

    pub fn add_tier(&mut self, month: usize, tier: usize, amount: i64) {
        let w = self.width();
        self.add_at(month * w + FIELDS + tier, amount);
    }

    /// Adds another part of the same run (customers counted elsewhere).
    pub fn absorb(&mut self, other: &RunTally) {
        self.overflowed |= other.overflowed;
        for (at, &b) in other.values.iter().enumerate() {
            self.add_at(at, b);
        }
        for (&key, &used) in &other.budgets_used {
            let sum = self.budgets_used.entry(key).or_default();
            *sum = sum.saturating_add(used);
        }
    }

    /// A flow summed over all months.
    pub fn total(&self, field: Field) -> i64 {
        (0..self.months).fold(0i64, |sum, m| sum.saturating_add(self.get(m, field)))
    }
}

impl RunTally {
    /// Counts an engine effect in month `m`: the flow it is, and the
    /// reward it issues, uses or expires.
    pub fn count_effect(&mut self, program: &Program, effect: &Effect, m: usize) {
        self.count_reward(program, effect, m);
        self.count_flow(effect, m);
    }

    /// Counts a reward issued, used or expired, and its value where it has
    /// one.
    fn count_reward(&mut self, program: &Program, effect: &Effect, m: usize) {
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
                self.add(m, Field::RewardsIssued, 1);
                self.add(m, Field::RewardsIssuedValue, reward.map_or(0, value));
            }
            EffectKind::RewardUsed => self.add(m, Field::RewardsUsedCount, 1),
            // A refunded visit's reward: as if it had not been issued.
            EffectKind::RewardClawedBack => {
                if let Cause::Reward(reward) = effect.cause {
                    self.add(m, Field::RewardsIssued, -1);
                    self.add(m, Field::RewardsIssuedValue, -value(reward));
                }
            }
            EffectKind::RewardExpired => {
                self.add(m, Field::RewardsExpired, 1);
                if let Cause::Reward(reward) = effect.cause {
                    self.add(m, Field::RewardsExpiredValue, value(reward));
                }
            }
            _ => {}
        }
    }

    /// Adds an effect to the month's flows.
    fn count_flow(&mut self, effect: &Effect, m: usize) {
        let (field, amount) = match effect.kind {
            EffectKind::PointsEarned | EffectKind::PointsPending => {
                (Field::PointsIssued, effect.points)
            }
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
            EffectKind::RedemptionMargin => (Field::RedemptionMargin, effect.value),
            EffectKind::FeeCharged => (Field::Fees, effect.value),
            EffectKind::FeeCredited => (Field::Fees, -effect.value),
            EffectKind::ClawbackShortfall => (Field::ClawbackShortfall, effect.value),
            _ => return,
        };
        self.add(m, field, amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14: a count past `i64` used to wrap (a negative
    /// `reward_money_issued` of −2.0e16); it marks the run instead, and
    /// `simulate` refuses to report it.
    #[test]
    fn a_count_past_i64_marks_the_run_and_never_wraps() {
        let mut a = RunTally::new(0, 1, 0);
        a.add(0, Field::RewardMoneyIssued, i64::MAX - 1);
        assert!(!a.overflowed);
        a.add(0, Field::RewardMoneyIssued, 5);
        assert!(a.overflowed);
        assert_eq!(a.get(0, Field::RewardMoneyIssued), i64::MAX);
        let mut b = RunTally::new(0, 1, 0);
        b.add(0, Field::RewardMoneyIssued, i64::MAX);
        let mut sum = RunTally::new(0, 1, 0);
        sum.absorb(&b);
        assert!(!sum.overflowed);
        sum.absorb(&b);
        assert!(sum.overflowed);
        assert_eq!(sum.get(0, Field::RewardMoneyIssued), i64::MAX);
    }
}

//! How the member's state moves their purchase rate: the `[behavior]`
//! lifts, which hold only while the program gives the member something
//! they can value.

use crate::engine::Member;
use crate::program::{Program, Scope};
use crate::sim::model::Model;
use crate::sim::program::Customer;
use crate::time::Time;

/// Whether the program gives anything a member can value (points, reward
/// money, rewards, discounts, perks, donations): at the top level, in
/// each tier's block, in each membership's.
pub(super) struct Gives {
    program: bool,
    tiers: Vec<bool>,
    memberships: Vec<bool>,
}

impl Gives {
    pub(super) fn of(program: &Program) -> Gives {
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

impl Model<'_> {
    /// The purchase-rate multiplier the member's state brings.
    pub(super) fn lift(&self, customer: &Customer, member: &Member, day: f64, at: Time) -> f64 {
        if !customer.enrolled || !self.gives.to(member) {
            return 1.0;
        }
        let b = &self.scenario.behavior;
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
            .is_some_and(|lot| lot.expires_at <= at.add_days(30))
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
                let have = member
                    .counters
                    .measure(measure, window, &self.program.calendar, at);
                (have as f64 / amount.max(1) as f64).clamp(0.0, 1.0)
            })
    }
}

//! Scheduled work: what time brings due for a member. Expiry of points
//! and rewards, fees at renewal and at the end of a trial, recurring
//! rewards and yearly payouts, birthdays, conversions on the first of the
//! month, and tier reviews at the end of a qualification period.
//!
//! Work runs in time order; several things due at the same moment run in
//! the order of `run_due`: expiry first (what has expired cannot be
//! spent by anything due at the same time), then memberships, tiers,
//! recurring rules, birthdays and conversions.

use super::apply::Apply;
use super::effect::{Cause, EffectKind, Moved};
use super::member::{Member, MembershipState};
use crate::program::{Action, KeptFor, PointsExpiry, Program, Qualification, Scope, Trigger};
use crate::time::Time;

/// Enough for years of monthly work on a member who was idle; a guard
/// against a schedule that fails to advance, never reached in practice.
const MAX_STEPS: usize = 100_000;

/// The earliest moment something is due for the member.
pub fn next_due(program: &Program, m: &Member) -> Time {
    let points = match program.points_expiry {
        Some(
            PointsExpiry::AfterEarned(_)
            | PointsExpiry::AtEndOf { .. }
            | PointsExpiry::EachYearOn { .. },
        ) => m.points.next_expiry(),
        Some(PointsExpiry::Inactivity(period)) if m.points.balance > 0 => {
            program.calendar.after(period, m.last_activity)
        }
        _ => Time::NEVER,
    };
    let mut due = points
        .min(m.money.next_expiry())
        .min(
            m.pending
                .iter()
                .map(|p| p.until)
                .min()
                .unwrap_or(Time::NEVER),
        )
        .min(m.next_birthday)
        .min(m.next_conversion)
        .min(m.next_tier_review);
    for reward in &m.rewards {
        due = due.min(reward.expires_at);
    }
    for status in &m.memberships {
        if status.is_active() {
            due = due.min(status.until);
        }
    }
    for &r in &program.scheduled_rules {
        due = due.min(m.rules[r].next_at);
    }
    due
}

impl Apply<'_> {
    /// Runs everything due up to and including `until`, trusting the
    /// member's `due`.
    pub fn catch_up(&mut self, until: Time) {
        for _ in 0..MAX_STEPS {
            let due = self.member.due;
            if due > until {
                break;
            }
            self.scheduled = true;
            self.run_due(due);
            self.scheduled = false;
            self.member.due = next_due(self.program, self.member);
        }
        self.member.counters.roll(&self.program.calendar, until);
    }

    /// After a change: works out when work is next due, and runs what is
    /// due already.
    pub fn settle(&mut self, at: Time) {
        self.member.due = next_due(self.program, self.member);
        self.catch_up(at);
    }

    fn run_due(&mut self, at: Time) {
        let program = self.program;
        self.member.counters.roll(&program.calendar, at);
        self.release_pending(at);

        let expired = match program.points_expiry {
            Some(
                PointsExpiry::AfterEarned(_)
                | PointsExpiry::AtEndOf { .. }
                | PointsExpiry::EachYearOn { .. },
            ) => self.member.points.expire(at),
            Some(PointsExpiry::Inactivity(period))
                if program.calendar.after(period, self.member.last_activity) <= at =>
            {
                self.member.points.expire_all()
            }
            _ => 0,
        };
        if expired > 0 {
            self.member.totals.points_expired =
                self.member.totals.points_expired.saturating_add(expired);
            self.effect(
                at,
                EffectKind::PointsExpired,
                Moved::points(-expired),
                Cause::Expiry,
            );
        }
        let expired = self.member.money.expire(at);
        if expired > 0 {
            self.member.totals.money_expired =
                self.member.totals.money_expired.saturating_add(expired);
            self.effect(
                at,
                EffectKind::RewardMoneyExpired,
                Moved::money(-expired),
                Cause::Expiry,
            );
        }
        while let Some(r) = self.member.rewards.iter().position(|h| h.expires_at <= at) {
            let held = self.member.rewards.remove(r);
            self.effect(
                at,
                EffectKind::RewardExpired,
                Moved::NONE,
                Cause::Reward(held.reward),
            );
        }

        for (plan, membership) in program.memberships.iter().enumerate() {
            let status = self.member.memberships[plan];
            if !status.is_active() || status.until > at {
                continue;
            }
            let plan = plan as u16;
            if status.cancelled {
                self.end_membership(at, plan);
                continue;
            }
            let Some((fee, kind)) = membership.fee else {
                continue;
            };
            let status = &mut self.member.memberships[usize::from(plan)];
            status.state = MembershipState::Active;
            status.until = kind
                .period()
                .map_or(Time::NEVER, |p| program.calendar.after(p, status.until));
            self.effect(
                at,
                EffectKind::FeeCharged,
                Moved::value(fee),
                Cause::Membership(plan),
            );
        }

        if self.member.next_tier_review <= at {
            self.review_tiers(at);
        }

        for &i in &program.scheduled_rules {
            let rule = &program.rules[i];
            let next_at = self.member.rules[i].next_at;
            if next_at > at {
                continue;
            }
            let next = if rule.paid_out_yearly {
                let accrued = std::mem::take(&mut self.member.rules[i].accrued);
                let cause = Cause::Rule {
                    rule: i as u16,
                    bonuses: 0,
                };
                self.issue_money(at, accrued, cause);
                program
                    .calendar
                    .shift(next_at, |local| local.add_months(12))
            } else {
                match rule.trigger {
                    Trigger::Every(every) if self.member.in_scope(rule.conditions.scope) => {
                        self.give(at, i, false);
                        program.calendar.every_after(every, next_at)
                    }
                    Trigger::FirstDayOf(every) => {
                        self.give(at, i, false);
                        program.calendar.first_day_after(every, at)
                    }
                    // Left the tier or membership: starts again on return.
                    _ => Time::NEVER,
                }
            };
            self.member.rules[i].next_at = next;
        }

        if self.member.next_birthday <= at {
            for (i, rule) in program.rules.iter().enumerate() {
                if rule.trigger == Trigger::Action(Action::Birthday.id()) {
                    self.give(at, i, false);
                }
            }
            let tomorrow = program
                .calendar
                .shift(at, |day| day.start_of_day().add_days(1));
            self.schedule_birthday(tomorrow);
        }

        if self.member.next_conversion <= at {
            self.convert(at, true);
            self.member.next_conversion = self.next_conversion_after(at);
        }
        self.after_change(at);
    }

    pub fn schedule_birthday(&mut self, from: Time) {
        let has_rule = self
            .program
            .rules
            .iter()
            .any(|r| r.trigger == Trigger::Action(Action::Birthday.id()));
        self.member.next_birthday = match self.member.birthday {
            Some((month, day)) if has_rule => self
                .program
                .calendar
                .shift(from, |local| {
                    local.start_of_day().next_anniversary_of(month, day)
                })
                .max(from),
            _ => Time::NEVER,
        };
    }

    pub fn next_conversion_after(&self, at: Time) -> Time {
        self.program
            .conversions
            .iter()
            .filter_map(|c| c.on_first_day_of)
            .map(|every| self.program.calendar.first_day_after(every, at))
            .min()
            .unwrap_or(Time::NEVER)
    }

    /// Which tiers the member holds now, the highest of which is theirs;
    /// rewards for tiers newly reached; when to look again.
    pub fn review_tiers(&mut self, at: Time) {
        let program = self.program;
        if program.tiers.is_empty() {
            return;
        }
        self.member.tiers_stale = false;
        self.member.counters.roll(&program.calendar, at);
        let mut highest = None;
        let mut reached: u64 = 0;
        for (t, tier) in program.tiers.iter().enumerate() {
            let qualifies = match tier.qualification {
                Qualification::None => true,
                Qualification::Attribute(a) => self.member.has_attribute(a),
                Qualification::Threshold {
                    measure,
                    amount,
                    window,
                } => {
                    self.member
                        .counters
                        .measure(measure, window, &program.calendar, at)
                        >= amount
                }
            };
            let status = &mut self.member.tiers[t];
            if qualifies {
                match tier.kept {
                    Some(KeptFor::Period(period)) if status.kept_until <= at => {
                        status.kept_until = program.calendar.after(period, at);
                    }
                    Some(KeptFor::UntilEndOfNextYear) => {
                        let year = program.calendar.local(at).year();
                        let end = program.calendar.midnight(year + 2, 1, 1);
                        status.kept_until = status.kept_until.max(end);
                    }
                    _ => {}
                }
            }
            let held = qualifies || status.kept_until > at;
            if held && !status.held {
                status.reached_at = at;
                if t < 64 {
                    reached |= 1 << t;
                }
            }
            status.held = held;
            if held {
                highest = Some(t as u16);
            }
        }
        if highest != self.member.tier {
            let from = self.member.tier;
            self.member.tier = highest;
            self.member.tier_since = at;
            self.effect(
                at,
                EffectKind::TierChanged,
                Moved::NONE,
                Cause::Tier { from, to: highest },
            );
            if let Some(t) = highest {
                self.start_scope(at, Scope::Tier(t));
            }
        }
        for (i, rule) in program.rules.iter().enumerate() {
            if let (Trigger::ReachingTier, Scope::Tier(t)) = (rule.trigger, rule.conditions.scope)
                && t < 64
                && reached & (1 << t) != 0
            {
                self.give(at, i, true);
            }
        }
        let mut next = Time::NEVER;
        if program.tiers_by_calendar_year {
            next = next.min(program.calendar.shift(at, Time::next_year_start));
        }
        if program.rolling_months > 0 {
            next = next.min(program.calendar.shift(at, Time::next_month_start));
        }
        for status in &self.member.tiers {
            if status.kept_until > at {
                next = next.min(status.kept_until);
            }
        }
        self.member.next_tier_review = next;
    }
}

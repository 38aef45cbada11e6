//! Applying things to one member: the building blocks (conditions,
//! limits, issuing points and rewards) and every event but purchases and
//! refunds, which have their own file.

use super::budgets::Budgets;
use super::effect::{Cause, Effect, EffectKind, MemberIndex, Moved};
use super::event::{Purchase, Reject};
use super::member::{HeldReward, Member, MembershipState, PendingPoints, RecentUse, Tally};
use crate::decimal::percent_of;
use crate::program::TierId;
use crate::program::{
    Action, ActionId, Anchor, Benefit, Cap, Cents, CharityId, Conditions, ConversionInto, Fee,
    Limit, MembershipId, NameId, PerkCost, PerkId, Points, PointsExpiry, Program, RewardId,
    RewardValue, Scope, Trigger, mask_has,
};
use crate::time::{Every, Time};

/// One member, the program, and where effects go.
pub struct Apply<'a> {
    pub program: &'a Program,
    pub member: &'a mut Member,
    pub index: MemberIndex,
    pub out: &'a mut Vec<Effect>,
    /// Set while running scheduled work, which effects record.
    pub scheduled: bool,
    /// Set while a purchase earns in a program whose points are pending:
    /// the order they wait with ([`super::order_key`], 0 without an id).
    pub pending_order: Option<u64>,
    /// The budgets all members share.
    pub budgets: &'a mut Budgets,
}

/// What a rule's limits still allow.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    pub times: bool,
    pub points: Points,
    pub money: Cents,
}

impl Apply<'_> {
    pub fn effect(&mut self, at: Time, kind: EffectKind, moved: Moved, cause: Cause) {
        let Moved {
            points,
            money,
            value,
        } = moved;
        self.out.push(Effect {
            member: self.index,
            at,
            kind,
            points,
            money,
            value,
            cause,
            scheduled: self.scheduled,
        });
    }

    /// Whether conditions hold for the member now, and for the purchase
    /// if there is one ([`Member::meets`]).
    pub fn matches(&self, c: &Conditions, at: Time, purchase: Option<&Purchase>) -> bool {
        self.member.meets(c, self.program, at, purchase)
    }

    pub fn room(&self, caps: &[Cap], at: Time) -> Room {
        let mut room = Room {
            times: true,
            points: Points::MAX,
            money: Cents::MAX,
        };
        for cap in caps {
            let used = match cap.per {
                _ if cap.total => {
                    let key = self.program.calendar.key(cap.per, at);
                    self.budgets.used(cap, key, at)
                }
                Every::Order => 0,
                Every::Last(length) => {
                    let since = self.program.calendar.shift(at, |now| length.before(now));
                    (self.member.recent.iter())
                        .filter(|u| u.slot as usize == cap.slot && u.at > since)
                        .fold(0i64, |sum, u| sum.saturating_add(u.amount))
                }
                per => {
                    let used = &self.member.caps[cap.slot];
                    if used.period == self.cap_period(cap, per, at) {
                        used.used
                    } else {
                        0
                    }
                }
            };
            match cap.limit {
                Limit::Times(n) => room.times &= used < n,
                Limit::Points(n) => room.points = room.points.min((n - used).max(0)),
                Limit::Money(n) => room.money = room.money.min((n - used).max(0)),
            }
        }
        room
    }

    /// Which period a limit counted by period is in at `at`.
    fn cap_period(&self, cap: &Cap, per: Every, at: Time) -> i64 {
        let calendar = &self.program.calendar;
        match per {
            Every::MembershipYear => {
                let joined = self.member.anchor(cap.scope, Anchor::Joining);
                calendar.membership_year(joined, at)
            }
            per => calendar.key(per, at),
        }
    }

    pub fn use_caps(&mut self, caps: &[Cap], at: Time, points: Points, money: Cents) {
        for cap in caps {
            let amount = match cap.limit {
                Limit::Times(_) => 1,
                Limit::Points(_) => points,
                Limit::Money(_) => money,
            };
            match cap.per {
                _ if cap.total => {
                    let key = self.program.calendar.key(cap.per, at);
                    self.budgets.count(cap, key, at, amount);
                }
                Every::Last(length) => {
                    // Uses that have left the window are dropped, so a
                    // member keeps only those that still count.
                    let since = self.program.calendar.shift(at, |now| length.before(now));
                    let slot = cap.slot as u32;
                    (self.member.recent).retain(|u| u.slot != slot || u.at > since);
                    self.member.recent.push(RecentUse { slot, at, amount });
                }
                per => {
                    let key = self.cap_period(cap, per, at);
                    let used = &mut self.member.caps[cap.slot];
                    if used.period != key {
                        used.period = key;
                        used.used = 0;
                    }
                    used.used = used.used.saturating_add(amount);
                }
            }
        }
    }

    fn points_expire_at(&self, at: Time) -> Time {
        let calendar = &self.program.calendar;
        match self.program.points_expiry {
            Some(PointsExpiry::AfterEarned(period)) => {
                calendar.shift(at, |day| period.after(day.start_of_day()).add_days(1))
            }
            Some(PointsExpiry::AtEndOf { after, every }) => calendar.shift(at, |day| {
                every.first_day_after(after.after(day.start_of_day()))
            }),
            Some(PointsExpiry::EachYearOn { month, day }) => calendar.shift(at, |now| {
                (now.start_of_day().next_anniversary_of(month, day)).add_days(1)
            }),
            _ => Time::NEVER,
        }
    }

    fn rewards_expire_at(&self, at: Time) -> Time {
        self.program.reward_expiry.map_or(Time::NEVER, |period| {
            (self.program.calendar).shift(at, |day| period.after(day.start_of_day()).add_days(1))
        })
    }

    /// Adds earned points: to the balance, the totals and the tier
    /// counters.
    pub fn earn_points(&mut self, at: Time, points: Points, cause: Cause) {
        if points <= 0 {
            return;
        }
        self.member.totals.points_issued = self.member.totals.points_issued.saturating_add(points);
        self.member.count(
            self.program,
            at,
            at,
            Tally {
                points,
                ..Tally::default()
            },
        );
        let kind = if let (Some(order), Some(period)) =
            (self.pending_order, self.program.points_pending)
        {
            let until = self.program.calendar.after(period, at);
            (self.member.pending).push(PendingPoints {
                until,
                points,
                order,
            });
            EffectKind::PointsPending
        } else {
            let expires_at = self.points_expire_at(at);
            self.member.points.add(at, expires_at, points);
            EffectKind::PointsEarned
        };
        self.effect(at, kind, Moved::points(points), cause);
    }

    /// Pending points whose time has come join the balance, and expire
    /// counted from then.
    pub fn release_pending(&mut self, at: Time) {
        while let Some(i) = self.member.pending.iter().position(|p| p.until <= at) {
            let pending = self.member.pending.remove(i);
            let expires_at = self.points_expire_at(pending.until);
            (self.member.points).add(pending.until, expires_at, pending.points);
            self.effect(
                pending.until,
                EffectKind::PointsAvailable,
                Moved::NONE,
                Cause::None,
            );
        }
    }

    pub fn issue_money(&mut self, at: Time, cents: Cents, cause: Cause) {
        if cents <= 0 {
            return;
        }
        let expires_at = self.rewards_expire_at(at);
        self.member.money.add(at, expires_at, cents);
        self.member.totals.money_issued = self.member.totals.money_issued.saturating_add(cents);
        self.effect(
            at,
            EffectKind::RewardMoneyIssued,
            Moved::money(cents),
            cause,
        );
    }

    pub fn issue_reward(&mut self, at: Time, reward: RewardId, cause: Cause) {
        let expires_at = self.rewards_expire_at(at);
        self.member.rewards.push(HeldReward {
            reward,
            issued_at: at,
            expires_at,
        });
        // Its value changes hands when it is used, not now.
        self.effect(at, EffectKind::RewardIssued, Moved::NONE, cause);
    }

    /// Gives what an event-less or action rule gives, within its limits.
    /// `force` skips the scope test, for tier rewards given to a member
    /// who passed through the tier on the way to a higher one.
    pub fn give(&mut self, at: Time, rule: usize, force: bool) {
        let program = self.program;
        let r = &program.rules[rule];
        if !force && !self.matches(&r.conditions, at, None) {
            return;
        }
        let room = self.room(&r.caps, at);
        if !room.times {
            return;
        }
        let cause = Cause::Rule {
            rule: rule as u16,
            bonuses: 0,
        };
        match r.benefit {
            Benefit::Points(points) => {
                let points = points.min(room.points);
                if points > 0 {
                    self.use_caps(&r.caps, at, points, 0);
                    self.earn_points(at, points, cause);
                }
            }
            Benefit::Money(cents) => {
                let cents = cents.min(room.money);
                if cents > 0 {
                    self.use_caps(&r.caps, at, 0, cents);
                    self.issue_money(at, cents, cause);
                }
            }
            Benefit::Reward(reward) => {
                self.use_caps(&r.caps, at, 0, 0);
                self.issue_reward(at, reward, cause);
            }
            Benefit::Donation { cents, .. } => {
                self.use_caps(&r.caps, at, 0, cents);
                self.effect(at, EffectKind::CharityDonation, Moved::value(cents), cause);
            }
            Benefit::PerkCost { perk, cents } => {
                self.effect(
                    at,
                    EffectKind::PerkUsed,
                    Moved::value(cents),
                    Cause::Perk(perk),
                );
            }
            // A share of spend needs a purchase.
            Benefit::Back(_) => {}
        }
    }

    /// Rules triggered by an action (built in or declared), and punch
    /// cards that count it.
    pub fn action(&mut self, at: Time, action: ActionId) {
        let _ = self.action_rules(at, action, None);
        self.member.last_activity = at;
        self.after_change(at);
    }

    /// Returns the punch cards it punched, as bits by rule (the first
    /// 64), so that a refunded visit can take its punch back.
    pub fn action_rules(&mut self, at: Time, action: ActionId, purchase: Option<&Purchase>) -> u64 {
        let program = self.program;
        let mut punched = 0;
        for (i, rule) in program.rules.iter().enumerate() {
            match rule.trigger {
                Trigger::Action(a)
                    if a == action
                        && purchase.is_none_or(|p| self.matches(&rule.conditions, at, Some(p))) =>
                {
                    self.give(at, i, purchase.is_some());
                }
                Trigger::EveryNth { nth, action: a } if a == action => {
                    if !self.matches(&rule.conditions, at, purchase) {
                        continue;
                    }
                    let status = &mut self.member.rules[i];
                    status.counter += 1;
                    if i < 64 {
                        punched |= 1 << i;
                    }
                    if status.counter >= i64::from(nth) {
                        status.counter = 0;
                        self.give(at, i, true);
                    }
                }
                _ => {}
            }
        }
        punched
    }

    /// After anything that earns: tiers may change, points may convert.
    pub fn after_change(&mut self, at: Time) {
        if self.member.tiers_stale {
            self.review_tiers(at);
        }
        self.convert(at, false);
    }

    /// `every N points become ...`: those without a date at once, the
    /// others when `on_schedule` (on the first day of the month or year).
    pub fn convert(&mut self, at: Time, on_schedule: bool) {
        let program = self.program;
        for (c, conversion) in program.conversions.iter().enumerate() {
            let due = match conversion.on_first_day_of {
                None => !on_schedule,
                Some(every) => {
                    on_schedule && (program.calendar).first_day_after(every, at.add_days(-1)) == at
                }
            };
            if !due || conversion.points <= 0 {
                continue;
            }
            let times = self.member.points.balance / conversion.points;
            if times == 0 {
                continue;
            }
            let points = times * conversion.points;
            let cause = Cause::Conversion(c as u16);
            // Within the balance: `times` was worked out from it.
            let _ = self.spend_points(at, points, 0, cause);
            match conversion.into {
                ConversionInto::Money(cents) => {
                    self.issue_money(at, cents * times, cause);
                }
                ConversionInto::Reward(reward) => {
                    for _ in 0..times {
                        self.issue_reward(at, reward, cause);
                    }
                }
            }
        }
    }

    pub fn enroll(
        &mut self,
        at: Time,
        birthday: Option<(u32, u32)>,
        attributes: &[(NameId, bool)],
    ) {
        self.effect(at, EffectKind::Enrolled, Moved::NONE, Cause::None);
        self.set_attributes(attributes);
        self.member.birthday = birthday;
        self.schedule_birthday(at);
        self.start_scope(at, Scope::Program);
        if self
            .program
            .conversions
            .iter()
            .any(|c| c.on_first_day_of.is_some())
        {
            self.member.next_conversion = self.next_conversion_after(at);
        }
        self.review_tiers(at);
        let _ = self.action_rules(at, Action::Joining.id(), None);
        self.after_change(at);
    }

    fn set_attributes(&mut self, attributes: &[(NameId, bool)]) {
        self.member.tiers_stale |= !attributes.is_empty();
        for &(id, value) in attributes {
            if id < 64 {
                if value {
                    self.member.attributes |= 1 << id;
                } else {
                    self.member.attributes &= !(1 << id);
                }
            }
        }
    }

    pub fn set(
        &mut self,
        at: Time,
        birthday: Option<(u32, u32)>,
        attributes: &[(NameId, bool)],
        tier: Option<(TierId, Time)>,
    ) {
        self.set_attributes(attributes);
        if birthday.is_some() {
            self.member.birthday = birthday;
            self.schedule_birthday(at);
        }
        // A tier granted by hand is held as a tier kept after qualifying
        // is: the review holds it while `kept_until` is ahead.
        if let Some((t, until)) = tier
            && let Some(status) = self.member.tiers.get_mut(usize::from(t))
        {
            status.kept_until = status.kept_until.max(until);
            self.member.tiers_stale = true;
        }
        self.effect(at, EffectKind::AttributesChanged, Moved::NONE, Cause::None);
        self.after_change(at);
    }

    /// At a partner that leaves the program a margin on redemptions, the
    /// part of a redeemed value the program keeps; the partner is paid
    /// the rest.
    pub fn keep_margin(&mut self, at: Time, partner: Option<NameId>, value: Cents) {
        let Some(partner) = partner.filter(|&id| usize::from(id) < self.program.partners.len())
        else {
            return;
        };
        let kept = percent_of(value, self.program.partners[usize::from(partner)].margin);
        if kept > 0 {
            let cause = Cause::Partner {
                partner,
                refund: false,
            };
            self.effect(at, EffectKind::RedemptionMargin, Moved::value(kept), cause);
        }
    }

    /// A reward worth `value` used, at a partner or at the program's own.
    fn use_reward(&mut self, at: Time, reward: RewardId, value: Cents, partner: Option<NameId>) {
        let cause = Cause::Reward(reward);
        self.effect(at, EffectKind::RewardUsed, Moved::value(value), cause);
        self.keep_margin(at, partner, value);
    }

    pub fn redeem(
        &mut self,
        at: Time,
        reward: RewardId,
        partner: Option<NameId>,
    ) -> Result<(), Reject> {
        let program = self.program;
        let r = &program.rewards[usize::from(reward)];
        let held = self.member.rewards.iter().position(|h| h.reward == reward);
        // A held reward worth money is used by redeeming it. A share off
        // the next order uses itself on that order, so redeeming one buys
        // another copy when it has a price (the member then holds both),
        // and is refused when it has none.
        let value = match r.value {
            RewardValue::Money(cents) => cents,
            RewardValue::PercentOff(_) if held.is_some() && r.cost.is_none() => {
                return Err(Reject::RewardAppliesItself(r.name.clone()));
            }
            RewardValue::PercentOff(_) => 0,
        };
        if let (Some(h), RewardValue::Money(_)) = (held, r.value) {
            self.member.rewards.remove(h);
            self.use_reward(at, reward, value, partner);
            self.member.last_activity = at;
            return Ok(());
        }
        let Some(cost) = r.cost else {
            return Err(Reject::RewardNotHeld(r.name.clone()));
        };
        if !mask_has(r.conditions.tiers, self.member.tier)
            || !self.member.in_scope(r.conditions.scope)
        {
            let tiers = program
                .tiers
                .iter()
                .enumerate()
                .filter(|(t, _)| mask_has(r.conditions.tiers, Some(*t as u16)))
                .map(|(_, t)| format!("\"{}\"", t.name))
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(Reject::RewardNotForTier {
                reward: r.name.clone(),
                tiers,
            });
        }
        // A limit on the reward counts redemptions, the points they cost
        // and the money they are worth.
        let fits = |room: Room| room.times && cost <= room.points && value <= room.money;
        if !fits(self.room(&r.caps, at)) {
            // Which limit stops it: the member's own, or what all
            // members share.
            let own: Vec<Cap> = r.caps.iter().filter(|c| !c.total).copied().collect();
            return Err(match fits(self.room(&own, at)) {
                true => Reject::RewardRunOut(r.name.clone()),
                false => Reject::RewardLimitReached(r.name.clone()),
            });
        }
        self.spend_points(at, cost, 0, Cause::Reward(reward))?;
        self.use_caps(&r.caps, at, cost, value);
        match r.value {
            RewardValue::Money(_) => self.use_reward(at, reward, value, partner),
            // A share off the next order is held until that order.
            RewardValue::PercentOff(_) => self.issue_reward(at, reward, Cause::Reward(reward)),
        }
        self.member.last_activity = at;
        Ok(())
    }

    pub fn donate(&mut self, at: Time, charity: CharityId, points: Points) -> Result<(), Reject> {
        let value = self.program.donation_value(charity, points);
        self.spend_points(at, points, value, Cause::Charity(charity))?;
        self.member.last_activity = at;
        Ok(())
    }

    /// Takes points from the balance, for a reward, a conversion or a
    /// charity (`value`: what a donation is worth): refused whole when
    /// the balance is short; counted in the member's totals, with one
    /// effect. Points leave a balance only here (and by expiry and
    /// clawback, which take what there is).
    fn spend_points(
        &mut self,
        at: Time,
        points: Points,
        value: Cents,
        cause: Cause,
    ) -> Result<(), Reject> {
        let balance = self.member.points.balance;
        if balance < points {
            return Err(Reject::InsufficientPoints {
                needed: points,
                balance,
            });
        }
        self.member.points.take(points);
        let totals = &mut self.member.totals;
        let (kind, total) = match cause {
            Cause::Charity(_) => (EffectKind::PointsDonated, &mut totals.points_donated),
            _ => (EffectKind::PointsRedeemed, &mut totals.points_redeemed),
        };
        *total = total.saturating_add(points);
        let moved = Moved {
            points: -points,
            value,
            ..Moved::NONE
        };
        self.effect(at, kind, moved, cause);
        Ok(())
    }

    pub fn subscribe(&mut self, at: Time, plan: MembershipId) -> Result<(), Reject> {
        let program = self.program;
        let membership = &program.memberships[usize::from(plan)];
        let status = &mut self.member.memberships[usize::from(plan)];
        if status.is_active() {
            if status.cancelled {
                // Changed their mind before the period ended: the plan
                // simply renews again.
                status.cancelled = false;
                self.effect(
                    at,
                    EffectKind::MembershipStarted,
                    Moved::NONE,
                    Cause::Membership(plan),
                );
                return Ok(());
            }
            return Err(Reject::AlreadySubscribed(membership.name.clone()));
        }
        // A plan it replaces ends now; what is left of its period's fee
        // is credited.
        for other in crate::program::mask_ids(membership.replaces) {
            let held = self.member.memberships[other];
            if !held.is_active() {
                continue;
            }
            let other = other as MembershipId;
            let credit = match (held.state, program.memberships[usize::from(other)].fee) {
                (MembershipState::Active, Some((fee, kind))) => kind.period().map_or(0, |period| {
                    let start = program.calendar.shift(held.until, |end| period.before(end));
                    let (paid, left) = (held.until.0 - start.0, held.until.0 - at.0);
                    if paid > 0 && left > 0 {
                        crate::decimal::saturate(
                            i128::from(fee) * i128::from(left) / i128::from(paid),
                        )
                    } else {
                        0
                    }
                }),
                _ => 0,
            };
            self.end_membership(at, other);
            if credit > 0 {
                self.effect(
                    at,
                    EffectKind::FeeCredited,
                    Moved::value(credit),
                    Cause::Membership(other),
                );
            }
        }
        let status = &mut self.member.memberships[usize::from(plan)];
        status.since = at;
        status.cancelled = false;
        let cause = Cause::Membership(plan);
        match (membership.trial, membership.fee) {
            (Some(trial), Some(_)) if !status.trial_used => {
                status.trial_used = true;
                status.state = MembershipState::Trial;
                status.until = self.program.calendar.after(trial, at);
                self.effect(at, EffectKind::TrialStarted, Moved::NONE, cause);
            }
            (_, Some((fee, kind))) => {
                status.state = MembershipState::Active;
                status.until = kind
                    .period()
                    .map_or(Time::NEVER, |p| self.program.calendar.after(p, at));
                self.effect(at, EffectKind::MembershipStarted, Moved::NONE, cause);
                self.effect(at, EffectKind::FeeCharged, Moved::value(fee), cause);
            }
            (_, None) => {
                status.state = MembershipState::Active;
                status.until = Time::NEVER;
                self.effect(at, EffectKind::MembershipStarted, Moved::NONE, cause);
            }
        }
        self.start_scope(at, Scope::Membership(plan));
        self.membership_joining(at, plan);
        self.after_change(at);
        Ok(())
    }

    /// `for joining` rules inside a membership mean subscribing.
    fn membership_joining(&mut self, at: Time, plan: MembershipId) {
        let program = self.program;
        for (i, rule) in program.rules.iter().enumerate() {
            if rule.trigger == Trigger::Action(Action::Joining.id())
                && rule.conditions.scope == Scope::Membership(plan)
            {
                self.give(at, i, false);
            }
        }
    }

    pub fn cancel(&mut self, at: Time, plan: MembershipId) -> Result<(), Reject> {
        let program = self.program;
        let membership = &program.memberships[usize::from(plan)];
        let status = &mut self.member.memberships[usize::from(plan)];
        if !status.is_active() || status.cancelled {
            return Err(Reject::NotSubscribed(membership.name.clone()));
        }
        let ends_now =
            status.until == Time::NEVER || matches!(membership.fee, Some((_, Fee::Once)));
        if ends_now {
            self.end_membership(at, plan);
        } else {
            status.cancelled = true;
            self.effect(
                at,
                EffectKind::MembershipCancelled,
                Moved::NONE,
                Cause::Membership(plan),
            );
        }
        Ok(())
    }

    pub fn end_membership(&mut self, at: Time, plan: MembershipId) {
        let status = &mut self.member.memberships[usize::from(plan)];
        status.state = MembershipState::None;
        status.until = Time::NEVER;
        status.cancelled = false;
        self.effect(
            at,
            EffectKind::MembershipEnded,
            Moved::NONE,
            Cause::Membership(plan),
        );
    }

    pub fn use_perk(&mut self, at: Time, perk: PerkId) -> Result<(), Reject> {
        let program = self.program;
        let name = &program.perks[usize::from(perk)].name;
        // The same perk may stand in several blocks: any one the member
        // has will do.
        let available = program
            .perks
            .iter()
            .enumerate()
            .find(|(_, p)| &p.name == name && self.matches(&p.conditions, at, None));
        let Some((p, found)) = available else {
            return Err(Reject::PerkNotAvailable(name.clone()));
        };
        let cost = match found.cost {
            Some((cents, PerkCost::Use)) => cents,
            _ => 0,
        };
        self.effect(
            at,
            EffectKind::PerkUsed,
            Moved::value(cost),
            Cause::Perk(p as PerkId),
        );
        Ok(())
    }

    /// Entering a scope (enrolling, subscribing, reaching a tier) starts
    /// its recurring rules: `every month` pays now and monthly after.
    pub fn start_scope(&mut self, at: Time, scope: Scope) {
        let program = self.program;
        for (i, rule) in program.rules.iter().enumerate() {
            if rule.conditions.scope != scope {
                continue;
            }
            let status = &mut self.member.rules[i];
            if rule.paid_out_yearly {
                if status.next_at == Time::NEVER {
                    status.next_at = program.calendar.shift(at, |local| local.add_months(12));
                }
            } else {
                match rule.trigger {
                    Trigger::Every(_) => status.next_at = at,
                    Trigger::FirstDayOf(every) => {
                        status.next_at = program.calendar.first_day_after(every, at)
                    }
                    _ => {}
                }
            }
        }
    }
}

//! A member's state as a designer reads it: balance and what it is
//! worth, tier and until when, memberships, punch cards, rewards held,
//! points expiring soon, and the running totals. Used by `loyalty member`
//! and by the golden tests.

use serde_json::{Value, json};

use super::{Member, MembershipState};
use crate::program::{KeptFor, Measure, PointsExpiry, Program, Qualification, Trigger, Window};
use crate::time::Time;

/// Each tier reached by a threshold, with what counts for it so far, in
/// its window, and what is still to go: what a member view and a quote
/// show as progress.
pub fn tier_progress(program: &Program, m: &Member, clock: Time) -> Vec<Value> {
    program
        .tiers
        .iter()
        .filter_map(|tier| match tier.qualification {
            Qualification::Threshold {
                measure,
                amount,
                window,
            } => {
                let so_far = m
                    .counters
                    .measure(measure, window, &program.calendar, clock);
                let to_go = amount.saturating_sub(so_far).max(0);
                let (name, shown): (&str, &dyn Fn(i64) -> Value) = match measure {
                    Measure::Spend => ("spend", &|cents| json!(program.money(cents))),
                    Measure::PointsEarned => ("points_earned", &|n| json!(n)),
                    Measure::Visits => ("visits", &|n| json!(n)),
                    Measure::Nights => ("nights", &|n| json!(n)),
                };
                Some(json!({
                    "tier": tier.name,
                    "measure": name,
                    "needed": shown(amount),
                    "so_far": shown(so_far),
                    "to_go": shown(to_go),
                    "reached": to_go == 0,
                }))
            }
            _ => None,
        })
        .collect()
}

/// How far ahead "expiring soon" looks.
const SOON_DAYS: i64 = 90;

/// Until when the member's tier lasts without anything more happening.
fn tier_until(program: &Program, member: &Member, clock: Time) -> Option<Time> {
    let t = member.tier?;
    let status = &member.tiers[usize::from(t)];
    let tier = &program.tiers[usize::from(t)];
    let by_period = match tier.qualification {
        Qualification::Threshold {
            window: Window::CalendarYear,
            ..
        } => Some(program.calendar.shift(clock, Time::next_year_start)),
        _ => None,
    };
    let kept = (status.kept_until > clock).then_some(status.kept_until);
    match (kept, by_period, tier.kept) {
        (Some(kept), _, Some(KeptFor::UntilEndOfNextYear | KeptFor::Period(_))) => Some(kept),
        (_, by_period, _) => by_period,
    }
}

pub fn summary(program: &Program, m: &Member, clock: Time) -> Value {
    let tier = m.tier.map(|t| program.tiers[usize::from(t)].name.clone());
    // The last moment of status is the day before it ends.
    let calendar = &program.calendar;
    let until = tier_until(program, m, clock)
        .map(|t| calendar.show(calendar.shift(t, |day| day.add_days(-1))));
    let memberships: Vec<Value> = program
        .memberships
        .iter()
        .zip(&m.memberships)
        .filter(|(_, s)| s.is_active())
        .map(|(plan, s)| {
            let state = match (s.state, s.cancelled) {
                (MembershipState::Trial, false) => "free trial",
                (_, true) => "cancelled",
                _ => "active",
            };
            json!({
                "plan": plan.name,
                "state": state,
                "since": calendar.show(s.since),
                "until": (s.until != Time::NEVER).then(|| calendar.show(s.until)),
            })
        })
        .collect();
    let punch_cards: Vec<Value> = program
        .rules
        .iter()
        .zip(&m.rules)
        .filter_map(|(rule, status)| match rule.trigger {
            Trigger::EveryNth { nth, .. } => Some(json!({
                "rule": rule.text,
                "stamps": status.counter,
                "of": nth,
            })),
            _ => None,
        })
        .collect();
    let soon = clock.add_days(SOON_DAYS);
    let expiring: Vec<Value> = match program.points_expiry {
        Some(PointsExpiry::Inactivity(period)) if m.points.balance > 0 => {
            let at = calendar.after(period, m.last_activity);
            if at <= soon {
                vec![
                    json!({"points": m.points.balance, "on": calendar.show(at), "unless_active": true}),
                ]
            } else {
                Vec::new()
            }
        }
        _ => m
            .points
            .lots
            .iter()
            .filter(|lot| lot.expires_at <= soon)
            .map(|lot| json!({"points": lot.amount, "on": calendar.show(lot.expires_at)}))
            .collect(),
    };
    let rewards: Vec<Value> = m
        .rewards
        .iter()
        .map(|held| {
            json!({
                "reward": program.rewards[usize::from(held.reward)].name,
                "issued": calendar.show(held.issued_at),
                "expires": (held.expires_at != Time::NEVER).then(|| calendar.show(held.expires_at)),
            })
        })
        .collect();
    let t = &m.totals;
    json!({
        "member": m.id,
        "enrolled": calendar.show(m.enrolled_at),
        "as_of": calendar.show(clock),
        "points": m.points.balance,
        "pending_points": m.pending_points(),
        "pending": m.pending.iter().map(|p| json!({"points": p.points, "available": calendar.show(p.until)})).collect::<Vec<_>>(),
        "points_name": program.points_name,
        "points_value": program.point_value.map(|_| program.money(program.points_value(m.points.balance))),
        "reward_money": program.money(m.money.balance),
        "tier": tier,
        "tier_since": m.tier.map(|_| calendar.show(m.tier_since)),
        "tier_until": until,
        "tier_progress": tier_progress(program, m, clock),
        "spend_this_year": program.money(m.counters.measure(Measure::Spend, Window::CalendarYear, &program.calendar, clock)),
        "points_earned_this_year": m.counters.measure(Measure::PointsEarned, Window::CalendarYear, &program.calendar, clock),
        "memberships": memberships,
        "punch_cards": punch_cards,
        "rewards_held": rewards,
        "points_expiring_soon": expiring,
        "totals": {
            "points_issued": t.points_issued,
            "points_redeemed": t.points_redeemed,
            "points_expired": t.points_expired,
            "points_donated": t.points_donated,
            "points_clawed_back": t.points_clawed_back,
            "reward_money_issued": program.money(t.money_issued),
            "reward_money_spent": program.money(t.money_spent),
            "reward_money_expired": program.money(t.money_expired),
            "reward_money_clawed_back": program.money(t.money_clawed_back),
        },
    })
}

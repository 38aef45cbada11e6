//! Effects: every change an event or scheduled work makes, with the rule
//! of the program that caused it. They are plain data (ids, no strings)
//! so that producing them costs nothing; `describe` writes the reason in
//! words when they are written out.

use serde::Serialize;

use crate::program::{
    Benefit, CharityId, ConversionInto, MembershipId, PerkId, Program, RewardId, TierId,
};
use crate::time::Time;

/// A member's position in the engine's table.
pub type MemberIndex = u32;

/// What an effect moves, each in its own unit: points (signed: earned
/// is positive, spent or lost negative), reward money in cents (signed
/// the same way), and the value of what was given or paid in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub points: i64,
    pub money: i64,
    pub value: i64,
}

impl Moved {
    pub const NONE: Moved = Moved {
        points: 0,
        money: 0,
        value: 0,
    };

    pub const fn points(points: i64) -> Moved {
        Moved {
            points,
            ..Moved::NONE
        }
    }

    pub const fn money(money: i64) -> Moved {
        Moved {
            money,
            ..Moved::NONE
        }
    }

    pub const fn value(value: i64) -> Moved {
        Moved {
            value,
            ..Moved::NONE
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effect {
    pub member: MemberIndex,
    pub at: Time,
    pub kind: EffectKind,
    /// Change to the member's points balance.
    pub points: i64,
    /// Change to the member's reward money, in cents.
    pub money: i64,
    /// Money that changes hands, in cents: a fee the program receives, a
    /// reward's or discount's value, a perk's cost, a donation, what a
    /// partner funds.
    pub value: i64,
    pub cause: Cause,
    /// Brought due by time passing rather than done by the event.
    pub scheduled: bool,
}

/// Declares the effect kinds once: the enum, the names the ledger's
/// `kind` column and the effects file use, and the reverse look-up.
macro_rules! effect_kinds {
    ($($(#[$doc:meta])* $kind:ident => $name:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum EffectKind {
            $($(#[$doc])* #[serde(rename = $name)] $kind,)*
        }

        impl EffectKind {
            pub fn name(self) -> &'static str {
                match self {
                    $(EffectKind::$kind => $name,)*
                }
            }

            /// Every kind, in the order declared (`kind as usize`).
            pub const ALL: &[EffectKind] = &[$(EffectKind::$kind,)*];

            /// The kind a ledger entry's `kind` column names.
            pub fn from_name(name: &str) -> Option<EffectKind> {
                match name {
                    $($name => Some(EffectKind::$kind),)*
                    _ => None,
                }
            }
        }
    };
}

effect_kinds! {
    Enrolled => "enrolled",
    PointsEarned => "points_earned",
    /// Earned by a purchase, to be spent once the pending time is over.
    PointsPending => "points_pending",
    /// Pending points that can now be spent.
    PointsAvailable => "points_available",
    PointsRedeemed => "points_redeemed",
    PointsExpired => "points_expired",
    PointsDonated => "points_donated",
    PointsClawedBack => "points_clawed_back",
    RewardMoneyIssued => "reward_money_issued",
    RewardMoneySpent => "reward_money_spent",
    RewardMoneyExpired => "reward_money_expired",
    RewardMoneyClawedBack => "reward_money_clawed_back",
    /// Saved up for a yearly payout.
    PayoutSaved => "payout_saved",
    RewardIssued => "reward_issued",
    RewardUsed => "reward_used",
    RewardExpired => "reward_expired",
    /// A reward a refunded order's visit issued, taken back.
    RewardClawedBack => "reward_clawed_back",
    DiscountGiven => "discount_given",
    PerkUsed => "perk_used",
    CharityDonation => "charity_donation",
    PartnerFunded => "partner_funded",
    /// What the program kept of a redemption at a partner
    /// (`margin 10% on redemptions`): the partner is paid the rest.
    RedemptionMargin => "redemption_margin",
    FeeCharged => "fee_charged",
    /// What was left unused of a plan's fee when another plan replaced it.
    FeeCredited => "fee_credited",
    TrialStarted => "trial_started",
    MembershipStarted => "membership_started",
    MembershipCancelled => "membership_cancelled",
    MembershipEnded => "membership_ended",
    TierChanged => "tier_changed",
    AttributesChanged => "attributes_changed",
    /// A refund could not take back all it should: the points or money
    /// were already spent.
    ClawbackShortfall => "clawback_shortfall",
}

/// What in the program caused an effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    None,
    /// An earn rule, with the multipliers (bits of bonus ids) applied.
    Rule {
        rule: u16,
        bonuses: u64,
    },
    Bonus(u16),
    Discount(u16),
    Conversion(u16),
    Reward(RewardId),
    /// A points donation chosen by the member.
    Charity(CharityId),
    Perk(PerkId),
    Membership(MembershipId),
    Tier {
        from: Option<TierId>,
        to: Option<TierId>,
    },
    /// A refund of an order.
    Refund,
    /// A partner funding what was earned at it, or paid back on a refund;
    /// a redemption at it, of which the program keeps a margin.
    Partner {
        partner: u16,
        refund: bool,
    },
    /// Points or rewards running out.
    Expiry,
}

fn tier_name(program: &Program, tier: Option<TierId>) -> String {
    tier.map_or("no tier".into(), |t| {
        format!("\"{}\"", program.tiers[usize::from(t)].name)
    })
}

impl Effect {
    /// The reason in words, naming the rule as the program writes it.
    pub fn describe(&self, program: &Program) -> String {
        reason(self.what(program), &why(program, self.kind, self.cause))
    }

    /// What changed, in words: `earned 300 points`, `fee $5.00 charged`.
    pub fn what(&self, program: &Program) -> String {
        what(program, self.kind, self.points, self.money, self.value)
    }
}

/// The two halves of a reason joined: what changed, and the rule why.
pub fn reason(what: String, why: &str) -> String {
    if why.is_empty() {
        what
    } else {
        format!("{what}: {why}")
    }
}

/// What changed, from an entry's kind and amounts (as the ledger stores
/// them).
pub fn what(program: &Program, kind: EffectKind, points: i64, money: i64, value: i64) -> String {
    let in_points = |n: i64| format!("{} {}", crate::decimal::count_text(n), program.points_name);
    let amount = |cents: i64| program.money(cents);
    match kind {
        EffectKind::Enrolled => "enrolled".to_string(),
        EffectKind::PointsEarned => format!("earned {}", in_points(points)),
        EffectKind::PointsPending => format!("earned {}, pending", in_points(points)),
        EffectKind::PointsAvailable => "pending points now available".to_string(),
        EffectKind::PointsRedeemed => format!("redeemed {}", in_points(-points)),
        EffectKind::PointsExpired => format!("{} expired", in_points(-points)),
        EffectKind::PointsDonated => format!("donated {}", in_points(-points)),
        EffectKind::PointsClawedBack => format!("{} clawed back", in_points(-points)),
        EffectKind::RewardMoneyIssued => format!("{} reward issued", amount(money)),
        EffectKind::RewardMoneySpent => format!("{} reward spent", amount(-money)),
        EffectKind::RewardMoneyExpired => format!("{} reward expired", amount(-money)),
        EffectKind::RewardMoneyClawedBack => {
            format!("{} reward clawed back", amount(-money))
        }
        EffectKind::PayoutSaved => {
            format!("{} saved for the yearly payout", amount(value))
        }
        EffectKind::RewardIssued => "reward issued".to_string(),
        EffectKind::RewardUsed => format!("reward used, worth {}", amount(value)),
        EffectKind::RewardExpired => "reward expired".to_string(),
        EffectKind::RewardClawedBack => "reward taken back".to_string(),
        EffectKind::DiscountGiven => format!("{} off", amount(value)),
        EffectKind::PerkUsed => format!("perk used, costing {}", amount(value)),
        EffectKind::CharityDonation => format!("{} donated", amount(value)),
        EffectKind::PartnerFunded if value < 0 => {
            format!("{} paid back to the partner", amount(-value))
        }
        EffectKind::PartnerFunded => format!("{} funded by the partner", amount(value)),
        EffectKind::RedemptionMargin => {
            format!("{} kept of a redemption at the partner", amount(value))
        }
        EffectKind::FeeCharged => format!("fee {} charged", amount(value)),
        EffectKind::FeeCredited => {
            format!("{} credited, the unused part of the fee", amount(value))
        }
        EffectKind::TrialStarted => "free trial started".to_string(),
        EffectKind::MembershipStarted => "membership started".to_string(),
        EffectKind::MembershipCancelled => {
            "membership cancelled, ends when the period paid for ends".to_string()
        }
        EffectKind::MembershipEnded => "membership ended".to_string(),
        EffectKind::TierChanged => "tier changed".to_string(),
        EffectKind::AttributesChanged => "attributes changed".to_string(),
        EffectKind::ClawbackShortfall => {
            format!(
                "could not claw back all the order earned, worth {}: already spent",
                amount(value)
            )
        }
    }
}

/// The rule that caused an effect of `kind`, as the program writes it;
/// empty when no rule did (an enrolment).
pub fn why(program: &Program, kind: EffectKind, cause: Cause) -> String {
    match cause {
        Cause::None => String::new(),
        Cause::Rule { rule, bonuses } => {
            let rule = &program.rules[usize::from(rule)];
            let mut why = format!("rule \"{}\"", rule.text);
            if let Benefit::Reward(reward) = rule.benefit {
                why = format!("\"{}\" by {why}", program.rewards[usize::from(reward)].name);
            }
            for (b, bonus) in program.bonuses.iter().enumerate() {
                if b < 64 && bonuses & (1 << b) != 0 {
                    why.push_str(&format!(" x \"{}\"", bonus.text));
                }
            }
            why
        }
        Cause::Bonus(b) => format!("rule \"{}\"", program.bonuses[usize::from(b)].text),
        Cause::Discount(d) => format!("rule \"{}\"", program.discounts[usize::from(d)].text),
        Cause::Conversion(c) => {
            let conversion = &program.conversions[usize::from(c)];
            match conversion.into {
                ConversionInto::Money(_) => format!("rule \"{}\"", conversion.text),
                ConversionInto::Reward(r) => format!(
                    "\"{}\" by rule \"{}\"",
                    program.rewards[usize::from(r)].name,
                    conversion.text
                ),
            }
        }
        Cause::Reward(r) => format!("reward \"{}\"", program.rewards[usize::from(r)].name),
        Cause::Charity(c) => format!("charity \"{}\"", program.charities[usize::from(c)].name),
        Cause::Perk(p) => format!("rule \"{}\"", program.perks[usize::from(p)].text),
        Cause::Membership(m) => format!(
            "membership \"{}\"",
            program.memberships[usize::from(m)].name
        ),
        Cause::Tier { from, to } => format!(
            "from {} to {}",
            tier_name(program, from),
            tier_name(program, to)
        ),
        Cause::Refund => "refund".to_string(),
        Cause::Partner { partner, refund } => {
            let name = &program.partners[usize::from(partner)].name;
            match refund {
                false => format!("partner \"{name}\""),
                true => format!("partner \"{name}\", on a refund"),
            }
        }
        Cause::Expiry => {
            let rule = match kind {
                EffectKind::PointsExpired => program.points_expiry_text.as_deref(),
                _ => program.reward_expiry_text.as_deref(),
            };
            rule.map_or("expiry".into(), |text| format!("rule \"{text}\""))
        }
    }
}

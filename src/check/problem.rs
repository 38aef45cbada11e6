//! Problems the checker finds: one variant per kind, each with its own
//! code, message, label and help. The texts live here and nowhere else.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub span: Span,
}

/// The kinds of names a program defines or declares, for "unknown" and
/// "duplicate" problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameKind {
    Tier,
    Reward,
    Charity,
    Action,
    Category,
    Channel,
    PaymentMethod,
    Attribute,
    Partner,
    Brand,
    Membership,
}

impl NameKind {
    /// How many kinds there are: the checker keeps a table of each.
    pub const COUNT: usize = 11;

    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Tier => "tier",
            NameKind::Reward => "reward",
            NameKind::Charity => "charity",
            NameKind::Action => "action",
            NameKind::Category => "category",
            NameKind::Channel => "channel",
            NameKind::PaymentMethod => "payment method",
            NameKind::Attribute => "attribute",
            NameKind::Partner => "partner",
            NameKind::Brand => "brand",
            NameKind::Membership => "membership",
        }
    }

    fn unknown_code(self) -> &'static str {
        match self {
            NameKind::Tier => "loyalty::unknown_tier",
            NameKind::Reward => "loyalty::unknown_reward",
            NameKind::Charity => "loyalty::unknown_charity",
            NameKind::Action => "loyalty::unknown_action",
            NameKind::Category => "loyalty::unknown_category",
            NameKind::Channel => "loyalty::unknown_channel",
            NameKind::PaymentMethod => "loyalty::unknown_payment_method",
            NameKind::Attribute => "loyalty::unknown_attribute",
            NameKind::Partner => "loyalty::unknown_partner",
            NameKind::Brand => "loyalty::unknown_brand",
            NameKind::Membership => "loyalty::unknown_membership",
        }
    }

    /// How the designer makes such a name known.
    fn how_to_declare(self, name: &str) -> String {
        match self {
            NameKind::Tier => format!("add a line `tier \"{name}\"`"),
            NameKind::Reward => format!("add a line `reward \"{name}\", worth $5`"),
            NameKind::Charity => format!("add a line `charity \"{name}\"`"),
            NameKind::Partner => format!("add a line `partner \"{name}\", funds 100%`"),
            NameKind::Brand => format!("add a line `brand \"{name}\"`"),
            NameKind::Membership => format!("add a line `membership \"{name}\"`"),

            NameKind::Action => format!(
                "built-in actions are {}; declare others with `actions {name}`",
                super::BUILT_IN_ACTIONS.join(", ")
            ),
            NameKind::Category => format!("declare it with `categories {name}`"),
            NameKind::Channel => format!("declare it with `channels {name}`"),
            NameKind::PaymentMethod => format!("declare it with `payment methods {name}`"),
            NameKind::Attribute => format!("declare it with `attributes {name}`"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    MissingProgramName,
    MissingCurrency,
    UnknownCurrency {
        code: String,
        suggestion: Option<&'static str>,
    },
    UnknownTimeZone {
        name: String,
        suggestion: Option<&'static str>,
    },
    CurrencySignMismatch {
        sign: char,
        currency: String,
        expected: char,
    },
    MissingPointsName,
    /// A unit word that is not the one expected here.
    UnknownUnit {
        unit: String,
        expected: String,
        suggestion: Option<String>,
    },
    /// The right number, the wrong kind of amount.
    WrongUnit {
        expected: String,
        found: String,
    },
    MissingUnit {
        expected: String,
        example: String,
    },
    MissingCurrencySign {
        example: String,
    },
    NegativeAmount,
    ZeroAmount {
        what: &'static str,
    },
    PercentOver100,
    FractionalPoints,
    UnknownName {
        kind: NameKind,
        name: String,
        suggestion: Option<String>,
    },
    DuplicateName {
        kind: NameKind,
        name: String,
    },
    /// A condition names one of a kind past the first 64, which a
    /// condition's set of ids cannot hold.
    TooManyNames {
        kind: NameKind,
        name: String,
    },
    DuplicateStatement {
        what: &'static str,
    },
    ClauseNotAllowed {
        clause: &'static str,
        statement: &'static str,
        help: String,
    },
    DuplicateClause {
        clause: &'static str,
    },
    MissingClause {
        statement: &'static str,
        help: &'static str,
    },
    MisplacedStatement {
        statement: &'static str,
        help: &'static str,
    },
    UnexpectedBlock {
        statement: &'static str,
    },
    WrongTrigger {
        message: &'static str,
        help: &'static str,
    },
    /// A fixed word (a period, an exclusion) that is not one of those allowed.
    UnknownWord {
        word: String,
        what: &'static str,
        expected: &'static [&'static str],
        suggestion: Option<&'static str>,
    },
    TierOutOfOrder {
        tier: String,
        previous: String,
    },
    UnreachableTier {
        tier: String,
        by: String,
    },
    TierNeverLeft {
        tier: String,
    },
    UnaffordableReward {
        reward: String,
        why: String,
    },
    CapBelowSingleEarn {
        cap: String,
        earn: String,
    },
    /// A rate or multipliers beyond what the engine counts exactly on
    /// the largest purchase an event may carry.
    RateTooHigh {
        what: String,
        most: &'static str,
    },
    OverlappingRule {
        line: usize,
    },
    ExpiryBeforeCycle {
        expiry: String,
        cycle: &'static str,
    },
    NoPointsValue,
    MultiplierWithoutEffect {
        value: String,
    },
    InvalidDate {
        date: String,
    },
    InvalidTimeOfDay {
        time: String,
    },
    DatesOutOfOrder,
    UnusedName {
        kind: NameKind,
        name: String,
    },
    UnusedReward {
        reward: String,
    },
    TrialWithoutFee,
    /// `per 12 months in total`: a budget counts by the calendar.
    RollingBudget,
    /// A multiplier with no rate of its kind to multiply.
    BonusWithoutRate {
        /// What it multiplies: the program's points or `reward money`.
        what: String,
    },
}

impl ProblemKind {
    /// Whether the program still runs as written: a warning, not an error.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            ProblemKind::TierNeverLeft { .. }
                | ProblemKind::OverlappingRule { .. }
                | ProblemKind::NoPointsValue
                | ProblemKind::MultiplierWithoutEffect { .. }
                | ProblemKind::UnusedName { .. }
                | ProblemKind::BonusWithoutRate { .. }
                | ProblemKind::UnusedReward { .. }
        )
    }
}

const AMOUNT_HELP: &str = "amounts are written `$10` (money), `300 points` (points), `2%` \
                           (a share), `3x` (a multiplier) or `30 days` (a duration)";

impl From<Problem> for Diagnostic {
    fn from(problem: Problem) -> Self {
        use ProblemKind::*;
        let severity = match problem.kind.is_warning() {
            true => Severity::Warning,
            false => Severity::Error,
        };
        let (code, message, label, help): (&'static str, String, String, Option<String>) =
            match problem.kind {
                MissingProgramName => (
                    "loyalty::missing_program",
                    "the file does not name its program".into(),
                    "the program's name goes first".into(),
                    Some("start the file with a line such as `program \"Coffee Club\"`".into()),
                ),
                MissingCurrency => (
                    "loyalty::missing_currency",
                    "money is used but the program has no currency".into(),
                    "money amount".into(),
                    Some("add a line such as `currency USD` near the top".into()),
                ),
                UnknownCurrency { code, suggestion } => (
                    "loyalty::unknown_currency",
                    format!("unknown currency `{code}`"),
                    "not a currency this tool knows".into(),
                    Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known currencies: {}", super::currency_codes().collect::<Vec<_>>().join(", ")),
                    }),
                ),
                UnknownTimeZone { name, suggestion } => (
                    "loyalty::unknown_time_zone",
                    format!("unknown time zone `{name}`"),
                    "not a time zone of the IANA database".into(),
                    Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "name a zone as the IANA database does, such as \"America/New_York\", \"Europe/London\" or \"UTC\"".into(),
                    }),
                ),
                CurrencySignMismatch {
                    sign,
                    currency,
                    expected,
                } => (
                    "loyalty::currency_mismatch",
                    format!("`{sign}` is not the sign of the program's currency {currency}"),
                    "other currency".into(),
                    Some(format!("write amounts in {currency} with `{expected}`")),
                ),
                MissingPointsName => (
                    "loyalty::missing_points",
                    "points are used but the program does not name them".into(),
                    "points used here".into(),
                    Some(
                        "add a line such as `points are called \"points\", worth $1 per 100 points`"
                            .into(),
                    ),
                ),
                UnknownUnit {
                    unit,
                    expected,
                    suggestion,
                } => (
                    "loyalty::unknown_unit",
                    format!("`{unit}` is not {expected}"),
                    "unknown unit".into(),
                    Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("expected {expected}"),
                    }),
                ),
                WrongUnit { expected, found } => (
                    "loyalty::wrong_unit",
                    format!("expected {expected}, found {found}"),
                    format!("this should be {expected}"),
                    Some(AMOUNT_HELP.into()),
                ),
                MissingUnit { expected, example } => (
                    "loyalty::missing_unit",
                    format!("this amount has no unit: expected {expected}"),
                    "unit missing".into(),
                    Some(format!("write it with its unit, e.g. `{example}`")),
                ),
                MissingCurrencySign { example } => (
                    "loyalty::missing_currency_sign",
                    "money needs a currency sign".into(),
                    "money without a sign".into(),
                    Some(format!("write `{example}`")),
                ),
                NegativeAmount => (
                    "loyalty::negative_amount",
                    "amounts cannot be negative".into(),
                    "negative".into(),
                    Some("a program gives or charges amounts; write them without a minus sign".into()),
                ),
                ZeroAmount { what } => (
                    "loyalty::zero_amount",
                    format!("{what} cannot be zero"),
                    "zero".into(),
                    Some("remove the rule, or give it an amount above zero".into()),
                ),
                PercentOver100 => (
                    "loyalty::percent_over_100",
                    "a percentage here cannot be over 100%".into(),
                    "over 100%".into(),
                    Some("a share of a purchase or of a cost is between 0% and 100%".into()),
                ),
                FractionalPoints => (
                    "loyalty::fractional_points",
                    "points here must be a whole number".into(),
                    "not whole".into(),
                    Some("members hold whole points; only earn rates (`1.5 points per $1`) may have decimals".into()),
                ),
                UnknownName {
                    kind,
                    name,
                    suggestion,
                } => (
                    kind.unknown_code(),
                    format!("unknown {} `{name}`", kind.noun()),
                    format!("no {} has this name", kind.noun()),
                    Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => kind.how_to_declare(&name),
                    }),
                ),
                DuplicateName { kind, name } => (
                    "loyalty::duplicate_name",
                    format!("{} `{name}` is defined twice", kind.noun()),
                    "defined again here".into(),
                    Some(format!("give each {} its own name", kind.noun())),
                ),
                TooManyNames { kind, name } => (
                    "loyalty::too_many_names",
                    format!(
                        "a condition can name only the first 64 of the program's {} names, and `{name}` comes after them",
                        kind.noun()
                    ),
                    "declared after the 64th".into(),
                    Some(format!(
                        "declare the {} that rules name among the first 64",
                        kind.noun()
                    )),
                ),
                DuplicateStatement { what } => (
                    "loyalty::duplicate_statement",
                    format!("{what} is stated twice"),
                    "stated again here".into(),
                    Some("state it once; two answers to one question would contradict".into()),
                ),
                ClauseNotAllowed {
                    clause,
                    statement,
                    help,
                } => (
                    "loyalty::clause_not_allowed",
                    format!("`{clause}` does not apply to `{statement}`"),
                    "not allowed here".into(),
                    Some(help),
                ),
                DuplicateClause { clause } => (
                    "loyalty::duplicate_clause",
                    format!("`{clause}` is given twice in this statement"),
                    "given again here".into(),
                    Some("keep one; for several values write them as one clause with `or`".into()),
                ),
                MissingClause { statement, help } => (
                    "loyalty::missing_clause",
                    format!("`{statement}` is missing something it needs"),
                    "incomplete".into(),
                    Some(help.into()),
                ),
                MisplacedStatement { statement, help } => (
                    "loyalty::misplaced_statement",
                    format!("`{statement}` cannot stand here"),
                    "misplaced".into(),
                    Some(help.into()),
                ),
                UnexpectedBlock { statement } => (
                    "loyalty::unexpected_block",
                    format!("`{statement}` cannot have a block"),
                    "block opened here".into(),
                    Some("only `tier` and `membership` lines open a block with `{`".into()),
                ),
                WrongTrigger { message, help } => (
                    "loyalty::wrong_trigger",
                    message.into(),
                    "here".into(),
                    Some(help.into()),
                ),
                UnknownWord {
                    word,
                    what,
                    expected,
                    suggestion,
                } => (
                    "loyalty::unknown_word",
                    format!("`{word}` is not {what}"),
                    format!("expected {what}"),
                    Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("expected one of: {}", expected.join(", ")),
                    }),
                ),
                TierOutOfOrder { tier, previous } => (
                    "loyalty::tier_order",
                    format!("tier `{tier}` needs less than `{previous}`, which comes before it"),
                    "lower than the tier before".into(),
                    Some(
                        "tiers are listed from the lowest to the highest: move this tier up, or \
                         raise what it needs"
                            .into(),
                    ),
                ),
                UnreachableTier { tier, by } => (
                    "loyalty::unreachable_tier",
                    format!("tier `{tier}` can never be reached"),
                    format!("every member who qualifies is placed in `{by}` instead"),
                    Some(
                        "a member holds the highest tier they qualify for; give this tier a lower \
                         threshold than the next one, or remove it"
                            .into(),
                    ),
                ),
                TierNeverLeft { tier } => {
                    (
                        "loyalty::tier_never_left",
                        format!("tier `{tier}` can never be left"),
                        "counted over the member's whole life".into(),
                        Some(
                            "lifetime totals never go down; use `in a calendar year` or `in the \
                             last 12 months` if status should be re-earned"
                                .into(),
                        ),
                    )
                }
                UnaffordableReward { reward, why } => (
                    "loyalty::unaffordable_reward",
                    format!("no member can ever afford reward `{reward}`"),
                    "cost".into(),
                    Some(why),
                ),
                RateTooHigh { what, most } => (
                    "loyalty::rate_too_high",
                    format!("{what}; at most {most}"),
                    "too high".into(),
                    Some(
                        "these bounds keep every balance exact on any purchase up to \
                         100,000,000,000 of the currency; real programs stay far below them"
                            .into(),
                    ),
                ),
                CapBelowSingleEarn { cap, earn } => (
                    "loyalty::cap_below_single_earn",
                    format!("the limit of {cap} is less than the {earn} a single event earns"),
                    "limit".into(),
                    Some("raise the limit to at least one event's earn, or lower the earn".into()),
                ),
                OverlappingRule { line } => {
                    (
                        "loyalty::overlapping_rule",
                        format!("this rule has the same trigger and conditions as the rule on line {line}"),
                        "overlaps".into(),
                        Some(
                            "for spend, only the best rate applies, so one of the two never does; \
                             for other triggers both are given. Merge them into one rule, or add \
                             a condition that tells them apart"
                                .into(),
                        ),
                    )
                }
                ExpiryBeforeCycle { expiry, cycle } => (
                    "loyalty::expiry_before_cycle",
                    format!("points expire after {expiry}, before they are converted {cycle}"),
                    "expiry".into(),
                    Some("points would expire before members could ever see the reward; lengthen the expiry".into()),
                ),
                NoPointsValue => {
                    (
                        "loyalty::no_points_value",
                        "the points have no value in money".into(),
                        "points named here".into(),
                        Some(
                            "add what points are worth, e.g. `, worth $1 per 100 points`, so that \
                             the liability and cost can be computed"
                                .into(),
                        ),
                    )
                }
                MultiplierWithoutEffect { value } => {
                    (
                        "loyalty::multiplier_without_effect",
                        format!("a multiplier of {value} does not raise earning"),
                        "multiplier".into(),
                        Some("a bonus multiplier is above 1x, e.g. `2x`".into()),
                    )
                }
                InvalidTimeOfDay { time } => (
                    "loyalty::invalid_time_of_day",
                    format!("`{time}` is not a time of day"),
                    "no such time".into(),
                    Some("write times as hours and minutes from 00:00 to 24:00, e.g. `14:30`".into()),
                ),
                InvalidDate { date } => (
                    "loyalty::invalid_date",
                    format!("`{date}` is not a date"),
                    "no such day".into(),
                    Some("write dates as year-month-day, e.g. `2026-11-27`".into()),
                ),
                DatesOutOfOrder => (
                    "loyalty::dates_out_of_order",
                    "the period ends before it begins".into(),
                    "dates".into(),
                    Some("write the earlier date first".into()),
                ),
                UnusedName { kind, name } => {
                    (
                        "loyalty::unused_name",
                        format!("{} `{name}` is declared but no rule uses it", kind.noun()),
                        "never used".into(),
                        Some("remove it, or use it in a rule".into()),
                    )
                }
                BonusWithoutRate { what } => {
                    (
                        "loyalty::bonus_without_rate",
                        format!("this bonus multiplies {what} earned per amount spent, and no rule earns {what} that way"),
                        "never applies".into(),
                        Some(
                            "a multiplier multiplies a rule such as `earn 1 point per $1 spent` or \
                             `earn 2% back`; to add to each visit, give a flat bonus or earn more \
                             for visit"
                                .into(),
                        ),
                    )
                }
                UnusedReward { reward } => {
                    (
                        "loyalty::unused_reward",
                        format!("reward `{reward}` can never be obtained"),
                        "no cost, and no rule gives it".into(),
                        Some(
                            "add `, costs 100 points` so members can redeem it, or give it with \
                             `earn reward \"...\" for ...`"
                                .into(),
                        ),
                    )
                }
                TrialWithoutFee => (
                    "loyalty::trial_without_fee",
                    "a free membership cannot have a free trial".into(),
                    "trial".into(),
                    Some("add the fee, e.g. `, costs $5 per month`, or remove the trial".into()),
                ),
                RollingBudget => (
                    "loyalty::rolling_budget",
                    "a budget shared by all members counts by the calendar".into(),
                    "a length of time".into(),
                    Some(
                        "write `per day`, `per week`, `per month`, `per quarter`, `per half year` \
                         or `per year`, or leave the period out for the program's whole life"
                            .into(),
                    ),
                ),
            };
        Diagnostic {
            code,
            severity,
            message,
            span: problem.span,
            label,
            help,
        }
    }
}

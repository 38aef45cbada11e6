//! The abstract syntax of a program file: what the designer wrote, with
//! spans, before any name is resolved or any rule is checked.
//!
//! Every statement is a head plus comma-separated clauses; the checker
//! decides which clauses a head takes. Comments and blank lines are kept
//! so that the formatter can print them back.

use serde::Serialize;

use crate::decimal::Decimal;
use crate::span::Node;

/// A whole program file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Program {
    pub items: Vec<Item>,
}

/// One line's worth of content at the top level or inside a block.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Statement(Box<Node<Statement>>),
    /// A comment on a line of its own, text after the `#`.
    Comment(String),
    /// One or more blank lines between statements.
    Blank,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statement {
    pub head: Node<Head>,
    pub clauses: Vec<Node<Clause>>,
    /// The statements between `{` and `}` after a tier or membership.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<Vec<Item>>,
    /// A comment at the end of the statement's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a statement is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "is")]
pub enum Head {
    /// `program "Name"`
    Program { name: Node<String> },
    /// `currency USD`
    Currency { code: Node<String> },
    /// `time zone "America/New_York"`
    TimeZone { name: Node<String> },
    /// `points are called "stars"`
    Points { name: Node<String> },
    /// `categories beauty, toys`
    Declare {
        kind: DeclareKind,
        names: Vec<Node<String>>,
    },
    /// `brand "Pottery Barn"`
    Brand { name: Node<String> },
    /// `partner "Uber"`
    Partner { name: Node<String> },
    /// `charity "WWF"`
    Charity { name: Node<String> },
    /// `earn 1 point per $1 spent`
    Earn {
        benefit: Node<Benefit>,
        #[serde(skip_serializing_if = "Option::is_none")]
        trigger: Option<Node<Trigger>>,
    },
    /// `bonus 3x points`, `bonus 100 points`
    Bonus { amount: Node<Quantity> },
    /// `discount 10%`
    Discount { amount: Node<Quantity> },
    /// `perk "Free shipping"`
    Perk { name: Node<String> },
    /// `reward "Free drink"`
    Reward { name: Node<String> },
    /// `every 100 points become $5 reward`
    Convert {
        every: Node<Quantity>,
        into: Node<Benefit>,
    },
    /// `donate $5 to "REI Foundation" for joining`
    Donate {
        amount: Node<Quantity>,
        charity: Node<String>,
        trigger: Node<Trigger>,
    },
    /// `points expire 12 months after they are earned`
    Expire { what: Node<String>, expiry: Expiry },
    /// `points are pending for 30 days`
    Pending {
        what: Node<String>,
        duration: Node<Quantity>,
    },
    /// `tier "Gold"`
    Tier { name: Node<String> },
    /// `membership "CarePass"`
    Membership { name: Node<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclareKind {
    Categories,
    Channels,
    PaymentMethods,
    Actions,
    Attributes,
}

impl DeclareKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DeclareKind::Categories => "categories",
            DeclareKind::Channels => "channels",
            DeclareKind::PaymentMethods => "payment methods",
            DeclareKind::Actions => "actions",
            DeclareKind::Attributes => "attributes",
        }
    }

    /// The singular, as used in messages: "unknown category `toyz`".
    pub fn singular(self) -> &'static str {
        match self {
            DeclareKind::Categories => "category",
            DeclareKind::Channels => "channel",
            DeclareKind::PaymentMethods => "payment method",
            DeclareKind::Actions => "action",
            DeclareKind::Attributes => "attribute",
        }
    }
}

/// An amount as written: a number with an optional sign or unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quantity {
    pub value: Decimal,
    pub kind: QuantityKind,
    /// The word after the number: `points`, `days`, `visits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Node<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityKind {
    /// `$10`: the sign as written.
    Money(char),
    /// `2%`
    Percent,
    /// `3x`
    Multiplier,
    /// `300`, `300 points`, `30 days`
    Count,
}

/// What a member gets.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Benefit {
    /// `300 points` (or a bare amount the checker will complain about).
    Amount(Quantity),
    /// `$10 reward`: reward money the member can spend later.
    RewardCredit(Quantity),
    /// `2% back`: a share of the spend, as reward money.
    Back(Quantity),
    /// `15% off the next order`
    OffNextOrder(Quantity),
    /// `reward "Free drink"`
    Named(Node<String>),
}

/// When a benefit is earned.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `per $1 spent`
    PerSpent(Node<Quantity>),
    /// `for every 5th visit`
    EveryNth { nth: u32, action: Node<String> },
    /// `for spending $30 in a month`
    Spending {
        amount: Node<Quantity>,
        period: Node<String>,
    },
    /// `for reaching the tier`
    ReachingTier,
    /// `for review`, `for birthday`, `for joining`
    Action(Node<String>),
    /// `every month`, `every year`
    Every(PeriodOrLength),
    /// `on the first day of each month`
    FirstDayOfEach(Node<String>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// `12 months after they are earned` / `after they are issued`
    AfterLifecycle {
        duration: Node<Quantity>,
        lifecycle: Lifecycle,
    },
    /// `after 12 months without activity`
    Inactivity { duration: Node<Quantity> },
    /// `at the end of the quarter after 12 months`: the end of the
    /// period in which that time after earning falls.
    AtPeriodEnd {
        period: Node<String>,
        duration: Node<Quantity>,
    },
    /// `each year on 31 March` (or `March 31`): at the end of that day.
    EachYearOn {
        day: Node<Decimal>,
        month: Node<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Earned,
    Issued,
}

/// A qualification, condition, limit or property after a head.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clause {
    /// `worth $10`, `worth 20% off the next order`, `worth $10 per 300 points`
    Worth {
        value: Node<Quantity>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        off_next_order: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        per: Option<Node<Quantity>>,
    },
    /// `costs 300 points`, `costs $7 per order`, `costs $30 once`
    Costs {
        amount: Node<Quantity>,
        #[serde(skip_serializing_if = "Option::is_none")]
        per: Option<Node<String>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        once: bool,
    },
    /// `funds 50%`
    Funds(Node<Quantity>),
    /// `margin 10% on redemptions`
    Margin(Node<Quantity>),
    /// `funds $0.80 per 100 points`
    FundsPer {
        amount: Node<Quantity>,
        per: Node<Quantity>,
    },
    /// `receives $10 per 100 points`
    Receives {
        amount: Node<Quantity>,
        per: Node<Quantity>,
    },
    /// `in category beauty or fragrance`
    InCategory(Vec<Node<String>>),
    /// `for product "SKU-1" or "SKU-2"`
    ForProduct(Vec<Node<String>>),
    /// `excluding category gift_cards`
    ExcludingCategory(Vec<Node<String>>),
    /// `excluding product "SKU-9"`
    ExcludingProduct(Vec<Node<String>>),
    /// `in channel store`
    InChannel(Vec<Node<String>>),
    /// `paid out every year`
    PaidOut(Node<String>),
    /// `paid with registered_card or app`
    PaidWith(Vec<Node<String>>),
    /// `at brand "West Elm"`
    AtBrand(Vec<Node<String>>),
    /// `at partner "Uber"`; an empty list is `at any partner`.
    AtPartner(Vec<Node<String>>),
    /// `for tier "Gold" or "Rouge"`
    ForTier(Vec<Node<String>>),
    /// `for members with credit_card`
    MembersWith(Node<String>),
    /// `for $500 spent in a calendar year`
    Qualify {
        amount: Node<Quantity>,
        #[serde(skip_serializing_if = "Option::is_none")]
        measure: Option<Measure>,
        period: Node<QualifyPeriod>,
    },
    /// `within 30 days of joining`
    Within {
        duration: Node<Quantity>,
        anchor: Anchor,
    },
    /// `on orders of $49 or more`
    MinOrder(Node<Quantity>),
    /// `on 1 chosen day per year`
    ChosenDays {
        count: Node<Decimal>,
        per: Node<String>,
    },
    /// `on the first day of each month`
    FirstDayOfEach(Node<String>),
    /// `excluding shipping and tax`
    Excluding(Vec<Node<String>>),
    /// `up to 500 points per day`, `once per member`, `3 times per year`;
    /// `up to $50,000 per month in total` for all members at once.
    Cap {
        limit: CapLimit,
        /// No period: `in total`, for the program's whole life.
        #[serde(skip_serializing_if = "Option::is_none")]
        per: Option<PeriodOrLength>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        total: bool,
    },
    /// `1,000 available`, `100 available per day`: a stock for all
    /// members.
    Available {
        count: Node<Decimal>,
        #[serde(skip_serializing_if = "Option::is_none")]
        per: Option<PeriodOrLength>,
    },
    /// `exclusive`
    Exclusive,
    /// `kept for 1 year`, `kept until the end of the next year`
    Kept(Kept),
    /// `with a free trial of 30 days`
    FreeTrial(Node<Quantity>),
    /// `replaces "Plus" or "Basic"`
    Replaces(Vec<Node<String>>),
    /// `on mondays or tuesdays`, `on weekends`
    OnDays(Vec<Node<String>>),
    /// `between 14:00 and 17:00`
    Hours {
        from: Node<String>,
        until: Node<String>,
    },
    /// `between 2026-11-27 and 2026-11-30`
    Between {
        from: Node<String>,
        until: Node<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Spent,
    Earned,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualifyPeriod {
    CalendarYear,
    /// `in the last 12 months`
    Last(Quantity),
    /// `in total`: over the member's lifetime.
    Total,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    Joining,
    ReachingTier,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CapLimit {
    /// `up to 500 points`
    Amount(Node<Quantity>),
    /// `once`, `twice`, `3 times`
    Times(Node<Decimal>),
}

/// What a limit counts in, or a recurring rule repeats in: a period of
/// the calendar, or a length of time.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PeriodOrLength {
    /// `per day`, `per year`, `per membership year`, `every month`
    Calendar(Node<String>),
    /// `per 12 months`, `per 2 hours`: any such length of time just past;
    /// `every 2 weeks`: that long after the last time
    Last(Node<Quantity>),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kept {
    For(Node<Quantity>),
    /// `until the end of the next year`
    UntilEndOfNext(Node<String>),
}

impl Head {
    /// The keyword that starts the statement, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Head::Program { .. } => "program",
            Head::Currency { .. } => "currency",
            Head::TimeZone { .. } => "time zone",
            Head::Points { .. } => "points are called",
            Head::Declare { kind, .. } => kind.keyword(),
            Head::Brand { .. } => "brand",
            Head::Partner { .. } => "partner",
            Head::Charity { .. } => "charity",
            Head::Earn { .. } => "earn",
            Head::Bonus { .. } => "bonus",
            Head::Discount { .. } => "discount",
            Head::Perk { .. } => "perk",
            Head::Reward { .. } => "reward",
            Head::Convert { .. } => "every",
            Head::Donate { .. } => "donate",
            Head::Expire { .. } => "expire",
            Head::Pending { .. } => "are pending for",
            Head::Tier { .. } => "tier",
            Head::Membership { .. } => "membership",
        }
    }
}

/// A clause by kind, without what it says: which statements take it is
/// decided by kind (`check::statements`), never by its words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClauseKind {
    Worth,
    Costs,
    Funds,
    Margin,
    Receives,
    InCategory,
    ForProduct,
    ExcludingCategory,
    ExcludingProduct,
    InChannel,
    PaidOut,
    PaidWith,
    AtBrand,
    AtPartner,
    ForTier,
    MembersWith,
    Qualify,
    Within,
    MinOrder,
    ChosenDays,
    FirstDayOfEach,
    Excluding,
    Cap,
    Available,
    Exclusive,
    Kept,
    FreeTrial,
    Replaces,
    OnDays,
    Hours,
    Between,
}

impl ClauseKind {
    /// The clause's leading words, for messages: "`worth` ...".
    pub fn keyword(self) -> &'static str {
        match self {
            ClauseKind::Worth => "worth",
            ClauseKind::Costs => "costs",
            ClauseKind::Funds => "funds",
            ClauseKind::Margin => "margin",
            ClauseKind::Receives => "receives",
            ClauseKind::InCategory => "in category",
            ClauseKind::ForProduct => "for product",
            ClauseKind::ExcludingCategory => "excluding category",
            ClauseKind::ExcludingProduct => "excluding product",
            ClauseKind::InChannel => "in channel",
            ClauseKind::PaidOut => "paid out every",
            ClauseKind::PaidWith => "paid with",
            ClauseKind::AtBrand => "at brand",
            ClauseKind::AtPartner => "at partner",
            ClauseKind::ForTier => "for tier",
            ClauseKind::MembersWith => "for members with",
            ClauseKind::Qualify => "for ... in ...",
            ClauseKind::Within => "within",
            ClauseKind::MinOrder => "on orders of",
            ClauseKind::ChosenDays => "on ... chosen days",
            ClauseKind::FirstDayOfEach => "on the first day of each",
            ClauseKind::Excluding => "excluding",
            ClauseKind::Cap => "up to / once per",
            ClauseKind::Available => "available",
            ClauseKind::Exclusive => "exclusive",
            ClauseKind::Kept => "kept",
            ClauseKind::FreeTrial => "with a free trial",
            ClauseKind::Replaces => "replaces",
            ClauseKind::OnDays => "on (days of the week)",
            ClauseKind::Hours => "between (times of day)",
            ClauseKind::Between => "between",
        }
    }
}

impl Clause {
    pub fn kind(&self) -> ClauseKind {
        match self {
            Clause::Worth { .. } => ClauseKind::Worth,
            Clause::Costs { .. } => ClauseKind::Costs,
            Clause::Funds(_) | Clause::FundsPer { .. } => ClauseKind::Funds,
            Clause::Margin(_) => ClauseKind::Margin,
            Clause::Receives { .. } => ClauseKind::Receives,
            Clause::InCategory(_) => ClauseKind::InCategory,
            Clause::ForProduct(_) => ClauseKind::ForProduct,
            Clause::ExcludingCategory(_) => ClauseKind::ExcludingCategory,
            Clause::ExcludingProduct(_) => ClauseKind::ExcludingProduct,
            Clause::InChannel(_) => ClauseKind::InChannel,
            Clause::PaidOut(_) => ClauseKind::PaidOut,
            Clause::PaidWith(_) => ClauseKind::PaidWith,
            Clause::AtBrand(_) => ClauseKind::AtBrand,
            Clause::AtPartner(_) => ClauseKind::AtPartner,
            Clause::ForTier(_) => ClauseKind::ForTier,
            Clause::MembersWith(_) => ClauseKind::MembersWith,
            Clause::Qualify { .. } => ClauseKind::Qualify,
            Clause::Within { .. } => ClauseKind::Within,
            Clause::MinOrder(_) => ClauseKind::MinOrder,
            Clause::ChosenDays { .. } => ClauseKind::ChosenDays,
            Clause::FirstDayOfEach(_) => ClauseKind::FirstDayOfEach,
            Clause::Excluding(_) => ClauseKind::Excluding,
            Clause::Cap { .. } => ClauseKind::Cap,
            Clause::Available { .. } => ClauseKind::Available,
            Clause::Exclusive => ClauseKind::Exclusive,
            Clause::Kept(_) => ClauseKind::Kept,
            Clause::FreeTrial(_) => ClauseKind::FreeTrial,
            Clause::Replaces(_) => ClauseKind::Replaces,
            Clause::OnDays(_) => ClauseKind::OnDays,
            Clause::Hours { .. } => ClauseKind::Hours,
            Clause::Between { .. } => ClauseKind::Between,
        }
    }

    /// The clause's leading words, for messages.
    pub fn keyword(&self) -> &'static str {
        self.kind().keyword()
    }
}

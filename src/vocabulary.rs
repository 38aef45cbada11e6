//! The language's closed lists of words (`per order`, `excluding tax`,
//! `costs $5 per month`), each beside what its words mean: the checker
//! accepts and names the words from here, the compiler reads their
//! meaning from here. Periods of time are the calendar's (`time::Every`).

/// An enum a program names with words (`words!`). Only the checker reads
/// a word; everything after it holds the enum.
pub trait Word: Sized + Copy + 'static {
    /// Every word, in the order messages list them.
    const WORDS: &'static [&'static str];

    fn from_word(word: &str) -> Option<Self>;
}

/// A part of an order's amount that a rule may leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exclusion {
    Shipping,
    Tax,
    GiftCards,
}

words!(Exclusion {
    "shipping" => Shipping,
    "tax" => Tax,
    "gift_cards" => GiftCards,
});

/// What a perk's cost is counted per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerkCost {
    Order,
    Use,
    Month,
    Year,
    Member,
}

words!(PerkCost {
    "order" => Order,
    "use" => Use,
    "month" => Month,
    "year" => Year,
    "member" => Member,
});

/// How a membership's fee is charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fee {
    Monthly,
    Yearly,
    Once,
}

// `once` is a word of its own (`costs $30 once`).
words!(Fee {
    "month" => Monthly,
    "year" => Yearly,
});

/// The word that stands where the program's points name could, to mean
/// rewards (reward money and rewards issued) instead: `rewards expire 30
/// days after they are issued`, `bonus 2x rewards`.
pub const REWARDS: &str = "rewards";

pub fn means_rewards(word: &str) -> bool {
    word == REWARDS
}

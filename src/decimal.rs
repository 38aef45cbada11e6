//! Exact decimal numbers for amounts written in a program file.
//!
//! Money must never go through `f64`. Every amount a designer writes
//! (`$0.50`, `2.5%`, `1.5x`, `10,000 points`) has at most four decimals,
//! so a fixed-point `i64` in ten-thousandths is exact, cheap to copy and
//! fast on the engine's hot paths.

use std::fmt;

use serde::{Serialize, Serializer};

/// A decimal number stored as an integer count of ten-thousandths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(i64);

/// Why a written number is not a `Decimal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalError {
    TooManyDecimals,
    TooLarge,
    Malformed,
}

impl Decimal {
    pub const SCALE: i64 = 10_000;
    pub const ZERO: Decimal = Decimal(0);
    pub const ONE: Decimal = Decimal(Self::SCALE);
    pub const HUNDRED: Decimal = Decimal(100 * Self::SCALE);

    pub const fn from_raw(raw: i64) -> Self {
        Decimal(raw)
    }

    pub const fn from_int(value: i64) -> Self {
        Decimal(value * Self::SCALE)
    }

    /// Ten-thousandths: the exact stored value.
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// Parses `1`, `-2.5`, `10,000.25` (commas group thousands).
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (digits, ""),
        };
        // Commas group thousands, in threes: `1,000,000`, never `1,0,0`
        // or `,5`, which are slips rather than amounts.
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|g| g.len() == 3));
        if whole.is_empty() || !grouped {
            return Err(DecimalError::Malformed);
        }
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 4 {
            return Err(DecimalError::TooManyDecimals);
        }
        let mut value: i64 = 0;
        for c in whole.chars().filter(|c| *c != ',') {
            let digit = c.to_digit(10).ok_or(DecimalError::Malformed)? as i64;
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or(DecimalError::TooLarge)?;
        }
        value = value
            .checked_mul(Self::SCALE)
            .ok_or(DecimalError::TooLarge)?;
        let mut scale = Self::SCALE / 10;
        for c in fraction.chars() {
            let digit = c.to_digit(10).ok_or(DecimalError::Malformed)? as i64;
            value += digit * scale;
            scale /= 10;
        }
        // Keep amounts far from i64's edge so that sums and products of a
        // few of them cannot overflow: a trillion is plenty for a program.
        if value > 1_000_000_000_000 * Self::SCALE {
            return Err(DecimalError::TooLarge);
        }
        Ok(Decimal(if negative { -value } else { value }))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_integer(self) -> bool {
        self.0 % Self::SCALE == 0
    }

    /// The whole part, rounded towards zero.
    pub fn trunc(self) -> i64 {
        self.0 / Self::SCALE
    }

    /// Digits after the point, without trailing zeros.
    pub fn decimals(self) -> usize {
        let mut fraction = (self.0 % Self::SCALE).abs();
        if fraction == 0 {
            return 0;
        }
        let mut places = 4;
        while fraction % 10 == 0 {
            fraction /= 10;
            places -= 1;
        }
        places
    }

    /// Written with thousands grouped (`10,000`), at least `min_decimals`
    /// decimals (`$0.50`), no trailing zeros beyond that.
    pub fn display(self, min_decimals: usize) -> String {
        let decimals = self.decimals().max(min_decimals);
        let abs = self.0.unsigned_abs();
        let whole = abs / Self::SCALE as u64;
        let mut text = String::new();
        if self.0 < 0 {
            text.push('-');
        }
        push_grouped(u128::from(whole), &mut text);
        if decimals > 0 {
            let fraction = format!("{:04}", abs % Self::SCALE as u64);
            text.push('.');
            text.push_str(&fraction[..decimals]);
        }
        text
    }
}

/// An exact wide result as an amount (points or cents), pinned at the
/// ends of `i64` rather than wrapped. The checker's bounds on rates and
/// the engine's on amounts and balances keep every result far inside, so
/// this pins only what no accepted program and event can reach.
/// `percent` of an amount in cents, rounded down to a cent.
pub fn percent_of(cents: i64, percent: Decimal) -> i64 {
    saturate(i128::from(cents) * i128::from(percent.raw()) / (100 * i128::from(Decimal::SCALE)))
}

pub fn saturate(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

/// Digits with their thousands grouped: `1,234,567`.
fn push_grouped(whole: u128, text: &mut String) {
    let digits = whole.to_string();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(c);
    }
}

/// A whole count with its thousands grouped (`-1,234`), for any `i64`:
/// points and counts as the designer reads them.
pub fn count_text(n: i64) -> String {
    let mut text = String::new();
    if n < 0 {
        text.push('-');
    }
    push_grouped(u128::from(n.unsigned_abs()), &mut text);
    text
}

/// Cents as money with two decimals (`1,234.50`), for any `i64`.
pub fn cents_text(cents: i64) -> String {
    let mut text = String::new();
    if cents < 0 {
        text.push('-');
    }
    let abs = cents.unsigned_abs();
    push_grouped(u128::from(abs / 100), &mut text);
    text.push_str(&format!(".{:02}", abs % 100));
    text
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display(0))
    }
}

/// Serialized as a string, so that JSON readers never see a float.
impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = self.display(0);
        text.retain(|c| c != ',');
        serializer.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_exactly() {
        let cases = [
            ("1", "1"),
            ("0.50", "0.5"),
            ("10,000", "10,000"),
            ("1234567", "1,234,567"),
            ("-2.25", "-2.25"),
            ("0.0001", "0.0001"),
        ];
        for (input, shown) in cases {
            assert_eq!(Decimal::parse(input).unwrap().to_string(), shown, "{input}");
        }
        assert_eq!(Decimal::parse("0.5").unwrap().display(2), "0.50");
        assert_eq!(Decimal::parse("10,000").unwrap(), Decimal::from_int(10_000));
        assert_eq!(
            Decimal::parse("1,234,567").unwrap(),
            Decimal::from_int(1_234_567)
        );
        // Issue 14: thousands separators only in groups of three.
        for slip in ["1,0,0", ",5", "1,00", "1234,567", "1,", "1,,000", "12,3456"] {
            assert_eq!(Decimal::parse(slip), Err(DecimalError::Malformed), "{slip}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_hold_exactly() {
        assert_eq!(
            Decimal::parse("0.00001"),
            Err(DecimalError::TooManyDecimals)
        );
        assert_eq!(
            Decimal::parse("99999999999999999999"),
            Err(DecimalError::TooLarge)
        );
        assert_eq!(Decimal::parse("2000000000000"), Err(DecimalError::TooLarge));
        assert_eq!(Decimal::parse(".5"), Err(DecimalError::Malformed));
    }
}

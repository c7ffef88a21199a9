//! A calendar month, the finest time a summary ever carries.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::error::{Rule, ValidationError};

pub const MIN_YEAR: u16 = 1980;
pub const MAX_YEAR: u16 = 2200;

/// `YYYY-MM`. Encoded as the year (u16) then the month (u8, 1–12).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Month {
    pub year: u16,
    pub month: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a month: expected YYYY-MM between {MIN_YEAR}-01 and {MAX_YEAR}-12")]
pub struct BadMonth(pub String);

impl Month {
    pub fn new(year: u16, month: u8) -> Result<Self, BadMonth> {
        let m = Self { year, month };
        m.validate("month").map_err(|_| BadMonth(format!("{year}-{month:02}")))?;
        Ok(m)
    }

    /// Months since 0000-01, for arithmetic.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    pub fn from_index(index: i64) -> Result<Self, BadMonth> {
        let year = u16::try_from(index.div_euclid(12)).map_err(|_| BadMonth(index.to_string()))?;
        Self::new(year, (index.rem_euclid(12) + 1) as u8)
    }

    /// Whole months from `self` to `later` (negative if `later` is earlier).
    pub fn months_until(self, later: Month) -> i64 {
        later.index() - self.index()
    }

    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&self.year) {
            return Err(ValidationError::new(
                format!("{field}.year"),
                Rule::OutOfRange { min: MIN_YEAR.into(), max: MAX_YEAR.into(), got: self.year.into() },
            ));
        }
        if !(1..=12).contains(&self.month) {
            return Err(ValidationError::new(
                format!("{field}.month"),
                Rule::OutOfRange { min: 1, max: 12, got: self.month.into() },
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Debug for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Self, BadMonth> {
        let bad = || BadMonth(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Self::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).map_err(|_| bad())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_year_month() {
        let m: Month = "2024-03".parse().unwrap();
        assert_eq!(m, Month { year: 2024, month: 3 });
        assert_eq!(m.to_string(), "2024-03");
    }

    #[test]
    fn rejects_days_and_bad_months() {
        for bad in ["2024-03-14", "2024-13", "2024-00", "24-03", "1900-01", "2024-3"] {
            assert!(bad.parse::<Month>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        let a: Month = "2023-11".parse().unwrap();
        let b: Month = "2024-02".parse().unwrap();
        assert_eq!(a.months_until(b), 3);
        assert_eq!(Month::from_index(a.index() + 3).unwrap(), b);
    }
}

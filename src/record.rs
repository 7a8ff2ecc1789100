//! Record IDs (mã hồ sơ) and record status as the citizen sees it.
//!
//! A [`RecordId`] comes from outside (the kiosk keyboard, counter software, the server, a
//! supervisor's browser) and is only ever an opaque, validated string: never a path, never
//! interpolated into SQL. Status carries dates and progress only — no personal data.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Longest record ID accepted, in bytes.
pub const MAX_RECORD_ID_LEN: usize = 40;

/// A validated record ID such as `000.00.14.H56-200203-0118`: an agency code of letters,
/// digits and dots, the day received as `YYMMDD`, and a 4–6 digit sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RecordId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIdError {
    #[error("a record ID is at most {MAX_RECORD_ID_LEN} characters")]
    TooLong,
    #[error("a record ID is empty")]
    Empty,
    #[error("a record ID may contain only letters, digits, '.' and '-'")]
    BadCharacter,
    #[error("a record ID looks like 000.00.14.H56-251119-0042 (agency code, date YYMMDD, number)")]
    BadShape,
    #[error("the date part of a record ID ({0}) is not a real day")]
    BadDate(String),
}

impl RecordId {
    /// Validate and normalise (trim, upper-case) a record ID.
    pub fn parse(input: &str) -> Result<RecordId, RecordIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(RecordIdError::Empty);
        }
        if s.len() > MAX_RECORD_ID_LEN {
            return Err(RecordIdError::TooLong);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(RecordIdError::BadCharacter);
        }
        let s = s.to_ascii_uppercase();
        let mut parts = s.rsplitn(3, '-');
        let (Some(seq), Some(date), Some(agency)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(RecordIdError::BadShape);
        };
        let agency_ok = !agency.is_empty()
            && agency.len() <= 30
            && agency
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.')
            && !agency.starts_with('.')
            && !agency.contains("..");
        let seq_ok = (4..=6).contains(&seq.len()) && seq.bytes().all(|b| b.is_ascii_digit());
        let date_ok = date.len() == 6 && date.bytes().all(|b| b.is_ascii_digit());
        if !(agency_ok && seq_ok && date_ok) {
            return Err(RecordIdError::BadShape);
        }
        if NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").is_err() {
            return Err(RecordIdError::BadDate(date.to_owned()));
        }
        Ok(RecordId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The day the record was received, from its date part.
    pub fn received_on(&self) -> NaiveDate {
        let date = self.0.rsplit('-').nth(1).unwrap_or("000101");
        NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").unwrap_or_default()
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for RecordId {
    type Err = RecordIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordId::parse(s)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RecordId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a record is in its processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStage {
    Received,
    InProgress,
    /// Additional documents requested from the citizen.
    NeedsSupplement,
    ReadyForPickup,
    Returned,
}

/// The status of one record, as the central server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStatus {
    pub id: RecordId,
    /// Procedure code, if the server gives it.
    #[serde(default)]
    pub procedure: Option<String>,
    pub stage: RecordStage,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    /// When the result was ready (or returned), if it is.
    #[serde(default)]
    pub completed_on: Option<NaiveDate>,
}

/// Ahead of schedule / on time / overdue, as published in the center's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    AheadOfSchedule,
    OnTime,
    Overdue,
}

impl RecordStatus {
    /// Timeliness on `today`: a finished record by when it finished; an open one is on time
    /// until its due day has passed.
    pub fn timeliness(&self, today: NaiveDate) -> Timeliness {
        match self.completed_on {
            Some(done) if done < self.due_on => Timeliness::AheadOfSchedule,
            Some(done) if done == self.due_on => Timeliness::OnTime,
            Some(_) => Timeliness::Overdue,
            None if today > self.due_on => Timeliness::Overdue,
            None => Timeliness::OnTime,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_shapes_and_normalises() {
        let id = RecordId::parse(" 000.00.14.h56-200203-0118 ").unwrap();
        assert_eq!(id.as_str(), "000.00.14.H56-200203-0118");
        assert_eq!(
            id.received_on(),
            NaiveDate::from_ymd_opt(2020, 2, 3).unwrap()
        );
        assert!(RecordId::parse("000.00.14.H56-251119-0042").is_ok());
        assert!(RecordId::parse("H56.22-251119-004211").is_ok());
    }

    #[test]
    fn refuses_paths_sql_and_huge_input() {
        use RecordIdError::*;
        assert_eq!(RecordId::parse("../../etc/passwd"), Err(BadCharacter));
        assert_eq!(
            RecordId::parse("x'; DROP TABLE snapshots;--"),
            Err(BadCharacter)
        );
        assert_eq!(RecordId::parse(&"1".repeat(10 * 1024)), Err(TooLong));
        assert_eq!(RecordId::parse(""), Err(Empty));
        assert_eq!(RecordId::parse("000.00.14.H56"), Err(BadShape));
        assert_eq!(RecordId::parse("..-251119-0042"), Err(BadShape));
        assert_eq!(RecordId::parse("000.00.14.H56-251119-42"), Err(BadShape));
        assert_eq!(
            RecordId::parse("000.00.14.H56-251339-0042"),
            Err(BadDate("251339".into()))
        );
        assert_eq!(RecordId::parse("Đ00-251119-0042"), Err(BadCharacter));
    }

    #[test]
    fn timeliness_follows_the_due_day() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let mut s = RecordStatus {
            id: RecordId::parse("000.00.14.H56-261101-0001").unwrap(),
            procedure: None,
            stage: RecordStage::InProgress,
            received_on: d(11, 1),
            due_on: d(11, 5),
            completed_on: None,
        };
        assert_eq!(s.timeliness(d(11, 5)), Timeliness::OnTime);
        assert_eq!(s.timeliness(d(11, 6)), Timeliness::Overdue);
        s.completed_on = Some(d(11, 3));
        assert_eq!(s.timeliness(d(11, 30)), Timeliness::AheadOfSchedule);
        s.completed_on = Some(d(11, 5));
        assert_eq!(s.timeliness(d(11, 30)), Timeliness::OnTime);
        s.completed_on = Some(d(11, 7));
        assert_eq!(s.timeliness(d(11, 7)), Timeliness::Overdue);
    }
}

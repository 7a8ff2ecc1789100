//! Record lookup: validating what was typed, and wording the daemon's answer for citizens.
//!
//! No I/O here: the wiring runs `ApplianceServices::lookup_record` on a worker thread and
//! passes the result to [`present`] / [`lookup_error_message`].

use chrono::NaiveDate;

use crate::appliance::LookupError;
use crate::catalog::Lang;
use crate::record::{RecordId, RecordIdError, RecordStage, RecordStatus, Timeliness};

/// Longest text the record field accepts (a little above the longest valid ID, so the
/// citizen sees the "too long" message rather than keys that stop working).
pub const MAX_INPUT: usize = 44;

/// What the result card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCard {
    pub id: String,
    pub procedure: String,
    pub stage: String,
    pub received: String,
    pub due: String,
    pub timeliness: String,
    /// 0 ahead, 1 on time, 2 overdue.
    pub timeliness_kind: i32,
}

/// Validate the typed ID; the error is a message for the citizen.
pub fn validate(input: &str, lang: Lang) -> Result<RecordId, String> {
    RecordId::parse(input).map_err(|e| match (e, lang) {
        (RecordIdError::Empty, Lang::Vi) => "Hãy nhập mã hồ sơ in trên giấy biên nhận.".into(),
        (RecordIdError::Empty, Lang::En) => "Type the record ID printed on your receipt.".into(),
        (RecordIdError::TooLong, Lang::Vi) => "Mã hồ sơ quá dài.".into(),
        (RecordIdError::TooLong, Lang::En) => "That is too long for a record ID.".into(),
        (RecordIdError::BadDate(d), Lang::Vi) => {
            format!("Phần ngày “{d}” của mã hồ sơ không đúng (YYMMDD).")
        }
        (RecordIdError::BadDate(d), Lang::En) => {
            format!("The date part “{d}” is not a real day (YYMMDD).")
        }
        (_, Lang::Vi) => {
            "Mã hồ sơ có dạng 000.00.14.H56-251119-0042 (mã cơ quan - ngày nhận - số thứ tự)."
                .into()
        }
        (_, Lang::En) => {
            "A record ID looks like 000.00.14.H56-251119-0042 (agency - date received - number)."
                .into()
        }
    })
}

fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub fn stage_label(stage: RecordStage, lang: Lang) -> &'static str {
    match (stage, lang) {
        (RecordStage::Received, Lang::Vi) => "Đã tiếp nhận",
        (RecordStage::InProgress, Lang::Vi) => "Đang giải quyết",
        (RecordStage::NeedsSupplement, Lang::Vi) => "Cần bổ sung giấy tờ",
        (RecordStage::ReadyForPickup, Lang::Vi) => "Đã có kết quả, mời đến nhận",
        (RecordStage::Returned, Lang::Vi) => "Đã trả kết quả",
        (RecordStage::Received, Lang::En) => "Received",
        (RecordStage::InProgress, Lang::En) => "In progress",
        (RecordStage::NeedsSupplement, Lang::En) => "More documents needed",
        (RecordStage::ReadyForPickup, Lang::En) => "Ready for pickup",
        (RecordStage::Returned, Lang::En) => "Result handed over",
    }
}

pub fn present(s: &RecordStatus, today: NaiveDate, lang: Lang) -> RecordCard {
    let tl = s.timeliness(today);
    let done = s.completed_on.is_some();
    let timeliness = match (tl, done, lang) {
        (Timeliness::AheadOfSchedule, _, Lang::Vi) => "Giải quyết trước hạn",
        (Timeliness::OnTime, true, Lang::Vi) => "Giải quyết đúng hạn",
        (Timeliness::OnTime, false, Lang::Vi) => "Trong hạn",
        (Timeliness::Overdue, true, Lang::Vi) => "Giải quyết quá hạn",
        (Timeliness::Overdue, false, Lang::Vi) => "Đã quá hạn hẹn trả",
        (Timeliness::AheadOfSchedule, _, Lang::En) => "Resolved ahead of schedule",
        (Timeliness::OnTime, true, Lang::En) => "Resolved on time",
        (Timeliness::OnTime, false, Lang::En) => "On schedule",
        (Timeliness::Overdue, true, Lang::En) => "Resolved late",
        (Timeliness::Overdue, false, Lang::En) => "Past the due date",
    };
    RecordCard {
        id: s.id.to_string(),
        procedure: s.procedure.clone().unwrap_or_default(),
        stage: stage_label(s.stage, lang).to_owned(),
        received: date(s.received_on),
        due: date(s.due_on),
        timeliness: timeliness.to_owned(),
        timeliness_kind: match tl {
            Timeliness::AheadOfSchedule => 0,
            Timeliness::OnTime => 1,
            Timeliness::Overdue => 2,
        },
    }
}

pub fn lookup_error_message(e: &LookupError, lang: Lang) -> String {
    match (e, lang) {
        (LookupError::Offline, Lang::Vi) => "Tra cứu hồ sơ cần kết nối tới máy chủ, hiện đang mất kết nối. Vui lòng thử lại sau hoặc hỏi tại quầy.".into(),
        (LookupError::Offline, Lang::En) => "Record lookup needs the connection to the server, which is down. Please try again later or ask at a counter.".into(),
        (LookupError::NotFound, Lang::Vi) => "Không tìm thấy hồ sơ với mã này. Hãy kiểm tra lại mã trên giấy biên nhận.".into(),
        (LookupError::NotFound, Lang::En) => "No record with this ID. Check the ID on your receipt.".into(),
        (LookupError::Failed(_), Lang::Vi) => "Chưa tra cứu được, vui lòng thử lại hoặc hỏi tại quầy.".into(),
        (LookupError::Failed(_), Lang::En) => "The lookup failed; please try again or ask at a counter.".into(),
    }
}

pub fn busy_message(lang: Lang) -> String {
    match lang {
        Lang::Vi => "Đang tra cứu…".into(),
        Lang::En => "Looking up…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_guide_the_citizen() {
        assert!(validate("000.00.14.H56-251119-0042", Lang::Vi).is_ok());
        assert_eq!(
            validate("", Lang::En).unwrap_err(),
            "Type the record ID printed on your receipt."
        );
        assert!(validate("12345", Lang::Vi)
            .unwrap_err()
            .starts_with("Mã hồ sơ có dạng"));
        assert!(validate("H56-251339-0042", Lang::En)
            .unwrap_err()
            .contains("251339"));
    }

    #[test]
    fn an_open_record_past_due_is_overdue() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let s = RecordStatus {
            id: RecordId::parse("000.00.14.H56-261101-0001").unwrap(),
            procedure: Some("1.001193".into()),
            stage: RecordStage::InProgress,
            received_on: d(11, 1),
            due_on: d(11, 5),
            completed_on: None,
        };
        let c = present(&s, d(11, 6), Lang::Vi);
        assert_eq!(
            (c.stage.as_str(), c.timeliness_kind),
            ("Đang giải quyết", 2)
        );
        assert_eq!(
            (c.received.as_str(), c.due.as_str()),
            ("01/11/2026", "05/11/2026")
        );
        assert_eq!(present(&s, d(11, 4), Lang::En).timeliness, "On schedule");
        assert!(
            lookup_error_message(&LookupError::Offline, Lang::En).contains("needs the connection")
        );
    }
}

//! The camera's clock, for the WS-UsernameToken's `Created` only: cameras refuse a token
//! whose `Created` is more than a few minutes from their own clock, and many camera clocks are
//! off by hours (no NTP, a wrong time zone taken for UTC). ONVIF's GetSystemDateAndTime needs
//! no authentication; its `UTCDateTime` against the device's clock, at the middle of the
//! round trip, gives the offset the token is made with.
//!
//! The camera's time is never used for anything else (evidence carries the device's time).

use chrono::{NaiveDate, TimeZone, Utc};

use super::soap::{self, first, text_in, CallError};

const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";

/// Milliseconds to add to the device's clock to get the camera's (UTC). Zero when the camera
/// does not say its UTC time (it may still accept the device's); a camera that cannot be
/// reached or does not answer in time is an error.
pub async fn camera_offset_ms(client: &reqwest::Client, xaddr: &str) -> Result<i64, CallError> {
    let body = format!("<GetSystemDateAndTime xmlns=\"{DEVICE_NS}\"/>");
    let sent = Utc::now().timestamp_millis();
    let text = match soap::call(client, xaddr, "GetSystemDateAndTime", &body, None).await {
        Ok(t) => t,
        Err(e @ (CallError::Timeout { .. } | CallError::Unreachable(_))) => return Err(e),
        Err(_) => return Ok(0),
    };
    let back = Utc::now().timestamp_millis();
    Ok(utc_ms(&text).map_or(0, |camera| camera - (sent + back) / 2))
}

/// The `UTCDateTime` of a GetSystemDateAndTime answer, in Unix ms.
pub fn utc_ms(answer: &str) -> Option<i64> {
    let doc = roxmltree::Document::parse(answer).ok()?;
    let utc = first(&doc, "UTCDateTime")?;
    let num = |name: &str| -> Option<u32> { text_in(utc, name)?.parse().ok() };
    let date = NaiveDate::from_ymd_opt(num("Year")? as i32, num("Month")?, num("Day")?)?;
    let at = date.and_hms_opt(num("Hour")?, num("Minute")?, num("Second")?)?;
    Some(Utc.from_utc_datetime(&at).timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_utc_time_is_read_and_a_local_only_answer_gives_none() {
        let answer = "<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope' \
             xmlns:tt='http://www.onvif.org/ver10/schema'><e:Body><GetSystemDateAndTimeResponse>\
             <SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:UTCDateTime>\
             <tt:Time><tt:Hour>9</tt:Hour><tt:Minute>5</tt:Minute><tt:Second>7</tt:Second>\
             </tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>12</tt:Month><tt:Day>6</tt:Day>\
             </tt:Date></tt:UTCDateTime></SystemDateAndTime></GetSystemDateAndTimeResponse>\
             </e:Body></e:Envelope>";
        // 2026-12-06T09:05:07Z
        assert_eq!(utc_ms(answer), Some(1_796_547_907_000));
        let local_only = answer.replace("UTCDateTime", "LocalDateTime");
        assert_eq!(utc_ms(&local_only), None);
        assert_eq!(utc_ms(&answer.replace(">12<", ">13<")), None);
    }
}

//! Numbers and dates as people read them.

use wasm_bindgen::JsValue;

/// `1999` → `$19.99`. Amounts travel as whole cents so nothing is ever rounded.
pub fn price(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let dollars = (cents / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, digit) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// A moment in the reader's own time zone and locale, from milliseconds since the epoch.
pub fn local_time_ms(ms: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    if date.get_time().is_nan() {
        return String::new();
    }
    date.to_locale_string("default", &JsValue::UNDEFINED).into()
}

/// A moment as ISO 8601 (for `<time datetime>`), from milliseconds since the epoch.
pub fn iso_time_ms(ms: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    if date.get_time().is_nan() {
        return String::new();
    }
    date.to_iso_string().into()
}

/// An RFC 3339 timestamp from the API in the reader's time zone; the raw text when it does not
/// parse.
pub fn local_time(rfc3339: &str) -> String {
    let ms = js_sys::Date::parse(rfc3339);
    if ms.is_nan() {
        rfc3339.to_owned()
    } else {
        local_time_ms(ms)
    }
}

/// A duration in seconds as `1 h 05 min 09 s`, `4 min 02 s`, `9 s`.
pub fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        assert_eq!(price(0), "$0.00");
        assert_eq!(price(5), "$0.05");
        assert_eq!(price(1999), "$19.99");
        assert_eq!(price(123_456_789), "$1,234,567.89");
        assert_eq!(price(-250), "-$2.50");
    }

    #[test]
    fn countdowns() {
        assert_eq!(countdown(-3), "0 s");
        assert_eq!(countdown(9), "9 s");
        assert_eq!(countdown(242), "4 min 02 s");
        assert_eq!(countdown(3909), "1 h 05 min 09 s");
    }
}

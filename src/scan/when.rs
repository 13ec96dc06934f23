//! When an input was written: a systemd-coredump name's timestamp, else its
//! `user.coredump.timestamp` attribute, else the file's modification time; and `--since` (RFC 3339, or a duration back from
//! now such as `24h`). Times are seconds since the Unix epoch, shown as RFC
//! 3339 in UTC.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time in a systemd-coredump file name,
/// `core.COMM.UID.BOOTID.PID.USEC[.zst|.xz|.lz4]`, parsed from the right
/// (COMM is escaped and may hold dots): seconds since the epoch.
pub fn from_systemd_name(name: &str) -> Option<i64> {
    let name = name.strip_prefix("core.")?;
    let name = [".zst", ".xz", ".lz4", ".gz"].iter().find_map(|e| name.strip_suffix(e)).unwrap_or(name);
    let mut parts = name.rsplit('.');
    let usec: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?;
    let boot_id = parts.next()?;
    let uid = parts.next()?;
    let comm_present = parts.next().is_some();
    let ok = comm_present
        && pid.bytes().all(|b| b.is_ascii_digit())
        && uid.bytes().all(|b| b.is_ascii_digit())
        && boot_id.len() == 32
        && boot_id.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| i64::try_from(usec / 1_000_000).ok()).flatten()
}

/// When `path` was written: its systemd-coredump name, else the timestamp
/// systemd-coredump left in its extended attributes, else its mtime.
pub fn of_file(path: &Path) -> Option<i64> {
    if let Some(t) = path.file_name().and_then(|n| n.to_str()).and_then(from_systemd_name) {
        return Some(t);
    }
    if let Some(t) = super::xattrs::read(path).and_then(|c| c.unix_seconds) {
        return Some(t);
    }
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(match m.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => 0i64.checked_sub(i64::try_from(e.duration().as_secs()).ok()?)?,
    })
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
/// The seconds of an RFC 3339 time at the start of a log line
/// (`2026-12-01T03:12:44.1Z`), when it is one.
pub fn of_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || !b.get(..4)?.iter().all(u8::is_ascii_digit) || b.get(4) != Some(&b'-') {
        return None;
    }
    parse_since(s, UNIX_EPOCH).ok()
}

/// The seconds of a syslog/journald short time (`Dec 01 03:12:44`), which
/// names no year: the year that puts it last at or before `reference` (the
/// log file's time) plus a day.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "month, day and time are range-checked above, the year is rfc3339's (below 2^40)"
)]
pub fn of_syslog(s: &str, reference: i64) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut parts = s.split_whitespace();
    let name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as i64 + 1;
    let day: i64 = parts.next()?.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let year_of_reference = rfc3339(reference).get(..4)?.parse::<i64>().ok()?;
    let at = |y: i64| days_from_civil(y, month, day) * 86_400 + h * 3600 + m * 60 + sec;
    let t = at(year_of_reference);
    Some(if t > reference.saturating_add(86_400) { at(year_of_reference - 1) } else { t })
}

#[allow(
    clippy::arithmetic_side_effects,
    reason = "callers pass years below 2^40 and checked months and days: every intermediate stays far below 2^63"
)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 in UTC (`2026-12-01T03:12:44Z`).
#[allow(
    clippy::arithmetic_side_effects,
    reason = "|secs| <= 2^63 makes |days| < 2^47: every intermediate of the civil-date conversion stays far below 2^63"
)]
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses `--since`: RFC 3339 (`2026-12-01T00:00:00Z`, `…+02:00`, a date
/// alone), or a duration back from `now` (`90s`, `30m`, `24h`, `7d`).
#[allow(clippy::arithmetic_side_effects, reason = "the date and time fields are at most four digits each")]
pub fn parse_since(s: &str, now: SystemTime) -> Result<i64, String> {
    let bad = || format!("--since {s:?}: give an RFC 3339 time (2026-12-01T00:00:00Z) or a duration (24h, 30m, 7d)");
    if let Some((num, unit)) = s.find(|c: char| !c.is_ascii_digit()).map(|i| s.split_at(i)) {
        if !num.is_empty() && matches!(unit, "s" | "m" | "h" | "d") {
            let n: u64 = num.parse().map_err(|_| bad())?;
            let secs = n.saturating_mul(match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => 86_400,
            });
            let back = now.checked_sub(Duration::from_secs(secs)).unwrap_or(UNIX_EPOCH);
            return Ok(back.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
        }
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        s.get(r).filter(|t| t.bytes().all(|b| b.is_ascii_digit())).and_then(|t| t.parse().ok()).ok_or_else(bad)
    };
    let b = s.as_bytes();
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    if b.len() == 10 {
        return Ok(secs);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(bad());
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    secs += h * 3600 + mi * 60 + se;
    let mut rest = s.get(19..).ok_or_else(bad)?;
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    match rest {
        "Z" | "z" => Ok(secs),
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(bad()),
            };
            let off = rest.get(1..).filter(|o| o.len() == 5 && o.as_bytes().get(2) == Some(&b':')).ok_or_else(bad)?;
            let oh: i64 = off.get(0..2).and_then(|t| t.parse().ok()).ok_or_else(bad)?;
            let om: i64 = off.get(3..5).and_then(|t| t.parse().ok()).ok_or_else(bad)?;
            Ok(secs - sign * (oh * 3600 + om * 60))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_line_times_are_read() {
        let dec2 = parse_since("2026-12-02T10:00:00Z", UNIX_EPOCH).unwrap();
        assert_eq!(of_rfc3339("2026-12-01T03:12:44.123456789Z").map(rfc3339).as_deref(), Some("2026-12-01T03:12:44Z"));
        assert_eq!(of_rfc3339("2026-12-01T04:12:44+01:00").map(rfc3339).as_deref(), Some("2026-12-01T03:12:44Z"));
        assert_eq!(of_rfc3339("24h"), None);
        assert_eq!(of_syslog("Dec 01 03:12:44", dec2).map(rfc3339).as_deref(), Some("2026-12-01T03:12:44Z"));
        // A log written on the 2nd of January holds last December's lines.
        let jan2 = parse_since("2027-01-02T10:00:00Z", UNIX_EPOCH).unwrap();
        assert_eq!(of_syslog("Dec 31 23:59:59", jan2).map(rfc3339).as_deref(), Some("2026-12-31T23:59:59Z"));
        assert_eq!(of_syslog("Dec  1 03:12:44", dec2).map(rfc3339).as_deref(), Some("2026-12-01T03:12:44Z"));
        assert_eq!(of_syslog("Foo 01 03:12:44", dec2), None);
        assert_eq!(of_syslog("Dec 01 25:12:44", dec2), None);
    }

    #[test]
    fn systemd_names_parse_from_the_right() {
        let boot = "0123456789abcdef0123456789abcdef";
        assert_eq!(from_systemd_name(&format!("core.myapp.0.{boot}.4242.1764559964000000.zst")), Some(1_764_559_964));
        // COMM is escaped and may hold dots.
        assert_eq!(
            from_systemd_name(&format!("core.my\\x2eapp.v2.1000.{boot}.7.1764559964123456")),
            Some(1_764_559_964)
        );
        assert_eq!(from_systemd_name("core.12345"), None);
        assert_eq!(from_systemd_name(&format!("core.app.x.{boot}.7.1764559964000000")), None);
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_559_964), "2025-12-01T03:32:44Z");
        let now = UNIX_EPOCH + Duration::from_secs(1_764_559_964);
        for t in [0, 951_782_400, 1_764_559_964, 4_102_444_800] {
            assert_eq!(parse_since(&rfc3339(t), now), Ok(t));
        }
        assert_eq!(parse_since("2025-12-01T05:32:44+02:00", now), Ok(1_764_559_964));
        assert_eq!(parse_since("2025-12-01T03:32:44.5Z", now), Ok(1_764_559_964));
        assert_eq!(parse_since("2025-12-01", now), Ok(1_764_547_200));
        assert_eq!(parse_since("24h", now), Ok(1_764_559_964 - 86_400));
        assert_eq!(parse_since("7d", now), Ok(1_764_559_964 - 7 * 86_400));
        for bad in ["", "yesterday", "24", "h", "2025-13-01", "2025-12-01T25:00:00Z", "2025-12-01T03:32:44"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }
}

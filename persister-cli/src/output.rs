//! How values are shown: UTC times, byte sizes, tables.

use comfy_table::{ContentArrangement, Table, presets};
use persister_core::Timestamp;
use time::format_description::well_known::Rfc3339;

/// A time as UTC RFC 3339 to the second (`2026-12-03T12:00:00Z`), `-` for Go's zero time.
pub(crate) fn time(ts: Timestamp) -> String {
    if ts.is_zero() {
        return "-".into();
    }
    let t = ts.to_utc().datetime();
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| ts.to_string())
}

/// A byte count with a binary unit (`1.4 MiB`).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024 * 1024 && unit + 2 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    if value < 1024 {
        return format!("{value} {}", UNITS[unit]);
    }
    let tenths = value * 10 / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit + 1])
}

/// A plain table with `header`: columns separated by spaces, no borders, never wrapped (so
/// that it reads the same in a terminal, a pipe and a test).
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.to_vec());
    table
}

/// The text of `table`: no padding before the first column, no spaces at the line ends.
pub(crate) fn render(table: &Table) -> String {
    let mut text = String::new();
    for line in table.lines() {
        text.push_str(line.strip_prefix(' ').unwrap_or(&line).trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{bytes, time};
    use persister_core::Timestamp;

    #[test]
    fn sizes_and_times() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1_450_000), "1.3 MiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
        let t = Timestamp::parse("2026-12-03T04:05:06.789-08:00").expect("valid");
        assert_eq!(time(t), "2026-12-03T12:05:06Z");
        assert_eq!(time(Timestamp::ZERO), "-");
    }
}

//! `import --timings`: the throughput of an import of 240 generated commands of mixed sizes
//! (1 to 20 resource updates, every eighth one 60) into an empty SQLite file.

use persister_core::codec;
use persister_testkit::TempDb;
use persister_testkit::workload;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::ok;

#[tokio::test(flavor = "multi_thread")]
async fn import_timings_report_commands_and_bytes_per_second() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut text = String::new();
    for i in 0..240 {
        let n = if i % 8 == 0 { 60 } else { 1 + (i * 7) % 20 };
        let command = workload::command(&mut rng, "M", i, n);
        text.push_str(&codec::encode_command(&command).expect("encodes"));
        text.push('\n');
    }
    let file = TempDb::new("timings-jsonl");
    std::fs::write(file.path(), &text).expect("writes");
    let target = TempDb::new("timings-target");
    let url = format!("sqlite:{}", target.path().display());
    let out = ok(&url, &["import", &file.path().display().to_string(), "--timings"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("timings: "))
        .unwrap_or_else(|| panic!("a timings line: {out}"));
    eprintln!("{line} ({} bytes of JSON Lines, debug build)", text.len());
    assert!(line.starts_with("timings: 240 command(s), "), "{line}");
    let rate = |unit: &str| -> f64 {
        let before = line.split(unit).next().unwrap_or_default();
        let number = before.rsplit(' ').nth(1).unwrap_or_default();
        number.parse().unwrap_or_else(|_| panic!("a number before {unit}: {line}"))
    };
    assert!(rate("commands/s") > 0.0, "{line}");
    assert!(rate("MiB/s") > 0.0, "{line}");
    assert!(out.contains("imported 240 of 240"), "{out}");
}

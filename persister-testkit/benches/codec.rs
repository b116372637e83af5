//! Codec benchmarks: sonic-rs against serde_json on the W1 command (196 resource updates,
//! about 1.5 MB) and on one of its resource updates (`cargo bench -p persister-testkit`).
//!
//! `typed` is the product's path (sonic-rs into the Go-shaped model, raw fields passed through).
//! The model's raw fields only work through sonic-rs, so the like-for-like comparison of the two
//! libraries decodes into and encodes from each library's generic JSON value (`dom`).

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use persister_core::codec::{
    decode_command, decode_resource_update, encode_command, encode_resource_update,
};
use std::hint::black_box;

/// The W1 command (196 resource updates) as the Go agent encodes it.
fn w1_json() -> String {
    let workload = persister_testkit::workload::Workload::w1(1);
    encode_command(&workload.commands[0]).expect("encodes")
}

fn bench(c: &mut Criterion, name: &str, json: &str) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("typed sonic-rs decode+encode", |b| {
        b.iter(|| {
            if name == "command" {
                let v = decode_command(black_box(json.as_bytes())).expect("decodes");
                black_box(encode_command(&v).expect("encodes"))
            } else {
                let v = decode_resource_update(black_box(json.as_bytes())).expect("decodes");
                black_box(encode_resource_update(&v).expect("encodes"))
            }
        });
    });
    group.bench_function("dom sonic-rs decode+encode", |b| {
        b.iter(|| {
            let v: sonic_rs::Value = sonic_rs::from_str(black_box(json)).expect("decodes");
            black_box(sonic_rs::to_string(&v).expect("encodes"))
        });
    });
    group.bench_function("dom serde_json decode+encode", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_str(black_box(json)).expect("decodes");
            black_box(serde_json::to_string(&v).expect("encodes"))
        });
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    let command = w1_json();
    let ru = {
        let v = decode_command(command.as_bytes()).expect("decodes");
        encode_resource_update(&v.resource_updates[1]).expect("encodes")
    };
    bench(c, "command", &command);
    bench(c, "resource_update", &ru);
}

criterion_group!(benches, codec);
criterion_main!(benches);

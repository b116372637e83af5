//! The workload generators produce the documented shapes, deterministically.

use persister_core::codec;
use persister_testkit::workload::{Message, Workload};

/// Every command of W1, W2 and W3 stored the way the persister stores it (body, head and each
/// resource update alone) and read back reads back whole: the same bytes as encoding it whole.
#[test]
fn workload_commands_round_trip_through_the_stored_split() {
    for (name, w) in [("W1", Workload::w1(7)), ("W2", Workload::w2(7)), ("W3", Workload::w3(7))] {
        for command in &w.commands {
            let whole = codec::encode_command(command).expect("encodes");
            let body = codec::encode_body(command).expect("body encodes");
            let head = codec::encode_head(command).expect("head encodes");
            let mut back = codec::decode_body(body.as_bytes()).expect("body decodes");
            codec::decode_head(head.as_bytes()).expect("head decodes").apply_to(&mut back);
            for ru in &command.resource_updates {
                let row = codec::encode_resource_update(ru).expect("resource update encodes");
                back.resource_updates
                    .push(codec::decode_resource_update(row.as_bytes()).expect("decodes"));
            }
            let again = codec::encode_command(&back).expect("encodes");
            assert!(again == whole, "{name}: command {} differs after the split", command.id);
        }
    }
}

#[test]
fn w1_is_one_large_command() {
    let w = Workload::w1(7);
    assert_eq!(w.commands.len(), 1);
    assert_eq!(w.commands[0].resource_updates.len(), 196);
    let bytes = w.json_bytes();
    assert!((1_300_000..1_800_000).contains(&bytes), "W1 is about 1.5 MB, got {bytes}");
    assert_eq!(w.messages.len(), 196 * 6);
    let completions = w.messages.iter().filter(|m| matches!(m, Message::Complete(_))).count();
    assert_eq!(completions, 196);
}

#[test]
fn w2_is_many_mixed_commands() {
    let w = Workload::w2(7);
    assert_eq!(w.commands.len(), 40);
    let avg = w.json_bytes() / 40;
    assert!((250_000..650_000).contains(&avg), "W2 averages about 430 KB, got {avg}");
    let sizes: Vec<usize> = w.commands.iter().map(|c| c.resource_updates.len()).collect();
    assert!(sizes.iter().all(|n| (10..=196).contains(n)));
    // Interleaved: the first 200 messages touch several commands.
    let mut ids: Vec<&str> = w.messages[..200].iter().map(Message::command_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert!(ids.len() > 1);
}

#[test]
fn generators_are_deterministic() {
    let a = Workload::w1(42);
    let b = Workload::w1(42);
    assert_eq!(a.commands, b.commands);
    assert_eq!(a.messages, b.messages);
    assert_ne!(Workload::w1(43).messages, a.messages);
}

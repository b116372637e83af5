//! Summary listing and retention scenarios: exact ordering, paging, filters, counts and
//! sizes, and purging finished commands.

use std::collections::BTreeMap;
use std::sync::Arc;

use persister_core::{
    CommandKind, CommandState, CommandSummary, Cursor, DynCommandStore, ListFilter, Persister,
    ResourceUpdateState, StoredCommand, SummaryPage, Timestamp, from_exact_key,
};

use super::store_level::{checkpoint, load, stored};

/// A command at exact `StartTs` (`micros`, `ns`), last modified at the same time.
fn at(id: &str, state: &str, (micros, ns): (i64, u16), rows: i64) -> StoredCommand {
    let mut c = stored(id, state, micros, rows);
    c.header.start_ts_ns = ns;
    c.header.modified_ts_ns = ns;
    c.header.stored_bytes = 1000 + micros.unsigned_abs();
    c
}

fn time((micros, ns): (i64, u16)) -> Timestamp {
    from_exact_key(micros, ns).expect("a time in range")
}

fn ids(page: &SummaryPage) -> Vec<&str> {
    page.summaries.iter().map(|s| s.id.as_str()).collect()
}

async fn page(store: &DynCommandStore, filter: &ListFilter) -> SummaryPage {
    store.list_summaries(filter).await.expect("list_summaries")
}

/// Every page of `filter` from the first, following `next` through its printed form.
async fn all_pages(store: &DynCommandStore, filter: ListFilter) -> Vec<CommandSummary> {
    let mut out = Vec::new();
    let mut filter = filter;
    loop {
        let page = page(store, &filter).await;
        assert!(page.summaries.len() <= filter.limit.map_or(usize::MAX, |l| l as usize));
        out.extend(page.summaries);
        let Some(next) = page.next else { break };
        let printed = next.to_string();
        filter = filter.after(printed.parse::<Cursor>().expect("the cursor parses back"));
    }
    out
}

/// Summaries and full listings order by exact `StartTs`, nanoseconds included, then id.
pub async fn summaries_order_by_exact_nanoseconds(store: Arc<DynCommandStore>) {
    for (id, ts) in [
        ("a", (1_700_000_000_000_000, 1)),
        ("b", (1_700_000_000_000_000, 999)),
        ("c", (1_699_999_999_999_999, 999)),
        ("d", (1_700_000_000_000_000, 999)),
        ("e", (-62_135_596_800_000_000, 0)),
    ] {
        store.insert(at(id, "InProgress", ts, 0)).await.expect("insert");
    }
    let listed = page(&*store, &ListFilter::all()).await;
    assert_eq!(ids(&listed), ["d", "b", "a", "c", "e"]);
    assert_eq!(listed.next, None);
    assert_eq!(listed.summaries[1].start_ts, time((1_700_000_000_000_000, 999)));
    assert_eq!(listed.summaries[4].start_ts, Timestamp::ZERO);
    let full: Vec<String> =
        store.list(&ListFilter::all()).await.expect("list").into_iter().map(|r| r.id).collect();
    assert_eq!(full, ["d", "b", "a", "c", "e"]);
}

/// Paging with a cursor lists every command once, ties on one `StartTs` included.
pub async fn summaries_page_with_a_cursor(store: Arc<DynCommandStore>) {
    let mut expected = Vec::new();
    for i in 0..23_u16 {
        // Groups of four share an exact `StartTs`; ids do not sort like insertion order.
        let ts = (1_000 + i64::from(i / 4), (i / 4) * 7);
        let id = format!("{}-{i}", ["x", "m", "b", "q"][usize::from(i % 4)]);
        store.insert(at(&id, "Success", ts, 1)).await.expect("insert");
        expected.push((ts, id));
    }
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for size in [1, 4, 5, 22, 23, 24] {
        let listed = all_pages(&*store, ListFilter::all().limit(size)).await;
        let got: Vec<String> = listed.into_iter().map(|s| s.id).collect();
        assert_eq!(got, expected, "page size {size}");
    }
    let first = page(&*store, &ListFilter::all().limit(23)).await;
    assert_eq!((first.summaries.len(), first.next), (23, None), "a full last page has no next");
    let exact = page(&*store, &ListFilter::all().limit(5)).await;
    assert_eq!(exact.next, exact.summaries.last().map(CommandSummary::cursor));
}

/// Every filter of `ListFilter` selects what it says, alone and combined, on both listings.
pub async fn summaries_filter_by_every_field(store: Arc<DynCommandStore>) {
    for (id, state, kind, client, ts) in [
        ("a", "Success", "apply", "x", (10, 0)),
        ("b", "InProgress", "sync", "y", (20, 5)),
        ("c", "Failed", "apply", "x", (20, 6)),
        ("d", "NotStarted", "destroy", "", (30, 0)),
        ("e", "Canceled", "apply", "y", (40, 999)),
    ] {
        let mut c = at(id, state, ts, 0);
        c.header.command = kind.into();
        c.header.client_id = Some(client.into());
        store.insert(c).await.expect("insert");
    }
    let cursor = Cursor::new(time((20, 6)), "c");
    let cases: Vec<(ListFilter, &[&str])> = vec![
        (ListFilter::all(), &["e", "d", "c", "b", "a"]),
        (ListFilter::all().state(CommandState::Success), &["a"]),
        (ListFilter::all().command(CommandKind::Apply), &["e", "c", "a"]),
        (ListFilter::all().client_id("y"), &["e", "b"]),
        (ListFilter::all().client_id(""), &["d"]),
        (ListFilter::all().since(time((20, 6))), &["e", "d", "c"]),
        (ListFilter::all().until(time((20, 6))), &["b", "a"]),
        (ListFilter::all().since(time((20, 5))).until(time((30, 0))), &["c", "b"]),
        (ListFilter::all().unfinished(true), &["d", "b"]),
        (ListFilter::all().after(cursor.clone()), &["b", "a"]),
        (ListFilter::all().after(cursor).command(CommandKind::Apply), &["a"]),
        (ListFilter::all().command(CommandKind::Apply).client_id("x").limit(1), &["c"]),
        (ListFilter::all().unfinished(true).state(CommandState::Success), &[]),
        (ListFilter::all().command(CommandKind::Eval), &[]),
    ];
    for (filter, expected) in cases {
        let listed = page(&*store, &filter).await;
        assert_eq!(ids(&listed), expected, "{filter:?}");
        let full: Vec<String> =
            store.list(&filter).await.expect("list").into_iter().map(|r| r.id).collect();
        assert_eq!(full, expected, "list {filter:?}");
    }
}

/// Counts per state and `stored_bytes` are those written, after insert and after apply.
pub async fn summaries_count_rows_and_stored_bytes(store: Arc<DynCommandStore>) {
    let mut c = at("c", "InProgress", (5, 5), 4);
    c.resource_updates[1].state = "Success".into();
    c.resource_updates[2].state = "Rejected".into();
    c.header.stored_bytes = 12_345;
    store.insert(c).await.expect("insert");
    store.insert(at("empty", "NotStarted", (1, 0), 0)).await.expect("insert");
    let listed = page(&*store, &ListFilter::all()).await;
    let s = &listed.summaries[0];
    assert_eq!(
        (s.id.as_str(), s.command, s.state),
        ("c", CommandKind::Apply, CommandState::InProgress)
    );
    assert_eq!((s.client_id.as_str(), s.stored_bytes), ("client", 12_345));
    assert_eq!((s.resource_updates, s.final_resource_updates), (4, 2));
    let by_state = BTreeMap::from([
        (ResourceUpdateState::NotStarted, 2),
        (ResourceUpdateState::Success, 1),
        (ResourceUpdateState::Rejected, 1),
    ]);
    assert_eq!(s.by_state, by_state);
    let empty = &listed.summaries[1];
    assert_eq!((empty.resource_updates, empty.by_state.len()), (0, 0));

    let mut rows = vec![super::store_level::change(0)];
    rows[0].state = "Failed".into();
    let mut cp = checkpoint("c", 0, rows);
    cp.header.stored_bytes = 777;
    cp.header.start_ts_ns = 9;
    cp.header.modified_ts_ns = 8;
    store.apply(cp).await.expect("apply");
    let s = page(&*store, &ListFilter::all().limit(1)).await.summaries.remove(0);
    assert_eq!((s.stored_bytes, s.resource_updates, s.final_resource_updates), (777, 4, 3));
    assert_eq!((s.start_ts, s.modified_ts), (time((10, 9)), time((20, 8))));
    assert_eq!(load(&*store, "c").await.header.stored_bytes, 777);
}

/// Through the persister, `stored_bytes` is the JSON size of what is stored, after each write.
pub async fn persister_keeps_stored_bytes_exact(store: Arc<DynCommandStore>) {
    let workload = crate::workload::Workload::w1(6).truncated(12);
    let mut p = Persister::new(store.clone());
    p.store_new(workload.commands[0].clone()).await.expect("stored");
    let id = workload.commands[0].id.clone();
    let check = |when: String| {
        let store = store.clone();
        let id = id.clone();
        async move {
            let Some(c) = store.load(&id).await.expect("load") else { return };
            let size = c.json_bytes();
            let listed = store.list_summaries(&ListFilter::all()).await.expect("list");
            let s = listed.summaries.iter().find(|s| s.id == id).expect("listed");
            assert_eq!(s.stored_bytes, size as u64, "{when}");
            assert_eq!(s.resource_updates, c.resource_updates.len() as u64, "{when}");
        }
    };
    check("after store_new".into()).await;
    for (i, message) in workload.messages.into_iter().enumerate() {
        message.send(&mut p).await.expect("handled");
        check(format!("after message {i}")).await;
    }
}

/// `purge_finished` removes only final commands modified before the bound, oldest first, at
/// most `max_rows`, with their resource updates; unfinished commands stay whatever their age.
pub async fn purge_removes_old_finished_commands_oldest_first(store: Arc<DynCommandStore>) {
    for (id, state, ts) in [
        ("old-success", "Success", (100, 1)),
        ("old-failed", "Failed", (100, 0)),
        ("old-canceled", "Canceled", (50, 0)),
        ("old-running", "InProgress", (10, 0)),
        ("old-canceling", "Canceling", (10, 0)),
        ("edge", "Success", (200, 0)),
        ("recent", "Success", (300, 0)),
    ] {
        store.insert(at(id, state, ts, 2)).await.expect("insert");
    }
    let before = time((200, 0));
    let first = store.purge_finished(before, 2).await.expect("purge");
    let got: Vec<&str> = first.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(got, ["old-canceled", "old-failed"], "oldest first, max_rows honoured");
    assert_eq!(first[0].state, CommandState::Canceled);
    assert_eq!(first[0].modified_ts, time((50, 0)));
    assert_eq!(first[0].stored_bytes, 1050);
    let second = store.purge_finished(before, 100).await.expect("purge");
    let got: Vec<&str> = second.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(got, ["old-success"]);
    assert!(store.purge_finished(before, 100).await.expect("purge").is_empty());
    for gone in ["old-canceled", "old-failed", "old-success"] {
        assert_eq!(store.load(gone).await.expect("load"), None, "{gone}");
    }
    let left = page(&*store, &ListFilter::all()).await;
    assert_eq!(ids(&left), ["recent", "edge", "old-running", "old-canceling"]);
    assert!(left.summaries.iter().all(|s| s.resource_updates == 2));
    // The rows of a purged id are gone too: the id can be stored again from scratch.
    store.insert(at("old-failed", "NotStarted", (1, 0), 1)).await.expect("reinsert");
    assert_eq!(load(&*store, "old-failed").await.resource_updates.len(), 1);
    let info = store.info().await.expect("info");
    assert!(!info.backend.is_empty());
    store.reclaim().await.expect("reclaim");
    assert_eq!(page(&*store, &ListFilter::all()).await.summaries.len(), 5);
}

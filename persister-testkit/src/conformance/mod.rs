//! The shared conformance suite: scenarios generic over [`CommandStore`], and the property
//! suite, opened by a backend with one line: `persister_testkit::conformance_suite!(setup);`
//! where `setup` is an `async fn() -> SuiteStore` returning a fresh, empty store.
//!
//! The suite writes to the store freely; it is test support, not a stable API.

mod persister_level;
mod store_level;
mod summaries;
mod write_batch;

use std::any::Any;
use std::sync::Arc;

use persister_core::{CommandStore, DynCommandStore};

pub use persister_level::*;
pub use store_level::*;
pub use summaries::*;
pub use write_batch::*;

/// A store under test, with whatever must live as long as it (a test database, a temp file).
pub struct SuiteStore {
    /// The store.
    pub store: Arc<DynCommandStore>,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for SuiteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteStore").field("store", &self.store).finish_non_exhaustive()
    }
}

impl SuiteStore {
    /// Wraps a store.
    pub fn new(store: impl CommandStore) -> Self {
        Self { store: Arc::new(store), _guard: None }
    }

    /// Keeps `guard` alive as long as the store.
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self._guard = Some(Box::new(guard));
        self
    }
}

/// Expands to one test per scenario and per property, in a module named `conformance`.
///
/// `$setup` names an `async fn() -> SuiteStore` giving a fresh store.
#[macro_export]
macro_rules! conformance_suite {
    ($setup:ident) => {
        $crate::__conformance_scenarios!(
            $setup;
            insert_and_load_round_trip,
            insert_rejects_taken_ids,
            insert_rejects_duplicate_keys,
            apply_writes_header_and_listed_rows,
            apply_is_fenced_by_revision,
            apply_with_missing_position_writes_nothing,
            delete_is_fenced_and_removes_rows,
            list_filters_orders_and_limits,
            list_unfinished_lists_open_commands_oldest_first,
            text_round_trips_byte_for_byte,
            large_command_lifecycle,
            progress_writes_only_the_changed_row,
            failed_write_leaves_store_and_cache_consistent,
            sync_without_versions_is_deleted,
            finalization_leaves_no_plaintext,
            list_by_client_id_includes_the_empty_one,
            write_batch_applies_ops_in_order,
            write_batch_deletes_and_reinserts_in_order,
            write_batch_is_all_or_nothing,
            write_batch_returns_the_failing_ops_error,
            summaries_order_by_exact_nanoseconds,
            summaries_page_with_a_cursor,
            summaries_filter_by_every_field,
            summaries_count_rows_and_stored_bytes,
            persister_keeps_stored_bytes_exact,
            purge_removes_old_finished_commands_oldest_first,
        );
        $crate::__conformance_properties!(
            $setup;
            prop_matches_model => MatchesModel,
            prop_restart_equivalence => RestartEquivalence,
            prop_cache_transparency => CacheTransparency,
            prop_no_plaintext_at_rest => NoPlaintextAtRest,
        );
        mod group_commit {
            #[test]
            fn prop_group_commit_equals_one_at_a_time() {
                let rt = $crate::properties::runtime();
                let store = rt.block_on(super::$setup());
                $crate::properties::check_group_commit(&rt, store.store.clone());
                drop(store);
            }
        }
        mod drop_safety {
            #[test]
            fn prop_drop_at_every_await() {
                let rt = $crate::properties::runtime();
                let store = rt.block_on(super::$setup());
                $crate::properties::check_drop_safety(&rt, store.store.clone());
                drop(store);
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_scenarios {
    ($setup:ident; $($name:ident),* $(,)?) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::$setup().await;
                    $crate::conformance::$name(store.store.clone()).await;
                }
            )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_properties {
    ($setup:ident; $($name:ident => $property:ident),* $(,)?) => {
        mod properties {
            $(
                #[test]
                fn $name() {
                    let rt = $crate::properties::runtime();
                    let store = rt.block_on(super::$setup());
                    $crate::properties::check(&rt, store.store.clone(), $crate::properties::Property::$property);
                    drop(store);
                }
            )*
        }
    };
}

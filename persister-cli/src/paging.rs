//! Paging through what a filter selects, newest first, with memory flat whatever the
//! database's size: [`Summaries`], one page of summaries per query, and [`Commands`], each
//! of those commands loaded one at a time.

use persister_core::{CommandSummary, FormaCommand, ListFilter, Persister, PersisterConfig};

use crate::db::Db;
use crate::error::CliError;

/// The summaries a filter selects, newest first, read a page per query.
#[derive(Debug)]
pub(crate) struct Summaries<'a> {
    /// The database read.
    db: &'a Db,
    /// The filter of the next page to read; `None` once the last page was read.
    next: Option<ListFilter>,
    /// What is left of the page read last.
    page: std::vec::IntoIter<CommandSummary>,
}

impl<'a> Summaries<'a> {
    /// The summaries `filter` selects in `db`, read `page` at a time.
    pub(crate) fn new(db: &'a Db, filter: &ListFilter, page: u32) -> Self {
        Self { db, next: Some(filter.clone().limit(page)), page: Vec::new().into_iter() }
    }

    /// The next summary, `None` after the last.
    ///
    /// # Errors
    /// [`CliError::Store`] when a page cannot be read.
    pub(crate) async fn next(&mut self) -> Result<Option<CommandSummary>, CliError> {
        loop {
            if let Some(summary) = self.page.next() {
                return Ok(Some(summary));
            }
            let Some(filter) = self.next.take() else { return Ok(None) };
            let page = self.db.store.list_summaries(&filter).await.map_err(|e| self.db.error(e))?;
            self.next = page.next.map(|cursor| filter.after(cursor));
            self.page = page.summaries.into_iter();
        }
    }
}

/// The commands a filter selects, newest first, each loaded when it is asked for through a
/// persister whose cache holds nothing, so that one command at a time is in memory.
#[derive(Debug)]
pub(crate) struct Commands<'a> {
    /// Their summaries.
    summaries: Summaries<'a>,
    /// The persister that loads them.
    persister: Persister,
}

impl<'a> Commands<'a> {
    /// The commands `filter` selects in `db`, their summaries read `page` at a time.
    pub(crate) fn new(db: &'a Db, filter: &ListFilter, page: u32) -> Self {
        let config = PersisterConfig::default().cache_max_bytes(0);
        Self {
            summaries: Summaries::new(db, filter, page),
            persister: Persister::with_config(db.store.clone(), config),
        }
    }

    /// The next command and its summary, `None` after the last. A command deleted between
    /// its summary and its load (a purge running beside) is left out.
    ///
    /// # Errors
    /// [`CliError::Store`] when a page or a command cannot be read (naming the database).
    pub(crate) async fn next(
        &mut self,
    ) -> Result<Option<(CommandSummary, FormaCommand)>, CliError> {
        while let Some(summary) = self.summaries.next().await? {
            match self.persister.load(&summary.id).await {
                Ok(command) => return Ok(Some((summary, command))),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(self.summaries.db.error(e)),
            }
        }
        Ok(None)
    }
}

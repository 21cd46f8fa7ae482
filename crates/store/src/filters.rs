//! The WHERE clause of a list that callers narrow with optional filters (sign-in
//! traces, the audit log): column names are the store's own; values are always bound
//! (`$1`, `$2`… in the order added).

use chrono::{DateTime, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use crate::rows::ms;
use crate::values::Param;

#[derive(Debug, Default)]
pub(crate) struct Filters {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Filters {
    fn push(mut self, column: &'static str, op: &str, value: Param) -> Self {
        self.params.push(value);
        self.clauses
            .push(format!("{column} {op} ${}", self.params.len()));
        self
    }

    /// `column = value`, unless `value` is none or blank.
    pub(crate) fn eq(self, column: &'static str, value: Option<&str>) -> Self {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => self.push(column, "=", Param::from(v)),
            None => self,
        }
    }

    /// `column >= at`, when given.
    pub(crate) fn since(self, column: &'static str, at: Option<DateTime<Utc>>) -> Self {
        match at {
            Some(at) => self.push(column, ">=", Param::Int(ms(at))),
            None => self,
        }
    }

    /// `column < at`, when given.
    pub(crate) fn until(self, column: &'static str, at: Option<DateTime<Utc>>) -> Self {
        match at {
            Some(at) => self.push(column, "<", Param::Int(ms(at))),
            None => self,
        }
    }

    /// The conditions joined with AND (`TRUE` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "TRUE".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// `query` with the values bound in order.
    pub(crate) fn bind<'q>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        self.params.iter().fold(query, |q, p| match p {
            Param::Text(v) => q.bind(v.clone()),
            Param::Int(v) => q.bind(*v),
        })
    }
}

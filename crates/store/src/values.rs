//! A statement's values, named: bound as `$1`, `$2`… of a statement of its own (sqlx
//! on either engine, or rusqlite on SQLite's sign-in path), or as one element of a
//! batch on PostgreSQL ([`crate::pg_batch`]).

use crate::pg_batch::Alone;

/// One request's values, in the order of its own statement's `$1`, `$2`…, each named
/// as its column of the batched statement: both forms of a request come from this one
/// list, so they cannot disagree.
#[derive(Debug, Default, Clone)]
pub(crate) struct Values(Vec<(&'static str, Param)>);

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(Option<String>),
    Int(i64),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_string()))
    }
}

impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::Text(v.map(str::to_string))
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl Values {
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<Param>) -> Self {
        self.0.push((name, value.into()));
        self
    }

    /// The value bound as `$n` (`n` from 1).
    pub(crate) fn get(&self, n: usize) -> Option<&Param> {
        self.0.get(n.checked_sub(1)?).map(|(_, value)| value)
    }

    /// `sql` with these values bound as `$1`, `$2`…
    pub(crate) fn query(&self, sql: &'static str) -> Alone {
        self.0
            .iter()
            .fold(sqlx::query(sql), |q, (_, value)| match value {
                Param::Text(v) => q.bind(v.clone()),
                Param::Int(v) => q.bind(*v),
            })
    }

    /// These values as one JSON object, by name: a batch element.
    pub(crate) fn json(&self) -> serde_json::Value {
        let object = self.0.iter().map(|(name, value)| {
            let value = match value {
                Param::Text(v) => serde_json::json!(v),
                Param::Int(v) => serde_json::json!(v),
            };
            ((*name).to_string(), value)
        });
        serde_json::Value::Object(object.collect())
    }
}

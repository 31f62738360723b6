//! Value sets: named lists of codes (system + code) that measures and outcomes refer to, such as
//! `planned-readmission`, `or-procedure` or `complication-ssi`. Loaded from CSV
//! (`rounds import csv --kind value-sets`); see docs/clinical/csv-templates.md.

use platform::db::Executes;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, Default)]
pub struct ValueSets {
    /// name → system → codes
    sets: HashMap<String, HashMap<String, HashSet<String>>>,
}

impl ValueSets {
    pub fn insert(&mut self, name: &str, system: &str, code: &str) {
        self.sets
            .entry(name.to_string())
            .or_default()
            .entry(system.to_string())
            .or_default()
            .insert(code.to_string());
    }

    pub fn contains(&self, name: &str, system: &str, code: &str) -> bool {
        self.sets
            .get(name)
            .and_then(|set| set.get(system))
            .is_some_and(|codes| codes.contains(code))
    }

    pub fn has(&self, name: &str) -> bool {
        self.sets.get(name).is_some_and(|s| !s.is_empty())
    }

    /// Is (system, code) in any set whose name starts with `prefix`?
    pub fn in_any_with_prefix(&self, prefix: &str, system: &str, code: &str) -> bool {
        self.sets.iter().any(|(name, set)| {
            name.starts_with(prefix) && set.get(system).is_some_and(|codes| codes.contains(code))
        })
    }

    pub fn names_with_prefix(&self, prefix: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .sets
            .keys()
            .map(String::as_str)
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort_unstable();
        names
    }
}

pub async fn load(tx: &mut impl Executes) -> crate::Result<ValueSets> {
    let mut sets = ValueSets::default();
    for row in sqlx::query("SELECT name, code_system, code FROM value_sets")
        .fetch_all(tx.exec())
        .await?
    {
        sets.insert(
            row.try_get("name")?,
            row.try_get("code_system")?,
            row.try_get("code")?,
        );
    }
    Ok(sets)
}

/// A value-set member as read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub system: String,
    pub code: String,
    pub description: String,
}

/// Checks a value-set name: lower-case letters, digits and hyphens.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 100
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "'{name}' is not a value-set name (lower-case letters, digits and '-', e.g. complication-ssi)"
        ));
    }
    Ok(name.to_string())
}

/// Replaces the members of every set named in `members` with those given (a file holds whole
/// sets); returns (added, removed) member counts.
pub async fn replace(tx: &mut impl Executes, members: &[Member]) -> crate::Result<(u64, u64)> {
    let mut by_set: HashMap<&str, Vec<&Member>> = HashMap::new();
    for m in members {
        by_set.entry(&m.name).or_default().push(m);
    }
    let (mut added, mut removed) = (0, 0);
    let mut names: Vec<&&str> = by_set.keys().collect();
    names.sort();
    for name in names {
        let wanted: HashSet<(&str, &str)> = by_set[*name]
            .iter()
            .map(|m| (m.system.as_str(), m.code.as_str()))
            .collect();
        let existing: Vec<(String, String)> =
            sqlx::query("SELECT code_system, code FROM value_sets WHERE name = $1")
                .bind(*name)
                .fetch_all(tx.exec())
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?;
        for (system, code) in &existing {
            if !wanted.contains(&(system.as_str(), code.as_str())) {
                sqlx::query(
                    "DELETE FROM value_sets WHERE name = $1 AND code_system = $2 AND code = $3",
                )
                .bind(*name)
                .bind(system)
                .bind(code)
                .execute(tx.exec())
                .await?;
                removed += 1;
            }
        }
        for m in &by_set[*name] {
            if !existing.iter().any(|(s, c)| *s == m.system && *c == m.code) {
                sqlx::query("INSERT INTO value_sets (name, code_system, code, description) VALUES ($1, $2, $3, $4)")
                    .bind(&m.name)
                    .bind(&m.system)
                    .bind(&m.code)
                    .bind(&m.description)
                    .execute(tx.exec())
                    .await?;
                added += 1;
            }
        }
    }
    Ok((added, removed))
}

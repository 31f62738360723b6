//! `truth.json`: what the generator planted, so tests and benchmarks can measure what the
//! platform finds. Every planted signal, whatever the module that plants it, is one [`Signal`]:
//! a kind, a sentence, the ids it concerns and the parameters it was generated with. A later
//! module adds its own kind; readers skip kinds they do not know.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub scale: String,
    /// Generator name and version: the same seed gives the same output only within one version.
    pub generator: String,
    /// Records written per file (path relative to the output folder).
    pub files: BTreeMap<String, u64>,
    pub signals: Vec<Signal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What was planted, e.g. `surgeon-complications`, `drug-event`, `outbreak`.
    pub kind: String,
    pub description: String,
    /// The records concerned, by the ids written in the data (resource ids, NPIs, names).
    pub ids: Map<String, Value>,
    /// The generating parameters (odds ratios, months, rates).
    pub parameters: Map<String, Value>,
}

impl Signal {
    pub fn new(kind: &str, description: impl Into<String>) -> Signal {
        Signal {
            kind: kind.to_string(),
            description: description.into(),
            ids: Map::new(),
            parameters: Map::new(),
        }
    }

    pub fn id(mut self, key: &str, value: impl Into<Value>) -> Signal {
        self.ids.insert(key.to_string(), value.into());
        self
    }

    pub fn parameter(mut self, key: &str, value: impl Into<Value>) -> Signal {
        self.parameters.insert(key.to_string(), value.into());
        self
    }
}

impl Truth {
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Signal> + 'a {
        self.signals.iter().filter(move |s| s.kind == kind)
    }
}

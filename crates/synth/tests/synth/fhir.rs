use crate::common::{generated, ndjson};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const TYPES: [&str; 8] = [
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "Encounter",
    "Condition",
    "Procedure",
];
const NPI: &str = "http://hl7.org/fhir/sid/us-npi";

/// The NPI check written out afresh: Luhn over "80840" and the ten digits.
fn luhn_npi(npi: &str) -> bool {
    let digits: Vec<u32> = format!("80840{npi}")
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = 2 * d;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    npi.len() == 10 && sum.is_multiple_of(10)
}

fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("reference", Value::String(r)) => out.push(r.clone()),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn every_npi_passes_the_check_digit_and_none_repeats() {
    let g = generated();
    let mut seen = BTreeSet::new();
    for kind in ["Practitioner", "Organization"] {
        for r in ndjson(&g.dir, kind) {
            for id in r["identifier"].as_array().into_iter().flatten() {
                if id["system"] == NPI {
                    let npi = id["value"].as_str().unwrap();
                    assert!(luhn_npi(npi), "{npi} fails the NPI check digit");
                    assert!(synth::npi::is_valid(npi));
                    assert!(seen.insert(npi.to_string()), "{npi} twice");
                }
            }
        }
    }
    assert!(seen.len() > 100, "{} NPIs", seen.len());
    assert!(!luhn_npi("1234567890"));
    assert!(luhn_npi("1234567893"));
}

#[test]
fn every_reference_resolves_to_a_resource_written_or_an_npi_that_exists() {
    let g = generated();
    let mut ids: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut resources = Vec::new();
    for kind in TYPES {
        let list = ndjson(&g.dir, kind);
        assert_eq!(
            list.len() as u64,
            g.truth.files[&format!("fhir/{kind}.ndjson")]
        );
        for r in &list {
            assert_eq!(r["resourceType"], kind);
            let id = r["id"].as_str().unwrap().to_string();
            assert!(
                ids.entry(kind).or_default().insert(id.clone()),
                "{kind}/{id} twice"
            );
        }
        resources.extend(list);
    }
    let npis: BTreeSet<String> = ndjson(&g.dir, "Practitioner")
        .iter()
        .map(|p| p["identifier"][0]["value"].as_str().unwrap().to_string())
        .collect();
    let mut checked = 0;
    let mut conditional = 0;
    for r in &resources {
        let mut refs = Vec::new();
        references(r, &mut refs);
        for reference in refs {
            checked += 1;
            if let Some(npi) = reference.strip_prefix(&format!("Practitioner?identifier={NPI}|")) {
                conditional += 1;
                assert!(npis.contains(npi), "{reference} names no practitioner");
            } else {
                let (kind, id) = reference.split_once('/').expect("a relative reference");
                assert!(
                    ids.get(kind).is_some_and(|s| s.contains(id)),
                    "{reference} in {}/{} resolves to nothing",
                    r["resourceType"],
                    r["id"]
                );
            }
        }
    }
    assert!(
        checked > 100_000 && conditional > 30_000,
        "{checked} references, {conditional} conditional"
    );
}

#[test]
fn encounters_end_after_they_start_and_carry_the_documented_codings() {
    let g = generated();
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for e in ndjson(&g.dir, "Encounter") {
        let (start, end) = (time(&e["period"]["start"]), time(&e["period"]["end"]));
        assert!(
            end > start,
            "{} ends at {end}, before it starts at {start}",
            e["id"]
        );
        let class = e["class"]["code"].as_str().unwrap().to_string();
        if class == "IMP" {
            let drg = &e["type"][0]["coding"][0];
            assert!(
                drg["system"]
                    .as_str()
                    .unwrap()
                    .ends_with("MS-DRG-Classifications-and-Software")
            );
            assert!(synth::catalog::drg_by_code(drg["code"].as_str().unwrap()).is_some());
            assert!(e["hospitalization"]["admitSource"]["coding"][0]["code"].is_string());
            assert_eq!(e["diagnosis"][0]["rank"], 1);
        }
        assert_eq!(e["participant"][0]["type"][0]["coding"][0]["code"], "ATND");
        *classes.entry(class).or_default() += 1;
    }
    // 30,000 stays asked for: first admissions, readmissions and newborns together.
    let inpatient = classes["IMP"] as f64;
    assert!((inpatient / 30_000.0 - 1.0).abs() < 0.1, "{classes:?}");
    assert!(
        classes["EMER"] > 2_700 && classes["OBSENC"] > 100 && classes["AMB"] > 1_000,
        "{classes:?}"
    );
    // Deaths are recorded on the patient at the time of the expired encounter.
    let deceased = ndjson(&g.dir, "Patient")
        .iter()
        .filter(|p| p["deceasedDateTime"].is_string())
        .count();
    assert!(
        deceased as f64 > 0.01 * inpatient && (deceased as f64) < 0.05 * inpatient,
        "{deceased} deaths"
    );
}

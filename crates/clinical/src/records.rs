//! Records as the store keeps them, after an importer has read and checked its input and before
//! references are turned into row ids. Every importer (FHIR, Synthea CSV, Rounds CSV) produces
//! these; `store::Writer` writes them. A record's content hash is what makes a re-import of the
//! same data change nothing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::hash::{Hash, Hasher};

/// The kinds of source record the store keeps, in the order they must be written (a record only
/// refers to kinds before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Organization,
    Location,
    Practitioner,
    PractitionerRole,
    Patient,
    Encounter,
    Condition,
    Procedure,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Organization,
        Kind::Location,
        Kind::Practitioner,
        Kind::PractitionerRole,
        Kind::Patient,
        Kind::Encounter,
        Kind::Condition,
        Kind::Procedure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Organization => "Organization",
            Kind::Location => "Location",
            Kind::Practitioner => "Practitioner",
            Kind::PractitionerRole => "PractitionerRole",
            Kind::Patient => "Patient",
            Kind::Encounter => "Encounter",
            Kind::Condition => "Condition",
            Kind::Procedure => "Procedure",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A reference to another source record, not yet resolved to a row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ref {
    /// By the source's own id (`Patient/123`, or a `urn:uuid:` resolved inside its bundle).
    Id(Kind, String),
    /// Conditional: `Practitioner?identifier=system|value`.
    Identifier(Kind, String, String),
}

impl Ref {
    pub fn kind(&self) -> Kind {
        match self {
            Ref::Id(kind, _) | Ref::Identifier(kind, _, _) => *kind,
        }
    }
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Id(kind, id) => write!(f, "{}/{id}", kind.as_str()),
            Ref::Identifier(kind, system, value) => {
                write!(f, "{}?identifier={system}|{value}", kind.as_str())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Patient {
    pub birth_date: Option<String>,
    pub sex: &'static str,
    pub zip3: Option<String>,
    pub death_date: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Practitioner {
    pub npi: Option<String>,
    pub name: String,
    pub identifiers: Vec<Identifier>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Organization {
    pub name: String,
    pub ccn: Option<String>,
    /// Set for a department: the facility Organization it is part of.
    pub department_of: Option<Ref>,
    /// A payer (insurer), not a place of care: kept only so references to it resolve.
    pub payer: bool,
    pub identifiers: Vec<Identifier>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub name: String,
    /// The unit's beds, when the source states them.
    pub beds: Option<i64>,
    /// A ward becomes a unit; other locations only lead to their facility.
    pub unit_kind: Option<&'static str>,
    pub organization: Option<Ref>,
    pub identifiers: Vec<Identifier>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PractitionerRole {
    pub practitioner: Ref,
    pub organization: Option<Ref>,
    pub identifiers: Vec<Identifier>,
}

/// Whether a record leaves some of its fields to what the store holds. It says where a value
/// comes from, not what it is: the writer fills those fields in from the store before it hashes
/// the record, so it is no part of the content hash (and hashes stay those of records stored
/// before it existed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeftToStore(pub bool);

impl Hash for LeftToStore {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Encounter {
    pub patient: Ref,
    pub class: &'static str,
    pub admit_at: String,
    pub discharge_at: Option<String>,
    pub location: Option<Ref>,
    pub service_provider: Option<Ref>,
    pub attending: Option<Ref>,
    pub admit_source: Option<String>,
    pub discharge_disposition: Option<String>,
    pub ms_drg: Option<String>,
    pub payer: Option<String>,
    pub cost_cents: Option<i64>,
    pub charges_cents: Option<i64>,
    /// The import holds no claim for this encounter (FHIR takes payer, cost, charges and often the
    /// DRG from Claims and ExplanationOfBenefits): those the record leaves empty keep their
    /// stored values.
    pub billing_kept: LeftToStore,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Condition {
    pub patient: Ref,
    pub encounter: Option<Ref>,
    pub code_system: String,
    pub code: String,
    pub present_on_admission: Option<&'static str>,
    pub rank: Option<i64>,
    pub onset_at: Option<String>,
    /// The encounter that ranks this condition is not in the import or lists no diagnoses (FHIR
    /// ranks diagnoses in Encounter.diagnosis): the stored rank is kept while the condition
    /// stays on the same encounter.
    pub rank_kept: LeftToStore,
}

/// What an import's claims say about an encounter it does not hold (one imported earlier):
/// applied to the stored encounter where they say something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingAmendment {
    /// The encounter's source id.
    pub encounter: String,
    pub ms_drg: Option<String>,
    pub payer: Option<String>,
    pub cost_cents: Option<i64>,
    pub charges_cents: Option<i64>,
}

impl BillingAmendment {
    /// As an import keeps it until the end (`spill::Queue`).
    pub fn encode(&self) -> crate::spill::Encoder {
        let mut e = crate::spill::Encoder::default();
        e.text(Some(&self.encounter))
            .text(self.ms_drg.as_deref())
            .text(self.payer.as_deref())
            .number(self.cost_cents)
            .number(self.charges_cents);
        e
    }

    pub fn decode(bytes: &[u8]) -> std::io::Result<BillingAmendment> {
        let mut d = crate::spill::Decoder::new(bytes);
        Ok(BillingAmendment {
            encounter: d.text()?.unwrap_or_default(),
            ms_drg: d.text()?,
            payer: d.text()?,
            cost_cents: d.number()?,
            charges_cents: d.number()?,
        })
    }
}

/// The ranks an import's encounters give their diagnoses (FHIR's Encounter.diagnosis).
#[derive(Default)]
pub struct DiagnosisRanks {
    /// Rank by condition key.
    pub ranks: crate::spill::KeyTable,
    /// The encounters read (keys): 1 for one that lists diagnoses (a condition of its that is
    /// not in `ranks` has no rank), 0 for one that does not.
    pub encounters: crate::spill::KeyTable,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Procedure {
    pub patient: Ref,
    pub encounter: Option<Ref>,
    pub code_system: String,
    pub code: String,
    pub performed_at: Option<String>,
    pub performer: Option<Ref>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Record {
    Organization(Organization),
    Location(Location),
    Practitioner(Practitioner),
    PractitionerRole(PractitionerRole),
    Patient(Patient),
    Encounter(Encounter),
    Condition(Condition),
    Procedure(Procedure),
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::Organization(_) => Kind::Organization,
            Record::Location(_) => Kind::Location,
            Record::Practitioner(_) => Kind::Practitioner,
            Record::PractitionerRole(_) => Kind::PractitionerRole,
            Record::Patient(_) => Kind::Patient,
            Record::Encounter(_) => Kind::Encounter,
            Record::Condition(_) => Kind::Condition,
            Record::Procedure(_) => Kind::Procedure,
        }
    }

    /// The records this one refers to.
    pub fn references(&self) -> Vec<&Ref> {
        match self {
            Record::Organization(o) => o.department_of.iter().collect(),
            Record::Location(l) => l.organization.iter().collect(),
            Record::Practitioner(_) | Record::Patient(_) => Vec::new(),
            Record::PractitionerRole(r) => std::iter::once(&r.practitioner)
                .chain(&r.organization)
                .collect(),
            Record::Encounter(e) => std::iter::once(&e.patient)
                .chain(&e.location)
                .chain(&e.service_provider)
                .chain(&e.attending)
                .collect(),
            Record::Condition(c) => std::iter::once(&c.patient).chain(&c.encounter).collect(),
            Record::Procedure(p) => std::iter::once(&p.patient)
                .chain(&p.encounter)
                .chain(&p.performer)
                .collect(),
        }
    }

    /// A stable hash of the content as stored (what was dropped at import does not count).
    pub fn content_hash(&self) -> i64 {
        let mut h = Fnv::default();
        self.hash(&mut h);
        h.finish() as i64
    }

    /// Whether any text of the record holds a NUL character, which PostgreSQL cannot store in
    /// text (and which no source means).
    pub fn holds_nul(&self) -> bool {
        let mut finder = NulFinder(false);
        self.hash(&mut finder);
        finder.0
    }

    /// The write phase: a department refers to its facility organization, so departments come
    /// after other organizations; everything else follows `Kind`'s order.
    pub fn phase(&self) -> usize {
        match self {
            Record::Organization(o) if o.department_of.is_none() => 0,
            Record::Organization(_) => 1,
            other => other.kind().index() + 1,
        }
    }
}

/// Number of write phases (see `Record::phase`).
pub const PHASES: usize = 9;

/// Looks for a NUL byte in the text a value hashes: text reaches a hasher through `write`,
/// everything else (numbers, lengths, enum discriminants) through the integer methods, which
/// are ignored here.
struct NulFinder(bool);

impl Hasher for NulFinder {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 |= bytes.contains(&0);
    }
    fn write_u8(&mut self, _: u8) {}
    fn write_u16(&mut self, _: u16) {}
    fn write_u32(&mut self, _: u32) {}
    fn write_u64(&mut self, _: u64) {}
    fn write_u128(&mut self, _: u128) {}
    fn write_usize(&mut self, _: usize) {}
    fn write_i8(&mut self, _: i8) {}
    fn write_i16(&mut self, _: i16) {}
    fn write_i32(&mut self, _: i32) {}
    fn write_i64(&mut self, _: i64) {}
    fn write_i128(&mut self, _: i128) {}
    fn write_isize(&mut self, _: isize) {}
}

/// FNV-1a: a small, stable hash (the same on every run, unlike std's randomised one).
#[derive(Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A 128-bit key for a source record (kind and id), so maps of ids stay small: the chance of
/// two ids colliding is negligible at any realistic size.
/// Maps and sets keyed by `key`s, which are hashes already and serve as their own hash
/// (a general-purpose hasher over them is a measurable part of a large import).
pub type KeyMap<V> = std::collections::HashMap<u128, V, std::hash::BuildHasherDefault<KeyHasher>>;
pub type KeySet = std::collections::HashSet<u128, std::hash::BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not reached for u128 keys; kept correct for any other use.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = (key as u64) ^ ((key >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub fn key(kind: Kind, id: &str) -> u128 {
    let mut a = Fnv::default();
    let mut b = Fnv(0x6c62_272e_07bb_0142);
    for h in [&mut a, &mut b] {
        h.write(&[kind as u8]);
        h.write(id.as_bytes());
    }
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

pub fn identifier_key(kind: Kind, system: &str, value: &str) -> u128 {
    key(kind, &format!("{system}|{value}"))
}

/// A FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD) as `YYYY-MM-DD`; a partial date takes the first
/// day. Full dates only are accepted for birth and death when `full` is set.
pub fn parse_date(text: &str) -> Result<String, String> {
    let t = text.trim();
    let bad = || format!("'{t}' is not a date (YYYY-MM-DD)");
    let date = match t.len() {
        10 => NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?,
        7 => NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").map_err(|_| bad())?,
        4 => NaiveDate::parse_from_str(&format!("{t}-01-01"), "%Y-%m-%d").map_err(|_| bad())?,
        // A dateTime where a date is expected: keep its date.
        n if n > 10 => {
            return parse_datetime(t)
                .map(|s| s[..10].to_string())
                .map_err(|_| bad());
        }
        _ => return Err(bad()),
    };
    Ok(date.format("%Y-%m-%d").to_string())
}

/// A FHIR `dateTime` or `instant` as stored (RFC 3339 UTC, fixed width). A date alone means its
/// midnight UTC; a time without a zone is refused (FHIR requires one), except in CSV files where
/// `naive_utc` reads it as UTC.
pub fn parse_datetime_with(text: &str, naive_utc: bool) -> Result<String, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "'{t}' is not a date-time (YYYY-MM-DDThh:mm:ss with a zone, e.g. 2024-03-01T08:30:00Z)"
        )
    };
    if t.len() <= 10 {
        let day = parse_date(t).map_err(|_| bad())?;
        let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| bad())?;
        return Ok(platform::time::format(
            date.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc(),
        ));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Ok(platform::time::format(t.with_timezone(&Utc)));
    }
    if naive_utc {
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S%.f",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(t, format) {
                return Ok(platform::time::format(n.and_utc()));
            }
        }
    }
    Err(bad())
}

pub fn parse_datetime(text: &str) -> Result<String, String> {
    parse_datetime_with(text, false)
}

/// Money as integer cents from a decimal amount.
pub fn cents(amount: f64) -> Result<i64, String> {
    if !amount.is_finite() || amount.abs() > 1e13 {
        return Err(format!("{amount} is not an amount of money"));
    }
    Ok((amount * 100.0).round() as i64)
}

/// Checks a National Provider Identifier: ten digits with the Luhn check digit over the prefix
/// 80840.
pub fn valid_npi(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = format!("80840{npi}");
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_stored_in_one_form() {
        assert_eq!(parse_date("1950-07-04").unwrap(), "1950-07-04");
        assert_eq!(parse_date("1950").unwrap(), "1950-01-01");
        assert_eq!(
            parse_datetime("2024-03-01T08:30:00-05:00").unwrap(),
            "2024-03-01T13:30:00.000000Z"
        );
        assert_eq!(
            parse_datetime("2024-03-01").unwrap(),
            "2024-03-01T00:00:00.000000Z"
        );
        assert!(parse_datetime("2024-03-01T08:30:00").is_err());
        assert_eq!(
            parse_datetime_with("2024-03-01 08:30:00", true).unwrap(),
            "2024-03-01T08:30:00.000000Z"
        );
        assert!(parse_date("2024-02-30").is_err());
        assert!(parse_date("01/03/2024").is_err());
        // Short malformed values once sent the two parsers round each other for ever.
        assert!(parse_date("19-01-01").is_err());
        assert!(parse_datetime("19-01-01").is_err());
    }

    #[test]
    fn npi_check_digits() {
        assert!(valid_npi("1234567893"));
        assert!(!valid_npi("1234567890"));
        assert!(!valid_npi("123456789"));
    }

    #[test]
    fn a_nul_character_is_found_in_any_text_and_only_there() {
        let patient = |zip3: &str| {
            Record::Patient(Patient {
                birth_date: Some("1950-01-01".into()),
                sex: "female",
                zip3: Some(zip3.into()),
                death_date: None,
            })
        };
        assert!(patient("0\u{0}2").holds_nul());
        // Zero bytes in numbers, lengths and discriminants are no NUL characters.
        assert!(!patient("021").holds_nul());
        assert!(!patient("").holds_nul());
    }

    #[test]
    fn content_hashes_are_stable() {
        let p = Record::Patient(Patient {
            birth_date: Some("1950-01-01".into()),
            sex: "female",
            zip3: None,
            death_date: None,
        });
        assert_eq!(p.content_hash(), p.clone().content_hash());
        // What a record leaves to the store is not content.
        let c = |rank_kept| {
            Record::Condition(Condition {
                patient: Ref::Id(Kind::Patient, "p1".into()),
                encounter: None,
                code_system: "http://hl7.org/fhir/sid/icd-10-cm".into(),
                code: "I50.9".into(),
                present_on_admission: None,
                rank: Some(1),
                onset_at: None,
                rank_kept: LeftToStore(rank_kept),
            })
        };
        assert_eq!(c(true).content_hash(), c(false).content_hash());
        assert_ne!(c(true), c(false));
        assert_ne!(key(Kind::Patient, "1"), key(Kind::Encounter, "1"));
    }
}

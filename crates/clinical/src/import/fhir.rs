//! FHIR R4 import: bulk-export NDJSON (one resource per line, one file per type, `.ndjson` or
//! `.ndjson.gz`) and Bundles (`.json`, collection / transaction / batch / searchset). Only the
//! fields the store keeps are read (serde structs below, no FHIR library); everything else in a
//! resource is dropped. The mapping conventions are in docs/clinical/fhir-mapping.md.

use super::files::{self, Lines};
use super::{Amendments, Item, Read, Reader};
use crate::codes;
use crate::records::{
    self, BillingAmendment, DiagnosisRanks, Identifier, Kind, LeftToStore, Record, Ref, key,
};
use crate::spill::{Decoder, Encoder, KeyLog, KeyTable, Queue};
use crate::store::Refused;
use crate::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::path::PathBuf;

// ---- The fields read -------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
struct Coding {
    system: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize, Default)]
struct Concept {
    #[serde(default)]
    coding: Vec<Coding>,
}

#[derive(Deserialize, Default)]
struct Reference {
    reference: Option<String>,
    /// A logical reference: the business identifier of what is referred to.
    identifier: Option<FhirIdentifier>,
    #[serde(rename = "type")]
    ty: Option<String>,
}

#[derive(Deserialize)]
struct FhirIdentifier {
    system: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct Period {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extension {
    url: Option<String>,
    value_code: Option<String>,
    value_codeable_concept: Option<Concept>,
    value_coding: Option<Coding>,
    value_boolean: Option<bool>,
    value_string: Option<String>,
    value_integer: Option<i64>,
}

#[derive(Deserialize)]
struct HumanName {
    text: Option<String>,
    family: Option<String>,
    #[serde(default)]
    given: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Address {
    postal_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    resource_type: Option<String>,
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatientR {
    resource_type: String,
    id: Option<String>,
    gender: Option<String>,
    birth_date: Option<String>,
    deceased_date_time: Option<String>,
    #[serde(default)]
    address: Vec<Address>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PractitionerR {
    resource_type: String,
    id: Option<String>,
    #[serde(default)]
    identifier: Vec<FhirIdentifier>,
    #[serde(default)]
    name: Vec<HumanName>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationR {
    resource_type: String,
    id: Option<String>,
    #[serde(default)]
    identifier: Vec<FhirIdentifier>,
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Vec<Concept>,
    part_of: Option<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationR {
    resource_type: String,
    id: Option<String>,
    #[serde(default)]
    identifier: Vec<FhirIdentifier>,
    name: Option<String>,
    physical_type: Option<Concept>,
    #[serde(default, rename = "type")]
    kind: Vec<Concept>,
    managing_organization: Option<Reference>,
    #[serde(default)]
    extension: Vec<Extension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PractitionerRoleR {
    resource_type: String,
    id: Option<String>,
    #[serde(default)]
    identifier: Vec<FhirIdentifier>,
    practitioner: Option<Reference>,
    organization: Option<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncounterR {
    resource_type: String,
    id: Option<String>,
    class: Option<Coding>,
    #[serde(default, rename = "type")]
    kind: Vec<Concept>,
    subject: Option<Reference>,
    #[serde(default)]
    participant: Vec<Participant>,
    period: Option<Period>,
    #[serde(default)]
    diagnosis: Vec<EncounterDiagnosis>,
    hospitalization: Option<Hospitalization>,
    #[serde(default)]
    location: Vec<EncounterLocation>,
    service_provider: Option<Reference>,
}

#[derive(Deserialize)]
struct Participant {
    #[serde(default, rename = "type")]
    kind: Vec<Concept>,
    individual: Option<Reference>,
}

#[derive(Deserialize)]
struct EncounterDiagnosis {
    condition: Option<Reference>,
    #[serde(rename = "use")]
    role: Option<Concept>,
    rank: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hospitalization {
    admit_source: Option<Concept>,
    discharge_disposition: Option<Concept>,
}

#[derive(Deserialize)]
struct EncounterLocation {
    location: Option<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConditionR {
    resource_type: String,
    id: Option<String>,
    code: Option<Concept>,
    subject: Option<Reference>,
    encounter: Option<Reference>,
    onset_date_time: Option<String>,
    recorded_date: Option<String>,
    #[serde(default)]
    extension: Vec<Extension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcedureR {
    resource_type: String,
    id: Option<String>,
    code: Option<Concept>,
    subject: Option<Reference>,
    encounter: Option<Reference>,
    performed_date_time: Option<String>,
    performed_period: Option<Period>,
    #[serde(default)]
    performer: Vec<Performer>,
}

#[derive(Deserialize)]
struct Performer {
    actor: Option<Reference>,
}

// ---- Billing: Claim and ExplanationOfBenefit -------------------------------------------------

#[derive(Deserialize, Default)]
struct DisplayRef {
    display: Option<String>,
}

#[derive(Deserialize)]
struct Money {
    value: Option<f64>,
}

#[derive(Deserialize)]
struct ClaimItem {
    #[serde(default)]
    encounter: Vec<Reference>,
}

#[derive(Deserialize)]
struct Insurance {
    focal: Option<bool>,
    coverage: Option<DisplayRef>,
}

#[derive(Deserialize)]
struct EobTotal {
    category: Option<Concept>,
    amount: Option<Money>,
}

#[derive(Deserialize)]
struct Payment {
    amount: Option<Money>,
}

#[derive(Deserialize)]
struct SupportingInfo {
    category: Option<Concept>,
    code: Option<Concept>,
}

/// Claim and ExplanationOfBenefit in one: the fields read from either.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingR {
    resource_type: String,
    id: Option<String>,
    #[serde(default)]
    item: Vec<ClaimItem>,
    insurer: Option<DisplayRef>,
    #[serde(default)]
    insurance: Vec<Insurance>,
    /// Claim.total (Money) or ExplanationOfBenefit.total (a list by category).
    total: Option<serde_json::Value>,
    /// ExplanationOfBenefit only.
    claim: Option<Reference>,
    payment: Option<Payment>,
    #[serde(default)]
    supporting_info: Vec<SupportingInfo>,
}

/// The C4BB supporting-information category of the MS-DRG.
const C4BB_SUPPORTING_INFO: &str =
    "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType";

/// What the claims and explanations of benefit of an import say about one encounter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Billing {
    claim_payer: Option<String>,
    eob_payer: Option<String>,
    /// Sum of Claim.total.
    claim_charges: Option<i64>,
    /// Sum of the ExplanationOfBenefit totals of category `submitted`.
    eob_charges: Option<i64>,
    /// Sum of ExplanationOfBenefit.payment.amount.
    paid: Option<i64>,
    drg: Option<String>,
}

impl Billing {
    /// As kept in the `BillingBook`, after the encounter's source id.
    fn encode(&self, encounter: &str) -> Encoder {
        let mut e = Encoder::default();
        e.text(Some(encounter))
            .text(self.claim_payer.as_deref())
            .text(self.eob_payer.as_deref())
            .number(self.claim_charges)
            .number(self.eob_charges)
            .number(self.paid)
            .text(self.drg.as_deref());
        e
    }

    fn decode(bytes: &[u8]) -> io::Result<(String, Billing)> {
        let mut d = Decoder::new(bytes);
        let encounter = d.text()?.unwrap_or_default();
        Ok((
            encounter,
            Billing {
                claim_payer: d.text()?,
                eob_payer: d.text()?,
                claim_charges: d.number()?,
                eob_charges: d.number()?,
                paid: d.number()?,
                drg: d.text()?,
            },
        ))
    }

    pub fn payer(&self) -> Option<String> {
        self.eob_payer.clone().or_else(|| self.claim_payer.clone())
    }

    pub fn charges(&self) -> Option<i64> {
        self.claim_charges.or(self.eob_charges)
    }

    pub fn cost(&self) -> Option<i64> {
        self.paid
    }
}

fn add(sum: &mut Option<i64>, cents: Option<i64>) {
    if let Some(c) = cents {
        *sum = Some(sum.unwrap_or(0).saturating_add(c));
    }
}

fn money(m: &Option<Money>, field: &str) -> std::result::Result<Option<i64>, Refused> {
    m.as_ref()
        .and_then(|m| m.value)
        .map(|v| records::cents(v).map_err(|reason| refuse(field, reason)))
        .transpose()
}

/// One Claim or ExplanationOfBenefit, read.
#[derive(Default)]
struct BillingItem {
    eob: bool,
    id: String,
    /// The encounters it bills: key and source id.
    encounters: Vec<(u128, String)>,
    claim: Option<u128>,
    payer: Option<String>,
    charges: Option<i64>,
    paid: Option<i64>,
    drg: Option<String>,
}

impl BillingItem {
    /// An EOB that names only its Claim, as it waits in the `BillingBook`.
    fn waiting(&self, claim: u128) -> Encoder {
        let mut e = Encoder::default();
        e.key(claim)
            .text(self.payer.as_deref())
            .number(self.charges)
            .number(self.paid)
            .text(self.drg.as_deref());
        e
    }

    fn waited(bytes: &[u8]) -> io::Result<BillingItem> {
        let mut d = Decoder::new(bytes);
        Ok(BillingItem {
            eob: true,
            claim: Some(d.key()?),
            payer: d.text()?,
            charges: d.number()?,
            paid: d.number()?,
            drg: d.text()?,
            ..BillingItem::default()
        })
    }
}

fn nonblank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn map_billing(json: &str, urls: Option<&FullUrls>) -> std::result::Result<BillingItem, Refused> {
    let r: BillingR = parse(json)?;
    let eob = match r.resource_type.as_str() {
        "Claim" => false,
        "ExplanationOfBenefit" => true,
        other => {
            return Err(refuse(
                "resourceType",
                format!("expected Claim or ExplanationOfBenefit, found '{other}'"),
            ));
        }
    };
    let mut out = BillingItem {
        eob,
        id: r.id.clone().unwrap_or_default(),
        ..BillingItem::default()
    };
    for item in &r.item {
        for e in &item.encounter {
            let Some(text) = e.reference.as_deref() else {
                continue;
            };
            match parse_reference(text, urls, "item.encounter")? {
                Ref::Id(Kind::Encounter, id) => {
                    let k = key(Kind::Encounter, &id);
                    if !out.encounters.iter().any(|(e, _)| *e == k) {
                        out.encounters.push((k, id));
                    }
                }
                other => {
                    return Err(refuse(
                        "item.encounter",
                        format!("{other} is not an Encounter"),
                    ));
                }
            }
        }
    }
    if let Some(text) = r.claim.as_ref().and_then(|c| c.reference.as_deref()) {
        // A claim is not a stored type, so its reference is read here rather than by
        // `parse_reference`: `Claim/id`, or a bundle entry's fullUrl.
        let id = match urls.and_then(|u| u.get(text.trim())) {
            Some((_, id)) => id.clone(),
            None => text.trim().rsplit('/').next().unwrap_or("").to_string(),
        };
        if !id.is_empty() {
            out.claim = Some(claim_key(&id));
        }
    }
    let focal = r
        .insurance
        .iter()
        .find(|i| i.focal == Some(true))
        .or_else(|| r.insurance.first());
    out.payer = r
        .insurer
        .as_ref()
        .and_then(|i| nonblank(&i.display))
        .or_else(|| {
            focal
                .and_then(|i| i.coverage.as_ref())
                .and_then(|c| nonblank(&c.display))
        });
    match (&r.total, eob) {
        (None, _) => {}
        (Some(total), false) => {
            let m: Money = serde_json::from_value(total.clone())
                .map_err(|e| refuse("total", format!("is not Money ({e})")))?;
            out.charges = money(&Some(m), "total")?;
        }
        (Some(total), true) => {
            let totals: Vec<EobTotal> = serde_json::from_value(total.clone())
                .map_err(|e| refuse("total", format!("is not a list of totals ({e})")))?;
            for t in &totals {
                let submitted = t.category.as_ref().is_some_and(|c| {
                    c.coding
                        .iter()
                        .any(|c| c.code.as_deref() == Some("submitted"))
                });
                if submitted {
                    add(&mut out.charges, money(&t.amount, "total.amount")?);
                }
            }
        }
    }
    if eob {
        out.paid = money(&r.payment.and_then(|p| p.amount), "payment.amount")?;
    }
    for info in &r.supporting_info {
        let drg_category = info.category.as_ref().is_some_and(|c| {
            c.coding.iter().any(|c| {
                c.code.as_deref() == Some("drg")
                    && c.system
                        .as_deref()
                        .is_none_or(|s| s == C4BB_SUPPORTING_INFO)
            })
        });
        if !drg_category {
            continue;
        }
        let Some(code) = info.code.as_ref().and_then(|c| {
            c.coding
                .iter()
                .find(|c| c.system.as_deref() == Some(codes::MS_DRG))
                .or_else(|| c.coding.first())
                .and_then(|c| c.code.as_deref())
        }) else {
            continue;
        };
        let code = code.trim();
        if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())) {
            return Err(refuse(
                "supportingInfo.code",
                format!("MS-DRG '{code}' is not three digits"),
            ));
        }
        out.drg = Some(code.to_string());
        break;
    }
    Ok(out)
}

fn claim_key(id: &str) -> u128 {
    // Claims are not a stored kind; prefix the id so it cannot meet a record's key.
    key(Kind::Encounter, &format!("Claim/{id}"))
}

/// Claims and explanations of benefit gathered while scanning, applied to encounters once every
/// file has been seen (an EOB may name its Claim before the Claim is read). Kept within the
/// import's memory budget (`spill`): an export bills most of its encounters.
struct BillingBook {
    /// The memory budget, in records (see `spill`).
    records: usize,
    read: u64,
    /// By encounter key: the encounter's source id and its `Billing`.
    by_encounter: KeyLog,
    /// By claim key: the encounters the Claim bills (key and source id).
    claim_encounters: KeyLog,
    /// EOBs that name their encounter only through their Claim.
    waiting: Queue,
}

impl BillingBook {
    fn new(records: usize) -> BillingBook {
        BillingBook {
            records,
            read: 0,
            by_encounter: KeyLog::new(records),
            claim_encounters: KeyLog::new(records),
            waiting: Queue::new(records),
        }
    }

    fn add(&mut self, item: BillingItem) -> io::Result<()> {
        self.read += 1;
        if !item.eob && !item.id.is_empty() {
            let mut e = Encoder::default();
            e.count(item.encounters.len());
            for (k, id) in &item.encounters {
                e.key(*k).text(Some(id));
            }
            self.claim_encounters
                .insert(claim_key(&item.id), e.bytes())?;
        }
        if item.eob && item.encounters.is_empty() {
            // Until its Claim is read; one that names neither names no encounter.
            return match item.claim {
                Some(claim) => self.waiting.push(item.waiting(claim).bytes()),
                None => Ok(()),
            };
        }
        self.apply(&item.encounters, &item)
    }

    fn apply(&mut self, encounters: &[(u128, String)], item: &BillingItem) -> io::Result<()> {
        for (k, id) in encounters {
            let (id, mut b) = match self.get(*k)? {
                Some(found) => found,
                None => (id.clone(), Billing::default()),
            };
            if item.eob {
                if b.eob_payer.is_none() {
                    b.eob_payer = item.payer.clone();
                }
                add(&mut b.eob_charges, item.charges);
                add(&mut b.paid, item.paid);
                if b.drg.is_none() {
                    b.drg = item.drg.clone();
                }
            } else {
                if b.claim_payer.is_none() {
                    b.claim_payer = item.payer.clone();
                }
                add(&mut b.claim_charges, item.charges);
            }
            self.by_encounter.insert(*k, b.encode(&id).bytes())?;
        }
        Ok(())
    }

    /// What the claims say about an encounter, with its source id.
    fn get(&self, encounter: u128) -> io::Result<Option<(String, Billing)>> {
        self.by_encounter
            .get(encounter)?
            .map(|bytes| Billing::decode(&bytes))
            .transpose()
    }

    /// What the claims say about the encounters that were not read (`BillingAmendment`s, as
    /// bytes), in the order their last claim was read.
    fn amendments(&self, read: &KeyTable) -> io::Result<Queue> {
        let mut out = Queue::new(self.records);
        self.by_encounter.for_each(|k, bytes| {
            if read.get(k)?.is_some() {
                return Ok(());
            }
            let (encounter, b) = Billing::decode(bytes)?;
            let amendment = BillingAmendment {
                encounter,
                ms_drg: b.drg.clone(),
                payer: b.payer(),
                cost_cents: b.cost(),
                charges_cents: b.charges(),
            };
            out.push(amendment.encode().bytes())
        })?;
        Ok(out)
    }

    /// Resolves EOBs through their Claims (an EOB whose Claim is in no file names no encounter
    /// and is dropped).
    fn settle(&mut self) -> io::Result<()> {
        let waiting = std::mem::take(&mut self.waiting);
        waiting.for_each(|bytes| {
            let item = BillingItem::waited(bytes)?;
            let Some(claim) = item.claim else {
                return Ok(());
            };
            let Some(list) = self.claim_encounters.get(claim)? else {
                return Ok(());
            };
            let mut d = Decoder::new(&list);
            let mut encounters = Vec::new();
            for _ in 0..d.count()? {
                let k = d.key()?;
                encounters.push((k, d.text()?.unwrap_or_default()));
            }
            self.apply(&encounters, &item)
        })?;
        self.claim_encounters = KeyLog::default();
        Ok(())
    }
}

fn is_billing_type(ty: &str) -> bool {
    matches!(ty, "Claim" | "ExplanationOfBenefit")
}

// ---- Mapping a resource to a record ----------------------------------------------------------

/// What a reference may resolve through besides its own text: the bundle's `fullUrl`s.
type FullUrls = HashMap<String, (String, String)>;

/// A resource's `name`, trimmed, which must not be empty.
fn required_name(name: &Option<String>) -> Result<&str, Refused> {
    name.as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refuse("name", "is required"))
}

/// A failure of the temporary file an import keeps what it remembers in past its memory budget
/// (see `spill`): the import is refused, naming it.
fn spill_failed(e: std::io::Error) -> Refused {
    refuse("(import)", crate::spill::failure(&e))
}

fn refuse(field: &str, reason: impl Into<String>) -> Refused {
    Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Turns reference text into a `Ref`: a bundle `fullUrl` (`urn:uuid:…`), a conditional
/// reference (`Type?identifier=system|value`), or a relative or absolute `Type/id`.
fn parse_reference(
    text: &str,
    urls: Option<&FullUrls>,
    field: &str,
) -> std::result::Result<Ref, Refused> {
    let text = text.trim();
    if let Some((ty, id)) = urls.and_then(|u| u.get(text)) {
        return match Kind::parse(ty) {
            Some(kind) => Ok(Ref::Id(kind, id.clone())),
            None => Err(refuse(
                field,
                format!("'{text}' is a {ty}, which Rounds does not store"),
            )),
        };
    }
    if text.starts_with("urn:") {
        return Err(refuse(
            field,
            format!("'{text}' is not the fullUrl of any entry in this bundle"),
        ));
    }
    if let Some((ty, query)) = text.split_once('?') {
        let kind = Kind::parse(ty).ok_or_else(|| {
            refuse(
                field,
                format!("'{text}' refers to a {ty}, which Rounds does not store"),
            )
        })?;
        let identifier = query
            .split('&')
            .find_map(|p| p.strip_prefix("identifier="))
            .ok_or_else(|| {
                refuse(
                    field,
                    format!("'{text}': only conditional references by identifier are understood"),
                )
            })?;
        let identifier = identifier
            .replace("%7C", "|")
            .replace("%7c", "|")
            .replace("%3A", ":")
            .replace("%2F", "/");
        let (system, value) = identifier.split_once('|').ok_or_else(|| {
            refuse(
                field,
                format!("'{text}': the identifier must be system|value"),
            )
        })?;
        if kind == Kind::Patient {
            return Err(refuse(
                field,
                "conditional references to a Patient are not supported (patient identifiers are not stored)",
            ));
        }
        return Ok(Ref::Identifier(kind, system.to_string(), value.to_string()));
    }
    let path = match text.find("/_history/") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut parts = path.rsplit('/');
    let (Some(id), Some(ty)) = (parts.next(), parts.next()) else {
        return Err(refuse(
            field,
            format!("'{text}' is not a reference (Type/id, urn:uuid:… or Type?identifier=…)"),
        ));
    };
    let kind = Kind::parse(ty).ok_or_else(|| {
        refuse(
            field,
            format!("'{text}' refers to a {ty}, which Rounds does not store"),
        )
    })?;
    if id.is_empty() {
        return Err(refuse(field, format!("'{text}' has no id")));
    }
    Ok(Ref::Id(kind, id.to_string()))
}

struct Ctx<'a> {
    urls: Option<&'a FullUrls>,
    /// The encounters read so far (every one, once the Encounter phase is over): 1 for one that
    /// lists diagnoses, 0 for one that does not.
    encounters: &'a KeyTable,
    /// The ranks the encounters read give their diagnoses, by condition key.
    ranks: &'a KeyTable,
    billing: &'a BillingBook,
    /// Warnings about references, for the resource being mapped.
    notes: RefCell<Vec<Refused>>,
}

impl<'a> Ctx<'a> {
    fn new(
        urls: Option<&'a FullUrls>,
        encounters: &'a KeyTable,
        ranks: &'a KeyTable,
        billing: &'a BillingBook,
    ) -> Ctx<'a> {
        Ctx {
            urls,
            encounters,
            ranks,
            billing,
            notes: RefCell::default(),
        }
    }

    /// An optional reference to a resource of kind `expected`. A literal one (`reference`) is
    /// read by `parse_reference`; a logical one (only an `identifier`, as Synthea writes a
    /// PractitionerRole's practitioner and organization) is resolved like a conditional
    /// reference, to a record of its `type` or else of `expected`. One to a resource contained
    /// in this one (`#id`) names nothing Rounds stores, so it is left empty, with a warning.
    fn reference(
        &self,
        r: &Option<Reference>,
        field: &str,
        expected: Kind,
    ) -> std::result::Result<Option<Ref>, Refused> {
        let Some(r) = r else { return Ok(None) };
        match r.reference.as_deref().map(str::trim) {
            Some(text) if text.starts_with('#') => {
                self.notes.borrow_mut().push(refuse(
                    field,
                    format!("'{text}' is a resource contained in this one, which is not stored; left empty"),
                ));
                Ok(None)
            }
            Some(text) => parse_reference(text, self.urls, field).map(Some),
            None => logical_reference(r, field, expected),
        }
    }

    fn required(
        &self,
        r: &Option<Reference>,
        field: &str,
        expected: Kind,
    ) -> std::result::Result<Ref, Refused> {
        let text = r
            .as_ref()
            .and_then(|r| r.reference.as_deref())
            .map(str::trim);
        if let Some(text) = text.filter(|t| t.starts_with('#')) {
            return Err(refuse(
                field,
                format!(
                    "'{text}' is a resource contained in this one; it must refer to a resource of its own"
                ),
            ));
        }
        // A display alone names no record the import can find (and it is not repeated here:
        // it may be a name).
        self.reference(r, field, expected)?.ok_or_else(|| match r {
            Some(_) => refuse(
                field,
                "has no reference (Type/id) or identifier to the record it names",
            ),
            None => refuse(field, "is required"),
        })
    }
}

/// A reference by business identifier alone, to a record of the reference's `type` or else of
/// `expected`; none without both a system and a value.
fn logical_reference(
    r: &Reference,
    field: &str,
    expected: Kind,
) -> std::result::Result<Option<Ref>, Refused> {
    let Some(FhirIdentifier {
        system: Some(system),
        value: Some(value),
    }) = &r.identifier
    else {
        return Ok(None);
    };
    let (system, value) = (system.trim(), value.trim());
    if system.is_empty() || value.is_empty() {
        return Ok(None);
    }
    let kind = match r.ty.as_deref().map(str::trim) {
        Some(ty) => Kind::parse(ty).ok_or_else(|| {
            refuse(
                field,
                format!("refers to a {ty}, which Rounds does not store"),
            )
        })?,
        None => expected,
    };
    if kind == Kind::Patient {
        return Err(refuse(
            field,
            "references to a Patient by identifier are not supported (patient identifiers are not stored)",
        ));
    }
    Ok(Some(Ref::Identifier(
        kind,
        system.to_string(),
        value.to_string(),
    )))
}

/// A mapped resource, with what an Encounter says about the ranks of its diagnoses.
struct Mapped {
    id: String,
    record: std::result::Result<Record, Refused>,
    warnings: Vec<Refused>,
    ranks: Vec<(u128, i64)>,
    /// An Encounter that lists diagnoses (one that lists none says nothing about ranks).
    ranks_diagnoses: bool,
}

fn identifiers(list: &[FhirIdentifier]) -> Vec<Identifier> {
    list.iter()
        .filter_map(|i| match (&i.system, &i.value) {
            (Some(s), Some(v)) if !s.is_empty() && !v.is_empty() => Some(Identifier {
                system: s.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => None,
        })
        .collect()
}

fn has_code(concepts: &[Concept], system: &str, code: &str) -> bool {
    concepts
        .iter()
        .flat_map(|c| &c.coding)
        .any(|c| c.system.as_deref() == Some(system) && c.code.as_deref() == Some(code))
}

/// The coding to keep for a diagnosis or procedure: the first of `preferred` systems present,
/// else the first coding with a system and a code. An unknown system is a warning.
fn clinical_code(
    concept: &Option<Concept>,
    preferred: &[&str],
    warnings: &mut Vec<Refused>,
) -> std::result::Result<(String, String), Refused> {
    let concept = concept
        .as_ref()
        .ok_or_else(|| refuse("code", "is required"))?;
    let usable = |c: &&Coding| {
        c.system.as_deref().is_some_and(|s| !s.is_empty())
            && c.code.as_deref().is_some_and(|s| !s.trim().is_empty())
    };
    let chosen = preferred
        .iter()
        .find_map(|p| {
            concept
                .coding
                .iter()
                .filter(usable)
                .find(|c| c.system.as_deref() == Some(p))
        })
        .or_else(|| concept.coding.iter().find(usable));
    let Some(coding) = chosen else {
        return Err(refuse(
            "code",
            "has no coding with both a system and a code",
        ));
    };
    let system = coding.system.clone().unwrap_or_default();
    if !codes::CLINICAL_SYSTEMS.contains(&system.as_str()) {
        warnings.push(refuse(
            "code",
            format!("code system '{system}' is not one Rounds knows; stored as given"),
        ));
    }
    Ok((
        system,
        coding.code.clone().unwrap_or_default().trim().to_string(),
    ))
}

/// The code of the coding in `system` (or, with a warning, of the first coding).
fn coded(
    concept: &Option<Concept>,
    system: &str,
    allowed: &[&str],
    field: &str,
    warnings: &mut Vec<Refused>,
) -> Option<String> {
    let concept = concept.as_ref()?;
    if let Some(code) = concept
        .coding
        .iter()
        .find(|c| c.system.as_deref() == Some(system))
        .and_then(|c| c.code.clone())
    {
        if !allowed.contains(&code.as_str()) {
            warnings.push(refuse(
                field,
                format!("'{code}' is not a code of {system}; stored as given"),
            ));
        }
        return Some(code);
    }
    let first = concept.coding.iter().find_map(|c| c.code.clone())?;
    warnings.push(refuse(
        field,
        format!("'{first}' is not coded in {system}; stored as given"),
    ));
    Some(first)
}

fn date_field(value: &Option<String>, field: &str) -> std::result::Result<Option<String>, Refused> {
    value
        .as_deref()
        .map(|v| records::parse_date(v).map_err(|reason| refuse(field, reason)))
        .transpose()
}

fn datetime_field(
    value: &Option<String>,
    field: &str,
) -> std::result::Result<Option<String>, Refused> {
    value
        .as_deref()
        .map(|v| records::parse_datetime(v).map_err(|reason| refuse(field, reason)))
        .transpose()
}

fn parse<T: DeserializeOwned>(json: &str) -> std::result::Result<T, Refused> {
    serde_json::from_str(json).map_err(|e| {
        refuse(
            "json",
            e.to_string().replace(" at line 1 column ", " at column "),
        )
    })
}

fn check_type(found: &str, expected: Kind) -> std::result::Result<(), Refused> {
    if found == expected.as_str() {
        Ok(())
    } else {
        Err(refuse(
            "resourceType",
            format!("expected {}, found '{found}'", expected.as_str()),
        ))
    }
}

/// Maps one resource of type `kind` (its JSON text) to a record. `fallback_id` is the id a
/// bundle entry's fullUrl gives a resource without one.
fn map_resource(kind: Kind, json: &str, fallback_id: Option<&str>, ctx: &Ctx) -> Mapped {
    let mut warnings = Vec::new();
    let mut ranks = Vec::new();
    let mut ranks_diagnoses = false;
    let mut id = String::new();
    let record = (|| -> std::result::Result<Record, Refused> {
        let mut take_id = |found: &Option<String>, ty: &str| -> std::result::Result<(), Refused> {
            check_type(ty, kind)?;
            id = found
                .clone()
                .or_else(|| fallback_id.map(str::to_string))
                .unwrap_or_default();
            if id.trim().is_empty() {
                return Err(refuse("id", "is required"));
            }
            if id.len() > 200 {
                return Err(refuse("id", "is longer than 200 characters"));
            }
            Ok(())
        };
        Ok(match kind {
            Kind::Patient => {
                let r: PatientR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let sex = codes::sex(r.gender.as_deref().unwrap_or("")).ok_or_else(|| {
                    refuse(
                        "gender",
                        format!(
                            "'{}' is not male, female, other or unknown",
                            r.gender.clone().unwrap_or_default()
                        ),
                    )
                })?;
                let zip3 = r
                    .address
                    .first()
                    .and_then(|a| a.postal_code.as_deref())
                    .map(str::trim)
                    .filter(|z| z.len() >= 3 && z.bytes().take(3).all(|b| b.is_ascii_digit()))
                    .map(|z| z[..3].to_string());
                Record::Patient(records::Patient {
                    birth_date: date_field(&r.birth_date, "birthDate")?,
                    sex,
                    zip3,
                    death_date: date_field(&r.deceased_date_time, "deceasedDateTime")?,
                })
            }
            Kind::Practitioner => {
                let r: PractitionerR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let identifiers = identifiers(&r.identifier);
                let npi = identifiers
                    .iter()
                    .find(|i| i.system == codes::NPI)
                    .map(|i| i.value.clone());
                let name = r
                    .name
                    .first()
                    .map(|n| {
                        n.text.clone().unwrap_or_else(|| {
                            let mut parts = n.given.clone();
                            parts.extend(n.family.clone());
                            parts.join(" ")
                        })
                    })
                    .unwrap_or_default();
                Record::Practitioner(records::Practitioner {
                    npi,
                    name,
                    identifiers,
                })
            }
            Kind::Organization => {
                let r: OrganizationR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let name = required_name(&r.name)?;
                let identifiers = identifiers(&r.identifier);
                let ccn = identifiers
                    .iter()
                    .find(|i| i.system == codes::CCN)
                    .map(|i| {
                        platform::org::check_ccn(&i.value)
                            .map_err(|e| refuse("identifier", e.to_string()))
                    })
                    .transpose()?;
                let payer = has_code(&r.kind, codes::ORGANIZATION_TYPE, "pay")
                    || has_code(&r.kind, codes::ORGANIZATION_TYPE, "ins");
                let department_of = if has_code(&r.kind, codes::ORGANIZATION_TYPE, "dept") {
                    Some(
                        ctx.reference(&r.part_of, "partOf", Kind::Organization)?
                            .ok_or_else(|| {
                                refuse(
                                    "partOf",
                                    "a department needs the facility Organization it is part of",
                                )
                            })?,
                    )
                } else {
                    None
                };
                Record::Organization(records::Organization {
                    name: name.to_string(),
                    ccn,
                    department_of,
                    payer,
                    identifiers,
                })
            }
            Kind::Location => {
                let r: LocationR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let name = required_name(&r.name)?;
                let ward = r
                    .physical_type
                    .as_ref()
                    .is_some_and(|p| p.coding.iter().any(|c| c.code.as_deref() == Some("wa")));
                // Staffed or licensed beds, when the source states them (an extension whose URL
                // ends in `licensed-beds` or `bed-count`).
                let mut beds = None;
                for e in &r.extension {
                    let url = e.url.as_deref().unwrap_or("").to_ascii_lowercase();
                    if !(url.ends_with("licensed-beds") || url.ends_with("bed-count")) {
                        continue;
                    }
                    match e.value_integer {
                        Some(n) if (0..=2000).contains(&n) => beds = Some(n),
                        other => {
                            return Err(refuse(
                                "extension",
                                format!(
                                    "a bed count must be a whole number from 0 to 2000, not {}",
                                    other.map_or("a non-integer".to_string(), |n| n.to_string())
                                ),
                            ));
                        }
                    }
                }
                Record::Location(records::Location {
                    name: name.to_string(),
                    beds,
                    unit_kind: ward.then(|| unit_kind(&r.kind)),
                    organization: ctx.reference(
                        &r.managing_organization,
                        "managingOrganization",
                        Kind::Organization,
                    )?,
                    identifiers: identifiers(&r.identifier),
                })
            }
            Kind::PractitionerRole => {
                let r: PractitionerRoleR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                Record::PractitionerRole(records::PractitionerRole {
                    practitioner: ctx.required(
                        &r.practitioner,
                        "practitioner",
                        Kind::Practitioner,
                    )?,
                    organization: ctx.reference(
                        &r.organization,
                        "organization",
                        Kind::Organization,
                    )?,
                    identifiers: identifiers(&r.identifier),
                })
            }
            Kind::Encounter => {
                let r: EncounterR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let class_code = r
                    .class
                    .as_ref()
                    .and_then(|c| c.code.clone())
                    .ok_or_else(|| refuse("class", "is required"))?;
                let class = codes::encounter_class(&class_code)
                    .ok_or_else(|| refuse("class", format!("'{class_code}' is not a v3-ActCode encounter class (IMP, EMER, OBSENC, AMB, …)")))?;
                let period = r.period.unwrap_or_default();
                let admit_at = datetime_field(&period.start, "period.start")?
                    .ok_or_else(|| refuse("period.start", "is required"))?;
                let discharge_at = datetime_field(&period.end, "period.end")?;
                if let Some(end) = &discharge_at
                    && *end < admit_at
                {
                    return Err(refuse(
                        "period.end",
                        format!(
                            "{} is before the start {}",
                            period.end.clone().unwrap_or_default(),
                            period.start.clone().unwrap_or_default()
                        ),
                    ));
                }
                let attending = attending(&r.participant, ctx)?;
                let ms_drg = r
                    .kind
                    .iter()
                    .flat_map(|c| &c.coding)
                    .find(|c| c.system.as_deref() == Some(codes::MS_DRG))
                    .and_then(|c| c.code.clone())
                    .map(|d| d.trim().to_string());
                if let Some(drg) = &ms_drg
                    && !(drg.len() == 3 && drg.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(refuse(
                        "type",
                        format!("MS-DRG '{drg}' is not three digits"),
                    ));
                }
                let hospitalization = r.hospitalization;
                let admit_source = hospitalization.as_ref().and_then(|h| {
                    coded(
                        &h.admit_source,
                        codes::ADMIT_SOURCE,
                        codes::ADMIT_SOURCES,
                        "hospitalization.admitSource",
                        &mut warnings,
                    )
                });
                let discharge_disposition = hospitalization.as_ref().and_then(|h| {
                    coded(
                        &h.discharge_disposition,
                        codes::DISCHARGE_DISPOSITION,
                        codes::DISCHARGE_DISPOSITIONS,
                        "hospitalization.dischargeDisposition",
                        &mut warnings,
                    )
                });
                // Ranks of the diagnoses it lists: rank 1 is principal; without any rank 1, the
                // first discharge (DD) or billing diagnosis is.
                let mut listed = Vec::new();
                for d in &r.diagnosis {
                    let Some(Ref::Id(Kind::Condition, cid)) =
                        ctx.reference(&d.condition, "diagnosis.condition", Kind::Condition)?
                    else {
                        continue;
                    };
                    let billing = d.role.as_ref().is_some_and(|u| {
                        u.coding
                            .iter()
                            .any(|c| matches!(c.code.as_deref(), Some("DD" | "billing")))
                    });
                    listed.push((key(Kind::Condition, &cid), d.rank, billing));
                }
                ranks_diagnoses = !listed.is_empty();
                let has_first = listed.iter().any(|(_, rank, _)| *rank == Some(1));
                let mut promoted = has_first;
                for (k, rank, billing) in listed {
                    match rank {
                        Some(rank) => ranks.push((k, rank)),
                        None if billing && !promoted => {
                            ranks.push((k, 1));
                            promoted = true;
                        }
                        None => {}
                    }
                }
                let billing = ctx
                    .billing
                    .get(key(Kind::Encounter, &id))
                    .map_err(spill_failed)?
                    .map(|(_, b)| b);
                let billing = billing.as_ref();
                Record::Encounter(records::Encounter {
                    patient: ctx.required(&r.subject, "subject", Kind::Patient)?,
                    class,
                    admit_at,
                    discharge_at,
                    location: r
                        .location
                        .first()
                        .map(|l| ctx.reference(&l.location, "location", Kind::Location))
                        .transpose()?
                        .flatten(),
                    service_provider: ctx.reference(
                        &r.service_provider,
                        "serviceProvider",
                        Kind::Organization,
                    )?,
                    attending,
                    admit_source,
                    discharge_disposition,
                    ms_drg: ms_drg.or_else(|| billing.and_then(|b| b.drg.clone())),
                    payer: billing.and_then(Billing::payer),
                    cost_cents: billing.and_then(Billing::cost),
                    charges_cents: billing.and_then(Billing::charges),
                    billing_kept: LeftToStore(billing.is_none()),
                })
            }
            Kind::Condition => {
                let r: ConditionR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let (code_system, code) = clinical_code(
                    &r.code,
                    &[codes::ICD10CM, codes::SNOMED, codes::ICD9CM],
                    &mut warnings,
                )?;
                let mut present_on_admission = None;
                for e in &r.extension {
                    let url = e.url.as_deref().unwrap_or("").to_ascii_lowercase();
                    if !(url.contains("present-on-admission")
                        || url.contains("presentonadmission")
                        || url.ends_with("/poa"))
                    {
                        continue;
                    }
                    let value = e
                        .value_code
                        .clone()
                        .or_else(|| e.value_coding.as_ref().and_then(|c| c.code.clone()))
                        .or_else(|| {
                            e.value_codeable_concept
                                .as_ref()
                                .and_then(|c| c.coding.iter().find_map(|c| c.code.clone()))
                        })
                        .or_else(|| {
                            e.value_boolean
                                .map(|b| if b { "Y".into() } else { "N".into() })
                        })
                        .or_else(|| e.value_string.clone())
                        .unwrap_or_default();
                    present_on_admission = Some(codes::poa(&value).ok_or_else(|| {
                        refuse(
                            "extension",
                            format!("present-on-admission '{value}' is not Y, N, U, W or 1"),
                        )
                    })?);
                }
                // Encounters rank their diagnoses: one not in this import, or one that lists
                // none, leaves the rank as stored (an incremental export sends changed
                // Conditions without their Encounter; many exporters list no diagnoses).
                let encounter = ctx.reference(&r.encounter, "encounter", Kind::Encounter)?;
                let rank = ctx
                    .ranks
                    .get(key(Kind::Condition, &id))
                    .map_err(spill_failed)?
                    .map(|rank| rank as i64);
                let rank_kept = rank.is_none()
                    && match &encounter {
                        Some(Ref::Id(Kind::Encounter, e)) => {
                            ctx.encounters
                                .get(key(Kind::Encounter, e))
                                .map_err(spill_failed)?
                                != Some(1)
                        }
                        Some(_) => true,
                        None => false,
                    };
                Record::Condition(records::Condition {
                    patient: ctx.required(&r.subject, "subject", Kind::Patient)?,
                    encounter,
                    code_system,
                    code,
                    present_on_admission,
                    rank,
                    rank_kept: LeftToStore(rank_kept),
                    onset_at: match datetime_field(&r.onset_date_time, "onsetDateTime")? {
                        Some(t) => Some(t),
                        None => datetime_field(&r.recorded_date, "recordedDate")?,
                    },
                })
            }
            Kind::Procedure => {
                let r: ProcedureR = parse(json)?;
                take_id(&r.id, &r.resource_type)?;
                let (code_system, code) = clinical_code(
                    &r.code,
                    &[codes::ICD10PCS, codes::CPT, codes::HCPCS, codes::SNOMED],
                    &mut warnings,
                )?;
                let performed_at =
                    match datetime_field(&r.performed_date_time, "performedDateTime")? {
                        Some(t) => Some(t),
                        None => datetime_field(
                            &r.performed_period.as_ref().and_then(|p| p.start.clone()),
                            "performedPeriod.start",
                        )?,
                    };
                let mut performer = None;
                for p in &r.performer {
                    if let Some(reference) =
                        ctx.reference(&p.actor, "performer.actor", Kind::Practitioner)?
                        && matches!(
                            reference.kind(),
                            Kind::Practitioner | Kind::PractitionerRole
                        )
                    {
                        performer = Some(reference);
                        break;
                    }
                }
                Record::Procedure(records::Procedure {
                    patient: ctx.required(&r.subject, "subject", Kind::Patient)?,
                    encounter: ctx.reference(&r.encounter, "encounter", Kind::Encounter)?,
                    code_system,
                    code,
                    performed_at,
                    performer,
                })
            }
        })
    })();
    warnings.append(&mut ctx.notes.borrow_mut());
    Mapped {
        id,
        record,
        warnings,
        ranks,
        ranks_diagnoses,
    }
}

/// The attending: the participant of type ATND, else PPRF (primary performer), else the first
/// practitioner taking part.
fn attending(participants: &[Participant], ctx: &Ctx) -> std::result::Result<Option<Ref>, Refused> {
    let mut refs = Vec::new();
    for p in participants {
        if let Some(r) =
            ctx.reference(&p.individual, "participant.individual", Kind::Practitioner)?
            && matches!(r.kind(), Kind::Practitioner | Kind::PractitionerRole)
        {
            refs.push((p, r));
        }
    }
    for code in ["ATND", "PPRF"] {
        if let Some((_, r)) = refs
            .iter()
            .find(|(p, _)| has_code(&p.kind, codes::PARTICIPATION_TYPE, code))
        {
            return Ok(Some(r.clone()));
        }
    }
    Ok(refs.into_iter().next().map(|(_, r)| r))
}

/// A ward's unit kind from its Location.type (v3-RoleCode).
fn unit_kind(types: &[Concept]) -> &'static str {
    for code in types
        .iter()
        .flat_map(|c| &c.coding)
        .filter_map(|c| c.code.as_deref())
    {
        let kind = match code {
            "ICU" | "CCU" | "SICU" | "MICU" | "CVICU" | "PEDICU" => "icu",
            "NICU" | "NCCF" => "nicu",
            "ER" | "ETU" => "emergency",
            "OR" => "surgery",
            "PEDU" | "PEDWRD" => "pediatrics",
            "PSYCHF" | "PSI" | "PSYWRD" => "behavioral",
            "RH" | "RHU" | "RHAB" => "rehabilitation",
            "OB" | "LD" | "MATWRD" => "obstetrics",
            "HU" | "SU" | "MEDSURG" => "med-surg",
            _ => continue,
        };
        return kind;
    }
    "other"
}

// ---- Reading files ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Json,
}

struct FileInfo {
    path: PathBuf,
    format: Format,
    /// Bit `p` set: the file holds records of write phase `p`.
    phases: u16,
    /// An NDJSON file's resource type.
    kind: Option<Kind>,
    /// An NDJSON file of Claims or ExplanationOfBenefits (read while scanning).
    billing: bool,
}

fn phases_of(kind: Kind) -> u16 {
    match kind {
        Kind::Organization => 0b11,
        other => 1 << (other.index() + 1),
    }
}

enum Current {
    Idle,
    Lines {
        file: usize,
        lines: Lines,
        kind: Kind,
        gzip: bool,
    },
    Queue(VecDeque<Read>),
}

/// Reads FHIR files phase by phase; see `Reader`.
pub struct FhirReader {
    names: Vec<String>,
    files: Vec<FileInfo>,
    phase: usize,
    next_file: usize,
    current: Current,
    /// See `Ctx`.
    ranks: KeyTable,
    encounters: KeyTable,
    billing: BillingBook,
    skipped: BTreeMap<String, u64>,
}

impl FhirReader {
    /// Keeps what it remembers of every encounter, ranked diagnosis and billed encounter (see
    /// `Ctx`) within about `records` entries of memory each, and the rest in temporary files.
    pub fn keep_in_memory(mut self, records: usize) -> FhirReader {
        self.ranks = KeyTable::new(records);
        self.encounters = KeyTable::new(records);
        self.billing = BillingBook::new(records);
        self
    }

    /// Files and directories (their `.ndjson`, `.json`, and gzip versions, by name).
    pub fn new(paths: &[PathBuf]) -> Result<FhirReader> {
        let paths = super::expand(paths, |name| format_of(name).is_some())?;
        if paths.is_empty() {
            return Err(Error::Invalid("no files to import".into()));
        }
        Ok(FhirReader {
            names: paths.iter().map(|p| p.display().to_string()).collect(),
            files: paths
                .into_iter()
                .map(|path| FileInfo {
                    path,
                    format: Format::Ndjson,
                    phases: 0,
                    kind: None,
                    billing: false,
                })
                .collect(),
            phase: 0,
            next_file: 0,
            current: Current::Idle,
            ranks: KeyTable::default(),
            encounters: KeyTable::default(),
            billing: BillingBook::new(usize::MAX),
            skipped: BTreeMap::new(),
        })
    }

    fn problem(
        &self,
        file: usize,
        line: u64,
        field: &str,
        reason: impl Into<String>,
    ) -> super::Problem {
        super::Problem::new(&self.names[file], line, field, reason)
    }

    fn map_line(&mut self, file: usize, line: u64, kind: Kind, bytes: &[u8]) -> Read {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                return Read::Problem(
                    Some(kind),
                    self.problem(file, line, "json", format!("not UTF-8 text ({e})")),
                );
            }
        };
        let mapped = map_resource(
            kind,
            text,
            None,
            &Ctx::new(None, &self.encounters, &self.ranks, &self.billing),
        );
        self.item(file, line, kind, mapped)
    }

    fn item(&mut self, file: usize, line: u64, kind: Kind, mapped: Mapped) -> Read {
        let mut remembered = Ok(());
        for (condition, rank) in mapped.ranks {
            remembered = remembered.and_then(|()| self.ranks.insert(condition, rank as u64));
        }
        if kind == Kind::Encounter {
            remembered = remembered.and_then(|()| {
                self.encounters
                    .insert(key(kind, &mapped.id), u64::from(mapped.ranks_diagnoses))
            });
        }
        if let Err(e) = remembered {
            let refusal = spill_failed(e);
            return Read::Problem(
                Some(kind),
                self.problem(file, line, &refusal.field, refusal.reason),
            );
        }
        Read::Item(Item {
            file,
            line,
            kind,
            id: mapped.id,
            record: mapped.record,
            warnings: mapped.warnings,
        })
    }

    /// Reads an NDJSON file of Claims or ExplanationOfBenefits into the billing book.
    fn scan_billing(&mut self, file: usize, problems: &mut Vec<(Option<Kind>, super::Problem)>) {
        let path = self.files[file].path.clone();
        let gzip = files::is_gzip(&path);
        let mut lines = match files::open(&path) {
            Ok(input) => Lines::new(input),
            Err(e) => {
                problems.push((
                    None,
                    self.problem(file, 1, "file", format!("cannot open: {e}")),
                ));
                return;
            }
        };
        loop {
            match lines.advance() {
                Ok(true) => {
                    if lines.buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let item = std::str::from_utf8(&lines.buf)
                        .map_err(|e| refuse("json", format!("not UTF-8 text ({e})")))
                        .and_then(|text| map_billing(text, None))
                        .and_then(|item| self.billing.add(item).map_err(spill_failed));
                    match item {
                        Ok(()) => {}
                        Err(refusal) => problems.push((
                            None,
                            self.problem(file, lines.line, &refusal.field, refusal.reason),
                        )),
                    }
                }
                Ok(false) => return,
                Err(e) => {
                    problems.push((
                        None,
                        self.problem(file, lines.line + 1, "file", files::describe(&e, gzip)),
                    ));
                    return;
                }
            }
        }
    }

    /// The records of the current phase in a `.json` file (a Bundle or one resource).
    fn bundle(&mut self, file: usize, scanning: bool) -> VecDeque<Read> {
        let mut out = VecDeque::new();
        let path = self.files[file].path.clone();
        let gzip = files::is_gzip(&path);
        let bytes = match files::read_all(&path) {
            Ok(b) => b,
            Err(e) => {
                out.push_back(Read::Problem(
                    None,
                    self.problem(file, 1, "file", files::describe(&e, gzip)),
                ));
                return out;
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(e) => {
                out.push_back(Read::Problem(
                    None,
                    self.problem(file, 1, "json", format!("not UTF-8 text ({e})")),
                ));
                return out;
            }
        };
        if text.trim().is_empty() {
            out.push_back(Read::Problem(
                None,
                self.problem(file, 1, "file", "is empty"),
            ));
            return out;
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct BundleR<'a> {
            resource_type: Option<String>,
            #[serde(rename = "type")]
            kind: Option<String>,
            #[serde(default, borrow)]
            entry: Vec<EntryR<'a>>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct EntryR<'a> {
            full_url: Option<String>,
            #[serde(borrow)]
            resource: Option<&'a RawValue>,
        }
        let bundle: BundleR = match serde_json::from_str(text) {
            Ok(b) => b,
            Err(e) => {
                out.push_back(Read::Problem(
                    None,
                    self.problem(file, e.line() as u64, "json", e.to_string()),
                ));
                return out;
            }
        };
        let line_of = |raw: &RawValue| {
            let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                + 1
        };
        // A single resource rather than a Bundle: one entry at line 1.
        let single;
        let entries: Vec<(Option<String>, &RawValue)> = if bundle.resource_type.as_deref()
            == Some("Bundle")
        {
            match bundle.kind.as_deref() {
                Some("collection" | "transaction" | "batch" | "searchset" | "document") => {}
                other => {
                    out.push_back(Read::Problem(
                        None,
                        self.problem(file, 1, "type", format!("a {} Bundle is not imported (collection, transaction, batch, searchset or document)", other.unwrap_or("typeless"))),
                    ));
                    return out;
                }
            }
            bundle
                .entry
                .into_iter()
                .filter_map(|e| e.resource.map(|r| (e.full_url, r)))
                .collect()
        } else {
            single = match serde_json::from_str::<&RawValue>(text) {
                Ok(r) => r,
                Err(e) => {
                    out.push_back(Read::Problem(
                        None,
                        self.problem(file, e.line() as u64, "json", e.to_string()),
                    ));
                    return out;
                }
            };
            vec![(None, single)]
        };
        let mut heads = Vec::with_capacity(entries.len());
        let mut urls = FullUrls::new();
        for (full_url, raw) in &entries {
            let head: Head = match serde_json::from_str(raw.get()) {
                Ok(h) => h,
                Err(e) => {
                    out.push_back(Read::Problem(
                        None,
                        self.problem(file, line_of(raw), "json", e.to_string()),
                    ));
                    heads.push(None);
                    continue;
                }
            };
            let ty = head.resource_type.unwrap_or_default();
            let fallback = full_url
                .as_deref()
                .map(|u| u.rsplit([':', '/']).next().unwrap_or(u).to_string());
            let id = head.id.clone().or(fallback.clone()).unwrap_or_default();
            if let Some(url) = full_url {
                urls.insert(url.clone(), (ty.clone(), id));
            }
            heads.push(Some((ty, fallback)));
        }
        for ((_, raw), head) in entries.iter().zip(heads) {
            let Some((ty, fallback)) = head else { continue };
            if is_billing_type(&ty) {
                if scanning {
                    let added = map_billing(raw.get(), Some(&urls))
                        .and_then(|item| self.billing.add(item).map_err(spill_failed));
                    match added {
                        Ok(()) => {}
                        Err(refusal) => out.push_back(Read::Problem(
                            None,
                            self.problem(file, line_of(raw), &refusal.field, refusal.reason),
                        )),
                    }
                }
                continue;
            }
            let Some(kind) = Kind::parse(&ty) else {
                if scanning {
                    let name = if ty.is_empty() {
                        "(no resourceType)".to_string()
                    } else {
                        ty
                    };
                    *self.skipped.entry(name).or_default() += 1;
                }
                continue;
            };
            if scanning {
                self.files[file].phases |= phases_of(kind);
                continue;
            }
            if phases_of(kind) & (1 << self.phase) == 0 {
                continue;
            }
            let mapped = map_resource(
                kind,
                raw.get(),
                fallback.as_deref(),
                &Ctx::new(Some(&urls), &self.encounters, &self.ranks, &self.billing),
            );
            let read = self.item(file, line_of(raw), kind, mapped);
            out.push_back(read);
        }
        out
    }
}

fn format_of(name: &str) -> Option<Format> {
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        Some(Format::Ndjson)
    } else if name.ends_with(".json") {
        Some(Format::Json)
    } else {
        None
    }
}

/// The resource type a bulk-export file is named after (`Patient.ndjson`, `Patient.000.ndjson`,
/// `1.Encounter.ndjson.gz`), if any.
fn type_from_name(name: &str) -> Option<String> {
    name.split(['.', '-', '_', '/'])
        .find(|t| {
            t.len() > 2
                && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphabetic())
        })
        .map(str::to_string)
}

impl Reader for FhirReader {
    fn files(&self) -> &[String] {
        &self.names
    }

    fn scan(&mut self) -> Result<Vec<(Option<Kind>, super::Problem)>> {
        let mut problems = Vec::new();
        for file in 0..self.files.len() {
            let path = self.files[file].path.clone();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let Some(format) = format_of(&name) else {
                problems.push((
                    None,
                    self.problem(
                        file,
                        1,
                        "file",
                        "is neither FHIR NDJSON (.ndjson) nor JSON (.json), optionally gzipped",
                    ),
                ));
                continue;
            };
            self.files[file].format = format;
            if format == Format::Json {
                for read in self.bundle(file, true) {
                    if let Read::Problem(kind, p) = read {
                        problems.push((kind, p));
                    }
                }
                continue;
            }
            // NDJSON: the type from the name, else from the first line; and it must not be empty.
            let gzip = files::is_gzip(&path);
            let mut lines = match files::open(&path) {
                Ok(input) => Lines::new(input),
                Err(e) => {
                    problems.push((
                        None,
                        self.problem(file, 1, "file", format!("cannot open: {e}")),
                    ));
                    continue;
                }
            };
            let first = loop {
                match lines.advance() {
                    Ok(true) if lines.buf.iter().all(u8::is_ascii_whitespace) => continue,
                    Ok(true) => {
                        break Some(
                            serde_json::from_slice::<Head>(&lines.buf)
                                .ok()
                                .and_then(|h| h.resource_type),
                        );
                    }
                    Ok(false) => break None,
                    Err(e) => {
                        problems.push((
                            None,
                            self.problem(file, lines.line + 1, "file", files::describe(&e, gzip)),
                        ));
                        break Some(None);
                    }
                }
            };
            let Some(first_type) = first else {
                problems.push((
                    None,
                    self.problem(file, 1, "file", "is empty (no resources)"),
                ));
                continue;
            };
            let ty = type_from_name(&name).or(first_type);
            if ty.as_deref().is_some_and(is_billing_type) {
                self.files[file].billing = true;
                self.scan_billing(file, &mut problems);
                continue;
            }
            match ty.as_deref().and_then(Kind::parse) {
                Some(kind) => {
                    self.files[file].kind = Some(kind);
                    self.files[file].phases = phases_of(kind);
                }
                None => match ty {
                    Some(ty) => *self.skipped.entry(ty).or_default() += 1,
                    None => problems.push((None, self.problem(file, 1, "resourceType", "cannot tell the file's resource type (name the file after it, e.g. Patient.ndjson)"))),
                },
            }
        }
        self.billing
            .settle()
            .map_err(|e| Error::Invalid(crate::spill::failure(&e)))?;
        Ok(problems)
    }

    fn billing_read(&self) -> u64 {
        self.billing.read
    }

    fn amendments(&mut self) -> Result<Amendments> {
        // Billing first: which encounters were read decides it, and the ranks take that along.
        let billing = self
            .billing
            .amendments(&self.encounters)
            .map_err(|e| Error::Invalid(crate::spill::failure(&e)))?;
        Ok(Amendments {
            ranks: Some(DiagnosisRanks {
                ranks: std::mem::take(&mut self.ranks),
                encounters: std::mem::take(&mut self.encounters),
            }),
            billing,
        })
    }

    fn start(&mut self, phase: usize) -> Result<()> {
        self.phase = phase;
        self.next_file = 0;
        self.current = Current::Idle;
        Ok(())
    }

    fn next(&mut self) -> Option<Read> {
        loop {
            match &mut self.current {
                Current::Lines {
                    file,
                    lines,
                    kind,
                    gzip,
                } => {
                    let (file, kind) = (*file, *kind);
                    match lines.advance() {
                        Ok(true) => {
                            if lines.buf.iter().all(u8::is_ascii_whitespace) {
                                continue;
                            }
                            let line = lines.line;
                            let bytes = std::mem::take(&mut lines.buf);
                            let read = self.map_line(file, line, kind, &bytes);
                            if let Current::Lines { lines, .. } = &mut self.current {
                                lines.buf = bytes;
                            }
                            return Some(read);
                        }
                        Ok(false) => self.current = Current::Idle,
                        Err(e) => {
                            let (line, reason) = (lines.line + 1, files::describe(&e, *gzip));
                            let problem = self.problem(file, line, "file", reason);
                            self.current = Current::Idle;
                            return Some(Read::Problem(Some(kind), problem));
                        }
                    }
                }
                Current::Queue(queue) => match queue.pop_front() {
                    Some(read) => return Some(read),
                    None => self.current = Current::Idle,
                },
                Current::Idle => {
                    let file = (self.next_file..self.files.len())
                        .find(|f| self.files[*f].phases & (1 << self.phase) != 0)?;
                    self.next_file = file + 1;
                    let info = &self.files[file];
                    match (info.format, info.kind) {
                        (Format::Ndjson, Some(kind)) => {
                            let gzip = files::is_gzip(&info.path);
                            match files::open(&info.path) {
                                Ok(input) => {
                                    self.current = Current::Lines {
                                        file,
                                        lines: Lines::new(input),
                                        kind,
                                        gzip,
                                    }
                                }
                                Err(e) => {
                                    return Some(Read::Problem(
                                        Some(kind),
                                        self.problem(file, 1, "file", format!("cannot open: {e}")),
                                    ));
                                }
                            }
                        }
                        _ => {
                            let queue = self.bundle(file, false);
                            self.current = Current::Queue(queue);
                        }
                    }
                }
            }
        }
    }

    fn skipped(&self) -> BTreeMap<String, u64> {
        self.skipped.clone()
    }
}

/// Parses NDJSON text as the FHIR reader does, line by line, without a database: every line
/// yields a record or a problem, and nothing panics. For tests and the parse-only benchmark.
pub fn parse_ndjson(kind: Kind, text: &[u8]) -> Vec<std::result::Result<Record, Refused>> {
    let ranks = KeyTable::default();
    let encounters = KeyTable::default();
    let billing = BillingBook::new(usize::MAX);
    let mut out = Vec::new();
    for line in text.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push(match std::str::from_utf8(line) {
            Ok(t) => {
                map_resource(
                    kind,
                    t,
                    None,
                    &Ctx::new(None, &encounters, &ranks, &billing),
                )
                .record
            }
            Err(e) => Err(refuse("json", format!("not UTF-8 text ({e})"))),
        });
    }
    out
}

/// Reads every file as an import would, without a database: the parse-only floor of the
/// benchmark. Returns the number of records read and problems found.
pub fn parse_only(paths: &[PathBuf]) -> Result<(u64, u64)> {
    let mut reader = FhirReader::new(paths)?;
    let mut problems = reader.scan()?.len() as u64;
    let mut records = 0;
    for phase in 0..records::PHASES {
        reader.start(phase)?;
        while let Some(read) = reader.next() {
            match read {
                Read::Item(Item { record: Ok(r), .. }) if r.phase() == phase => records += 1,
                Read::Item(Item { record: Ok(_), .. }) => {}
                _ => problems += 1,
            }
        }
    }
    Ok((records, problems))
}

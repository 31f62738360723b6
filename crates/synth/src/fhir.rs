//! The slice of FHIR R4 the generator writes, as serde structs with fields in the order FHIR
//! documents them, one resource per NDJSON line. Systems and extension URLs are the conventions
//! documented in docs/synth/README.md.

use serde::Serialize;

pub const CCN: &str = "urn:oid:2.16.840.1.113883.4.336";
pub const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub const ORG_TYPE: &str = "http://terminology.hl7.org/CodeSystem/organization-type";
pub const PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const ADMIT_SOURCE: &str = "http://terminology.hl7.org/CodeSystem/admit-source";
pub const DISPOSITION: &str = "http://terminology.hl7.org/CodeSystem/discharge-disposition";
pub const MS_DRG: &str = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software";
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const ICD10PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
pub const CPT: &str = "http://www.ama-assn.org/go/cpt";
pub const NUCC: &str = "http://nucc.org/provider-taxonomy";
pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
pub const POA: &str = "https://rounds.example/fhir/StructureDefinition/present-on-admission";
pub const BEDS: &str = "https://rounds.example/fhir/StructureDefinition/licensed-beds";
pub const PRACTITIONER_KIND: &str = "https://rounds.example/fhir/CodeSystem/practitioner-kind";

#[derive(Serialize)]
pub struct Coding<'a> {
    pub system: &'a str,
    pub code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<&'a str>,
}

impl<'a> Coding<'a> {
    pub fn new(system: &'a str, code: &'a str, display: &'a str) -> Coding<'a> {
        Coding {
            system,
            code,
            display: Some(display),
        }
    }
}

#[derive(Serialize)]
pub struct Concept<'a> {
    pub coding: [Coding<'a>; 1],
}

impl<'a> Concept<'a> {
    pub fn new(system: &'a str, code: &'a str, display: &'a str) -> Concept<'a> {
        Concept {
            coding: [Coding::new(system, code, display)],
        }
    }
}

#[derive(Serialize)]
pub struct Reference {
    pub reference: String,
}

impl Reference {
    pub fn to(kind: &str, id: &str) -> Reference {
        Reference {
            reference: format!("{kind}/{id}"),
        }
    }

    /// A conditional reference to the practitioner with this NPI, as Synthea writes it.
    pub fn practitioner(npi: &str) -> Reference {
        Reference {
            reference: format!("Practitioner?identifier={NPI}|{npi}"),
        }
    }
}

#[derive(Serialize)]
pub struct Identifier<'a> {
    pub system: &'a str,
    pub value: &'a str,
}

#[derive(Serialize)]
pub struct Address<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    #[serde(rename = "postalCode")]
    pub postal_code: &'a str,
}

#[derive(Serialize)]
pub struct HumanName<'a> {
    pub family: &'a str,
    pub given: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier<'a>>,
    pub active: bool,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<Concept<'a>>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<Reference>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegerExtension<'a> {
    pub url: &'a str,
    pub value_integer: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeExtension<'a> {
    pub url: &'a str,
    pub value_code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub extension: [IntegerExtension<'a>; 1],
    pub status: &'static str,
    pub name: &'a str,
    pub physical_type: Concept<'a>,
    pub managing_organization: Reference,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Practitioner<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub identifier: [Identifier<'a>; 1],
    pub active: bool,
    pub name: [HumanName<'a>; 1],
    pub gender: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PractitionerRole<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub active: bool,
    pub practitioner: Reference,
    pub organization: Reference,
    pub code: [Concept<'a>; 1],
    pub specialty: [Concept<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub name: [HumanName<'a>; 1],
    pub gender: &'a str,
    pub birth_date: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deceased_date_time: Option<&'a str>,
    pub address: [Address<'a>; 1],
}

#[derive(Serialize)]
pub struct Period<'a> {
    pub start: &'a str,
    pub end: &'a str,
}

#[derive(Serialize)]
pub struct Participant<'a> {
    #[serde(rename = "type")]
    pub kind: [Concept<'a>; 1],
    pub individual: Reference,
}

#[derive(Serialize)]
pub struct Diagnosis {
    pub condition: Reference,
    pub rank: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hospitalization<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admit_source: Option<Concept<'a>>,
    pub discharge_disposition: Concept<'a>,
}

#[derive(Serialize)]
pub struct EncounterLocation {
    pub location: Reference,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Encounter<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub status: &'static str,
    pub class: Coding<'a>,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<Concept<'a>>,
    pub subject: Reference,
    pub participant: [Participant<'a>; 1],
    pub period: Period<'a>,
    pub diagnosis: Vec<Diagnosis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hospitalization: Option<Hospitalization<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<EncounterLocation>,
    pub service_provider: Reference,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<CodeExtension<'a>>,
    pub category: [Concept<'a>; 1],
    pub code: Concept<'a>,
    pub subject: Reference,
    pub encounter: Reference,
    pub recorded_date: &'a str,
}

#[derive(Serialize)]
pub struct Performer {
    pub actor: Reference,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Procedure<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    pub status: &'static str,
    pub code: Concept<'a>,
    pub subject: Reference,
    pub encounter: Reference,
    pub performed_date_time: &'a str,
    pub performer: [Performer; 1],
}

/// Appends one resource as an NDJSON line.
pub fn line<T: Serialize>(out: &mut Vec<u8>, resource: &T) {
    serde_json::to_writer(&mut *out, resource).expect("serialising to memory cannot fail");
    out.push(b'\n');
}

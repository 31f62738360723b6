//! Code systems and the coded values the store keeps: canonical system URIs (with the short names
//! accepted in CSV files), encounter classes, admit sources and discharge dispositions.

pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const ICD10PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
pub const ICD9CM: &str = "http://hl7.org/fhir/sid/icd-9-cm";
pub const CPT: &str = "http://www.ama-assn.org/go/cpt";
pub const HCPCS: &str = "urn:oid:2.16.840.1.113883.6.285";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const MS_DRG: &str = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software";
pub const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
pub const CCN: &str = "urn:oid:2.16.840.1.113883.4.336";
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const PARTICIPATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
pub const ADMIT_SOURCE: &str = "http://terminology.hl7.org/CodeSystem/admit-source";
pub const DISCHARGE_DISPOSITION: &str =
    "http://terminology.hl7.org/CodeSystem/discharge-disposition";
pub const ORGANIZATION_TYPE: &str = "http://terminology.hl7.org/CodeSystem/organization-type";
pub const LOCATION_PHYSICAL_TYPE: &str =
    "http://terminology.hl7.org/CodeSystem/location-physical-type";
pub const DIAGNOSIS_ROLE: &str = "http://terminology.hl7.org/CodeSystem/diagnosis-role";

/// Code systems a diagnosis or procedure may use without a warning.
pub const CLINICAL_SYSTEMS: &[&str] = &[ICD10CM, ICD10PCS, ICD9CM, CPT, HCPCS, SNOMED, LOINC];

/// The canonical URI of a code system given by URI or by one of its usual short names
/// (`ICD10CM`, `icd-10-pcs`, `CPT`, `SNOMED`, …), or `None` when neither.
pub fn system_uri(name: &str) -> Option<&'static str> {
    let name = name.trim();
    if let Some(uri) = CLINICAL_SYSTEMS
        .iter()
        .chain([MS_DRG].iter())
        .find(|s| **s == name)
    {
        return Some(uri);
    }
    let short: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match short.as_str() {
        "ICD10CM" | "ICD10" => ICD10CM,
        "ICD10PCS" => ICD10PCS,
        "ICD9CM" | "ICD9" => ICD9CM,
        "CPT" | "CPT4" => CPT,
        "HCPCS" => HCPCS,
        "SNOMED" | "SNOMEDCT" | "SCT" => SNOMED,
        "LOINC" => LOINC,
        "MSDRG" | "DRG" => MS_DRG,
        _ => return None,
    })
}

/// Encounter classes as stored, from v3-ActCode (and the plain words of CSV files).
pub fn encounter_class(code: &str) -> Option<&'static str> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "IMP" | "ACUTE" | "NONAC" | "INPATIENT" => "inpatient",
        "EMER" | "EMERGENCY" => "emergency",
        "OBSENC" | "OBSERVATION" => "observation",
        "AMB" | "AMBULATORY" | "OUTPATIENT" | "WELLNESS" | "URGENTCARE" => "ambulatory",
        "SS" | "SHORT-STAY" => "short-stay",
        "HH" | "HOME" | "HOME-HEALTH" | "HOME_HEALTH" => "home-health",
        "VR" | "VIRTUAL" | "TELEHEALTH" => "virtual",
        "FLD" | "FIELD" => "field",
        "PRENC" | "PRE-ADMISSION" => "pre-admission",
        "SNF" | "SKILLED-NURSING" => "skilled-nursing",
        "HOSPICE" => "hospice",
        _ => return None,
    })
}

pub const CLASSES: &[&str] = &[
    "inpatient",
    "emergency",
    "observation",
    "ambulatory",
    "short-stay",
    "home-health",
    "virtual",
    "field",
    "pre-admission",
    "skilled-nursing",
    "hospice",
];

/// HL7 admit-source codes.
pub const ADMIT_SOURCES: &[&str] = &[
    "hosp-trans",
    "emd",
    "outp",
    "born",
    "gp",
    "mp",
    "nursing",
    "psych",
    "rehab",
    "other",
];

/// HL7 discharge-disposition codes; `exp` is expired (died), `other-hcf` a transfer to another
/// (acute) health-care facility, `aadvice` left against advice.
pub const DISCHARGE_DISPOSITIONS: &[&str] = &[
    "home",
    "alt-home",
    "other-hcf",
    "hosp",
    "long",
    "aadvice",
    "exp",
    "psy",
    "rehab",
    "snf",
    "oth",
];

/// Administrative sex as stored (FHIR AdministrativeGender); CSV `M`/`F` are accepted.
pub fn sex(code: &str) -> Option<&'static str> {
    Some(match code.trim().to_ascii_lowercase().as_str() {
        "male" | "m" => "male",
        "female" | "f" => "female",
        "other" | "o" => "other",
        "unknown" | "u" | "" => "unknown",
        _ => return None,
    })
}

/// Present-on-admission indicator (CMS: Y, N, U, W; `1` is the old exempt flag, kept as `E`).
pub fn poa(code: &str) -> Option<&'static str> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "Y" | "YES" | "TRUE" => "Y",
        "N" | "NO" | "FALSE" => "N",
        "U" => "U",
        "W" => "W",
        "1" | "E" | "EXEMPT" => "E",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_uris_name_the_same_system() {
        assert_eq!(system_uri("ICD-10-CM"), Some(ICD10CM));
        assert_eq!(system_uri("icd10pcs"), Some(ICD10PCS));
        assert_eq!(system_uri(SNOMED), Some(SNOMED));
        assert_eq!(system_uri("CPT"), Some(CPT));
        assert_eq!(system_uri("Read v2"), None);
    }

    #[test]
    fn act_codes_become_classes() {
        assert_eq!(encounter_class("IMP"), Some("inpatient"));
        assert_eq!(encounter_class("emer"), Some("emergency"));
        assert_eq!(encounter_class("OBSENC"), Some("observation"));
        assert_eq!(encounter_class("XYZ"), None);
    }
}

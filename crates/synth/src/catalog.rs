//! The fixed tables the health system is drawn from: MS-DRGs with their weights, geometric mean
//! length of stay and typical principal diagnoses and procedures (values rounded from the CMS FY
//! 2024 table 5), services, nursing-unit kinds, comorbidities, complications and ED diagnoses.

/// A code and its display text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Code {
    pub code: &'static str,
    pub display: &'static str,
}

const fn c(code: &'static str, display: &'static str) -> Code {
    Code { code, display }
}

/// A clinical service: what a department is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    HospitalMedicine,
    Cardiology,
    Pulmonology,
    Neurology,
    Gastroenterology,
    Nephrology,
    Psychiatry,
    EmergencyMedicine,
    GeneralSurgery,
    OrthopedicSurgery,
    Neurosurgery,
    CardiothoracicSurgery,
    VascularSurgery,
    Urology,
    ObstetricsGynecology,
    Pediatrics,
}

impl Service {
    pub fn name(self) -> &'static str {
        use Service::*;
        match self {
            HospitalMedicine => "Hospital Medicine",
            Cardiology => "Cardiology",
            Pulmonology => "Pulmonary and Critical Care",
            Neurology => "Neurology",
            Gastroenterology => "Gastroenterology",
            Nephrology => "Nephrology",
            Psychiatry => "Psychiatry",
            EmergencyMedicine => "Emergency Medicine",
            GeneralSurgery => "General Surgery",
            OrthopedicSurgery => "Orthopaedic Surgery",
            Neurosurgery => "Neurosurgery",
            CardiothoracicSurgery => "Cardiothoracic Surgery",
            VascularSurgery => "Vascular Surgery",
            Urology => "Urology",
            ObstetricsGynecology => "Obstetrics and Gynecology",
            Pediatrics => "Pediatrics",
        }
    }

    pub fn slug(self) -> &'static str {
        use Service::*;
        match self {
            HospitalMedicine => "medicine",
            Cardiology => "cardiology",
            Pulmonology => "pulmonary",
            Neurology => "neurology",
            Gastroenterology => "gi",
            Nephrology => "nephrology",
            Psychiatry => "psychiatry",
            EmergencyMedicine => "emergency",
            GeneralSurgery => "surgery",
            OrthopedicSurgery => "orthopaedics",
            Neurosurgery => "neurosurgery",
            CardiothoracicSurgery => "ctsurgery",
            VascularSurgery => "vascular",
            Urology => "urology",
            ObstetricsGynecology => "obgyn",
            Pediatrics => "pediatrics",
        }
    }

    /// NUCC health care provider taxonomy of the department's physicians.
    pub fn taxonomy(self) -> Code {
        use Service::*;
        match self {
            HospitalMedicine => c("208M00000X", "Hospitalist"),
            Cardiology => c("207RC0000X", "Cardiovascular Disease Physician"),
            Pulmonology => c("207RP1001X", "Pulmonary Disease Physician"),
            Neurology => c("2084N0400X", "Neurology Physician"),
            Gastroenterology => c("207RG0100X", "Gastroenterology Physician"),
            Nephrology => c("207RN0300X", "Nephrology Physician"),
            Psychiatry => c("2084P0800X", "Psychiatry Physician"),
            EmergencyMedicine => c("207P00000X", "Emergency Medicine Physician"),
            GeneralSurgery => c("208600000X", "Surgery Physician"),
            OrthopedicSurgery => c("207X00000X", "Orthopaedic Surgery Physician"),
            Neurosurgery => c("207T00000X", "Neurological Surgery Physician"),
            CardiothoracicSurgery => c(
                "208G00000X",
                "Thoracic Surgery (Cardiothoracic Vascular Surgery) Physician",
            ),
            VascularSurgery => c("2086S0129X", "Vascular Surgery Physician"),
            Urology => c("208800000X", "Urology Physician"),
            ObstetricsGynecology => c("207V00000X", "Obstetrics & Gynecology Physician"),
            Pediatrics => c("208000000X", "Pediatrics Physician"),
        }
    }

    /// Medical subspecialty admissions go to hospital medicine where a facility lacks the service;
    /// surgery, obstetrics, psychiatry and pediatrics are only done where the department exists.
    pub fn fallback(self) -> Option<Service> {
        use Service::*;
        match self {
            Cardiology | Pulmonology | Neurology | Gastroenterology | Nephrology => {
                Some(HospitalMedicine)
            }
            _ => None,
        }
    }
}

pub const NP: Code = c("363L00000X", "Nurse Practitioner");
pub const PA: Code = c("363A00000X", "Physician Assistant");
pub const RESIDENT: Code = c(
    "390200000X",
    "Student in an Organized Health Care Education/Training Program",
);

/// What a nursing unit takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    Medicine,
    Surgery,
    Icu,
    Cardiac,
    Neuro,
    Ortho,
    Maternity,
    Nursery,
    Behavioral,
    Emergency,
    Observation,
}

impl UnitKind {
    /// Where a patient goes when the facility has no unit of this kind.
    pub fn fallback(self) -> UnitKind {
        use UnitKind::*;
        match self {
            Cardiac | Neuro | Icu | Behavioral | Observation => Medicine,
            Ortho => Surgery,
            Nursery => Maternity,
            other => other,
        }
    }
}

/// How admissions of a DRG arrive over the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Medical admissions through the ED, mild weekday effect.
    Medical,
    /// Respiratory admissions: the winter season.
    Respiratory,
    /// Scheduled surgery: weekdays.
    Elective,
    /// Urgent surgery and deliveries: any day.
    Urgent,
    /// Only as a consequence of another encounter (newborns).
    None,
}

#[derive(Debug, Clone, Copy)]
pub struct Drg {
    pub code: &'static str,
    pub title: &'static str,
    pub weight: f64,
    /// Geometric mean length of stay, days.
    pub gmlos: f64,
    pub surgical: bool,
    pub service: Service,
    pub unit: UnitKind,
    pub stream: Stream,
    /// Relative volume within its stream.
    pub volume: f64,
    /// Mean and standard deviation of age at admission.
    pub age: (f64, f64),
    pub female_only: bool,
    pub principal: &'static [Code],
    /// The operating-room procedure (surgical) or procedures done in some stays (medical).
    pub procedures: &'static [Code],
}

#[allow(clippy::too_many_arguments)]
const fn drg(
    code: &'static str,
    title: &'static str,
    weight: f64,
    gmlos: f64,
    service: Service,
    unit: UnitKind,
    stream: Stream,
    volume: f64,
    age: (f64, f64),
    principal: &'static [Code],
    procedures: &'static [Code],
) -> Drg {
    let surgical = matches!(stream, Stream::Elective)
        || matches!(
            service,
            Service::GeneralSurgery
                | Service::OrthopedicSurgery
                | Service::Neurosurgery
                | Service::CardiothoracicSurgery
                | Service::VascularSurgery
                | Service::Urology
        );
    Drg {
        code,
        title,
        weight,
        gmlos,
        surgical,
        service,
        unit,
        stream,
        volume,
        age,
        female_only: false,
        principal,
        procedures,
    }
}

const fn female(mut d: Drg) -> Drg {
    d.female_only = true;
    d
}

const fn surgical(mut d: Drg) -> Drg {
    d.surgical = true;
    d
}

use Service as S;
use Stream as T;
use UnitKind as U;

const SEPSIS: &[Code] = &[
    c("A41.9", "Sepsis, unspecified organism"),
    c("A41.51", "Sepsis due to Escherichia coli [E. coli]"),
];
const HF: &[Code] = &[
    c(
        "I50.23",
        "Acute on chronic systolic (congestive) heart failure",
    ),
    c(
        "I50.33",
        "Acute on chronic diastolic (congestive) heart failure",
    ),
    c("I11.0", "Hypertensive heart disease with heart failure"),
];
const COPD: &[Code] = &[
    c(
        "J44.1",
        "Chronic obstructive pulmonary disease with (acute) exacerbation",
    ),
    c(
        "J44.0",
        "Chronic obstructive pulmonary disease with (acute) lower respiratory infection",
    ),
];
const PNEUMONIA: &[Code] = &[
    c("J18.9", "Pneumonia, unspecified organism"),
    c("J12.89", "Other viral pneumonia"),
];
const UTI: &[Code] = &[
    c("N39.0", "Urinary tract infection, site not specified"),
    c("N10", "Acute pyelonephritis"),
];
const STROKE: &[Code] = &[
    c("I63.9", "Cerebral infarction, unspecified"),
    c(
        "I61.9",
        "Nontraumatic intracerebral hemorrhage, unspecified",
    ),
];
const AMI: &[Code] = &[
    c("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction"),
    c(
        "I21.3",
        "ST elevation (STEMI) myocardial infarction of unspecified site",
    ),
];
const GI_BLEED: &[Code] = &[
    c("K92.2", "Gastrointestinal hemorrhage, unspecified"),
    c("K92.1", "Melena"),
];
const VENT: &[Code] = &[
    c(
        "0BH17EZ",
        "Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial Opening",
    ),
    c(
        "5A1945Z",
        "Respiratory Ventilation, 24-96 Consecutive Hours",
    ),
];
const TRANSFUSION: Code = c(
    "30233N1",
    "Transfusion of Nonautologous Red Blood Cells into Peripheral Vein, Percutaneous Approach",
);
const EGD: Code = c(
    "0DJ08ZZ",
    "Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic",
);
const CATH: Code = c(
    "4A023N7",
    "Measurement of Cardiac Sampling and Pressure, Left Heart, Percutaneous Approach",
);

/// About 40 common MS-DRGs. Medical stays get their procedures by chance; a surgical DRG's first
/// procedure is its operating-room procedure.
#[rustfmt::skip]
pub static DRGS: &[Drg] = &[
    drg("871", "Septicemia or severe sepsis without MV >96 hours with MCC", 1.98, 4.6, S::HospitalMedicine, U::Medicine, T::Medical, 9.0, (70.0, 15.0), SEPSIS, VENT),
    drg("872", "Septicemia or severe sepsis without MV >96 hours without MCC", 1.03, 3.4, S::HospitalMedicine, U::Medicine, T::Medical, 4.0, (66.0, 16.0), SEPSIS, &[]),
    drg("291", "Heart failure and shock with MCC", 1.35, 3.8, S::Cardiology, U::Cardiac, T::Medical, 6.0, (74.0, 12.0), HF, &[CATH]),
    drg("292", "Heart failure and shock with CC", 0.91, 3.0, S::Cardiology, U::Cardiac, T::Medical, 3.0, (72.0, 12.0), HF, &[]),
    drg("280", "Acute myocardial infarction, discharged alive with MCC", 1.64, 4.0, S::Cardiology, U::Cardiac, T::Medical, 2.0, (70.0, 12.0), AMI, &[CATH]),
    drg("281", "Acute myocardial infarction, discharged alive with CC", 1.02, 2.7, S::Cardiology, U::Cardiac, T::Medical, 1.5, (67.0, 12.0), AMI, &[CATH]),
    drg("308", "Cardiac arrhythmia and conduction disorders with MCC", 1.15, 3.3, S::Cardiology, U::Cardiac, T::Medical, 2.0, (72.0, 12.0), &[c("I48.91", "Unspecified atrial fibrillation")], &[]),
    drg("309", "Cardiac arrhythmia and conduction disorders with CC", 0.76, 2.3, S::Cardiology, U::Cardiac, T::Medical, 2.5, (69.0, 13.0), &[c("I48.91", "Unspecified atrial fibrillation")], &[]),
    drg("313", "Chest pain", 0.60, 1.6, S::Cardiology, U::Cardiac, T::Medical, 2.0, (58.0, 14.0), &[c("R07.9", "Chest pain, unspecified"), c("R07.89", "Other chest pain")], &[]),
    drg("190", "Chronic obstructive pulmonary disease with MCC", 1.17, 3.6, S::Pulmonology, U::Medicine, T::Respiratory, 3.0, (70.0, 10.0), COPD, VENT),
    drg("192", "Chronic obstructive pulmonary disease without CC/MCC", 0.71, 2.6, S::Pulmonology, U::Medicine, T::Respiratory, 2.0, (67.0, 11.0), COPD, &[]),
    drg("193", "Simple pneumonia and pleurisy with MCC", 1.33, 4.0, S::Pulmonology, U::Medicine, T::Respiratory, 4.0, (72.0, 14.0), PNEUMONIA, &[]),
    drg("194", "Simple pneumonia and pleurisy with CC", 0.90, 3.1, S::Pulmonology, U::Medicine, T::Respiratory, 3.0, (68.0, 16.0), PNEUMONIA, &[]),
    drg("195", "Simple pneumonia and pleurisy without CC/MCC", 0.69, 2.4, S::Pulmonology, U::Medicine, T::Respiratory, 1.5, (60.0, 20.0), PNEUMONIA, &[]),
    drg("177", "Respiratory infections and inflammations with MCC", 1.76, 5.0, S::Pulmonology, U::Medicine, T::Respiratory, 1.5, (72.0, 13.0), &[c("J15.9", "Unspecified bacterial pneumonia")], VENT),
    drg("202", "Bronchitis and asthma with CC/MCC", 0.80, 2.6, S::Pulmonology, U::Medicine, T::Respiratory, 1.5, (45.0, 20.0), &[c("J45.901", "Unspecified asthma with (acute) exacerbation")], &[]),
    drg("689", "Kidney and urinary tract infections with MCC", 1.10, 3.6, S::HospitalMedicine, U::Medicine, T::Medical, 2.5, (74.0, 14.0), UTI, &[]),
    drg("690", "Kidney and urinary tract infections without MCC", 0.78, 2.7, S::HospitalMedicine, U::Medicine, T::Medical, 3.0, (66.0, 18.0), UTI, &[]),
    drg("682", "Renal failure with MCC", 1.48, 4.4, S::Nephrology, U::Medicine, T::Medical, 2.0, (72.0, 13.0), &[c("N17.9", "Acute kidney failure, unspecified")], &[]),
    drg("683", "Renal failure with CC", 0.88, 3.2, S::Nephrology, U::Medicine, T::Medical, 2.5, (70.0, 14.0), &[c("N17.9", "Acute kidney failure, unspecified")], &[]),
    drg("064", "Intracranial hemorrhage or cerebral infarction with MCC", 1.80, 4.4, S::Neurology, U::Neuro, T::Medical, 1.5, (72.0, 13.0), STROKE, VENT),
    drg("065", "Intracranial hemorrhage or cerebral infarction with CC or tPA in 24 hours", 1.00, 3.0, S::Neurology, U::Neuro, T::Medical, 2.0, (70.0, 13.0), STROKE, &[]),
    drg("069", "Transient ischemia without thrombolytic", 0.75, 2.1, S::Neurology, U::Neuro, T::Medical, 1.5, (68.0, 13.0), &[c("G45.9", "Transient cerebral ischemic attack, unspecified")], &[]),
    drg("377", "GI hemorrhage with MCC", 1.75, 4.2, S::Gastroenterology, U::Medicine, T::Medical, 1.2, (70.0, 14.0), GI_BLEED, &[EGD, TRANSFUSION]),
    drg("378", "GI hemorrhage with CC", 0.98, 3.0, S::Gastroenterology, U::Medicine, T::Medical, 2.0, (67.0, 15.0), GI_BLEED, &[EGD, TRANSFUSION]),
    drg("392", "Esophagitis, gastroenteritis and miscellaneous digestive disorders without MCC", 0.73, 2.6, S::Gastroenterology, U::Medicine, T::Medical, 4.0, (55.0, 20.0), &[c("K52.9", "Noninfective gastroenteritis and colitis, unspecified"), c("K29.70", "Gastritis, unspecified, without bleeding")], &[EGD]),
    drg("638", "Diabetes with CC", 0.86, 2.8, S::HospitalMedicine, U::Medicine, T::Medical, 1.5, (55.0, 17.0), &[c("E11.65", "Type 2 diabetes mellitus with hyperglycemia"), c("E11.10", "Type 2 diabetes mellitus with ketoacidosis without coma")], &[]),
    drg("603", "Cellulitis without MCC", 0.85, 3.2, S::HospitalMedicine, U::Medicine, T::Medical, 3.0, (55.0, 18.0), &[c("L03.115", "Cellulitis of right lower limb"), c("L03.116", "Cellulitis of left lower limb")], &[]),
    drg("640", "Miscellaneous disorders of nutrition, metabolism, fluids/electrolytes with MCC", 1.10, 3.4, S::HospitalMedicine, U::Medicine, T::Medical, 1.5, (74.0, 14.0), &[c("E87.1", "Hypo-osmolality and hyponatremia")], &[]),
    drg("641", "Miscellaneous disorders of nutrition, metabolism, fluids/electrolytes without MCC", 0.72, 2.6, S::HospitalMedicine, U::Medicine, T::Medical, 2.5, (70.0, 17.0), &[c("E86.0", "Dehydration"), c("E87.1", "Hypo-osmolality and hyponatremia")], &[]),
    drg("312", "Syncope and collapse", 0.80, 2.2, S::HospitalMedicine, U::Medicine, T::Medical, 2.0, (68.0, 17.0), &[c("R55", "Syncope and collapse")], &[]),
    drg("897", "Alcohol, drug abuse or dependence without rehabilitation therapy without MCC", 0.75, 3.3, S::HospitalMedicine, U::Medicine, T::Medical, 1.5, (46.0, 13.0), &[c("F10.239", "Alcohol dependence with withdrawal, unspecified")], &[]),
    drg("885", "Psychoses", 1.30, 5.8, S::Psychiatry, U::Behavioral, T::Medical, 2.0, (40.0, 15.0), &[c("F20.9", "Schizophrenia, unspecified"), c("F31.9", "Bipolar disorder, unspecified")], &[]),
    female(drg("807", "Vaginal delivery without sterilization/D&C without CC/MCC", 0.62, 2.0, S::ObstetricsGynecology, U::Maternity, T::Urgent, 6.0, (29.0, 5.0), &[c("O80", "Encounter for full-term uncomplicated delivery")], &[c("10E0XZZ", "Delivery of Products of Conception, External Approach")])),
    female(surgical(drg("788", "Cesarean section without sterilization without CC/MCC", 0.93, 2.6, S::ObstetricsGynecology, U::Maternity, T::Urgent, 3.0, (31.0, 5.0), &[c("O82", "Encounter for cesarean delivery without indication"), c("O34.211", "Maternal care for low transverse scar from previous cesarean delivery")], &[c("10D00Z1", "Extraction of Products of Conception, Low, Open Approach")]))),
    drg("795", "Normal newborn", 0.18, 2.0, S::Pediatrics, U::Nursery, T::None, 0.0, (0.0, 0.0), &[c("Z38.00", "Single liveborn infant, delivered vaginally")], &[]),
    drg("470", "Major hip and knee joint replacement or reattachment of lower extremity without MCC", 1.90, 2.0, S::OrthopedicSurgery, U::Ortho, T::Elective, 8.0, (67.0, 9.0), &[c("M17.11", "Unilateral primary osteoarthritis, right knee"), c("M17.12", "Unilateral primary osteoarthritis, left knee"), c("M16.11", "Unilateral primary osteoarthritis, right hip")], &[c("0SRC0J9", "Replacement of Right Knee Joint with Synthetic Substitute, Cemented, Open Approach")]),
    drg("481", "Hip and femur procedures except major joint with CC", 2.05, 4.2, S::OrthopedicSurgery, U::Ortho, T::Urgent, 2.5, (80.0, 9.0), &[c("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"), c("S72.002A", "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture")], &[c("0QS604Z", "Reposition Right Upper Femur with Internal Fixation Device, Open Approach")]),
    drg("460", "Spinal fusion except cervical without MCC", 3.90, 2.8, S::Neurosurgery, U::Neuro, T::Elective, 2.0, (62.0, 11.0), &[c("M48.062", "Spinal stenosis, lumbar region with neurogenic claudication")], &[c("0SG0070", "Fusion of Lumbar Vertebral Joint with Autologous Tissue Substitute, Anterior Approach, Anterior Column, Open Approach")]),
    drg("473", "Cervical spinal fusion without CC/MCC", 2.50, 1.4, S::Neurosurgery, U::Neuro, T::Elective, 1.2, (56.0, 11.0), &[c("M50.122", "Cervical disc disorder at C5-C6 level with radiculopathy")], &[c("0RG10A0", "Fusion of Cervical Vertebral Joint with Interbody Fusion Device, Anterior Approach, Anterior Column, Open Approach")]),
    drg("025", "Craniotomy and endovascular intracranial procedures with MCC", 4.50, 7.0, S::Neurosurgery, U::Icu, T::Urgent, 0.6, (60.0, 14.0), &[c("C71.9", "Malignant neoplasm of brain, unspecified")], &[c("00B00ZZ", "Excision of Brain, Open Approach")]),
    drg("330", "Major small and large bowel procedures with CC", 2.60, 6.0, S::GeneralSurgery, U::Surgery, T::Elective, 2.5, (64.0, 13.0), &[c("K57.20", "Diverticulitis of large intestine with perforation and abscess without bleeding"), c("C18.7", "Malignant neoplasm of sigmoid colon")], &[c("0DTN0ZZ", "Resection of Sigmoid Colon, Open Approach")]),
    drg("329", "Major small and large bowel procedures with MCC", 4.90, 10.8, S::GeneralSurgery, U::Surgery, T::Urgent, 1.2, (68.0, 13.0), &[c("K56.609", "Unspecified intestinal obstruction, unspecified as to partial versus complete obstruction")], &[c("0DTN0ZZ", "Resection of Sigmoid Colon, Open Approach")]),
    drg("343", "Appendectomy without complicated principal diagnosis without CC/MCC", 1.00, 1.6, S::GeneralSurgery, U::Surgery, T::Urgent, 2.5, (38.0, 15.0), &[c("K35.80", "Unspecified acute appendicitis")], &[c("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach")]),
    drg("419", "Laparoscopic cholecystectomy without C.D.E. without CC/MCC", 1.20, 1.6, S::GeneralSurgery, U::Surgery, T::Urgent, 3.0, (50.0, 16.0), &[c("K80.00", "Calculus of gallbladder with acute cholecystitis without obstruction"), c("K81.0", "Acute cholecystitis")], &[c("0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach")]),
    drg("621", "O.R. procedures for obesity without CC/MCC", 1.80, 1.4, S::GeneralSurgery, U::Surgery, T::Elective, 1.5, (44.0, 10.0), &[c("E66.01", "Morbid (severe) obesity due to excess calories")], &[c("0D164ZA", "Bypass Stomach to Jejunum, Percutaneous Endoscopic Approach")]),
    female(surgical(drg("743", "Uterine and adnexa procedures for non-malignancy without CC/MCC", 1.10, 1.4, S::ObstetricsGynecology, U::Surgery, T::Elective, 1.5, (45.0, 8.0), &[c("D25.9", "Leiomyoma of uterus, unspecified")], &[c("0UT94ZZ", "Resection of Uterus, Percutaneous Endoscopic Approach")]))),
    drg("708", "Major male pelvic procedures without CC/MCC", 1.40, 1.3, S::Urology, U::Surgery, T::Elective, 1.0, (64.0, 7.0), &[c("C61", "Malignant neoplasm of prostate")], &[c("0VT04ZZ", "Resection of Prostate, Percutaneous Endoscopic Approach")]),
    surgical(drg("247", "Percutaneous cardiovascular procedures with drug-eluting stent without MCC", 2.00, 1.8, S::Cardiology, U::Cardiac, T::Elective, 2.5, (65.0, 11.0), &[c("I25.110", "Atherosclerotic heart disease of native coronary artery with unstable angina pectoris")], &[c("027034Z", "Dilation of Coronary Artery, One Artery with Drug-eluting Intraluminal Device, Percutaneous Approach")])),
    drg("236", "Coronary bypass without cardiac catheterization without MCC", 4.00, 4.6, S::CardiothoracicSurgery, U::Icu, T::Elective, 0.8, (66.0, 9.0), &[c("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris")], &[c("021009W", "Bypass Coronary Artery, One Artery from Aorta with Autologous Venous Tissue, Open Approach")]),
    drg("254", "Other vascular procedures without CC/MCC", 1.80, 1.7, S::VascularSurgery, U::Surgery, T::Elective, 1.0, (68.0, 10.0), &[c("I70.213", "Atherosclerosis of native arteries of extremities with intermittent claudication, bilateral legs")], &[c("047K3DZ", "Dilation of Right Femoral Artery with Intraluminal Device, Percutaneous Approach")]),
];

pub fn drg_by_code(code: &str) -> Option<&'static Drg> {
    DRGS.iter().find(|d| d.code == code)
}

/// Chronic conditions coded as secondary diagnoses present on admission: a patient's comorbidity
/// count is how many of these they carry.
pub static COMORBIDITIES: &[Code] = &[
    c("I10", "Essential (primary) hypertension"),
    c("E11.9", "Type 2 diabetes mellitus without complications"),
    c("E78.5", "Hyperlipidemia, unspecified"),
    c("N18.30", "Chronic kidney disease, stage 3 unspecified"),
    c(
        "J44.9",
        "Chronic obstructive pulmonary disease, unspecified",
    ),
    c(
        "I25.10",
        "Atherosclerotic heart disease of native coronary artery without angina pectoris",
    ),
    c("I48.91", "Unspecified atrial fibrillation"),
    c("E66.9", "Obesity, unspecified"),
    c("F17.210", "Nicotine dependence, cigarettes, uncomplicated"),
    c("F32.A", "Depression, unspecified"),
    c("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
    c("D64.9", "Anemia, unspecified"),
    c("E03.9", "Hypothyroidism, unspecified"),
    c(
        "K21.9",
        "Gastro-esophageal reflux disease without esophagitis",
    ),
];

/// Post-operative complications (secondary diagnoses not present on admission) and their shares.
#[rustfmt::skip]
pub static COMPLICATIONS: &[(Code, f64)] = &[
    (c("T81.41XA", "Infection following a procedure, superficial incisional surgical site, initial encounter"), 0.25),
    (c("T81.42XA", "Infection following a procedure, deep incisional surgical site, initial encounter"), 0.12),
    (c("T81.43XA", "Infection following a procedure, organ and space surgical site, initial encounter"), 0.08),
    (c("A41.9", "Sepsis, unspecified organism"), 0.15),
    (c("J18.9", "Pneumonia, unspecified organism"), 0.15),
    (c("I26.99", "Other pulmonary embolism without acute cor pulmonale"), 0.10),
    (c("N17.9", "Acute kidney failure, unspecified"), 0.15),
];

/// The hospital-acquired infection of the planted cluster.
pub const CDIFF: Code = c(
    "A04.72",
    "Enterocolitis due to Clostridium difficile, not specified as recurrent",
);

/// Return to the operating room for a surgical-site infection (CPT).
pub const WOUND_DRAINAGE: Code = c(
    "10180",
    "Incision and drainage, complex, postoperative wound infection",
);
pub const POSTOP_VISIT: Code = c("99024", "Postoperative follow-up visit");

/// ED principal diagnoses: code, weight, whether it follows the respiratory season, and the
/// CPT procedures it usually brings besides the visit level.
#[rustfmt::skip]
pub static ED_DIAGNOSES: &[(Code, f64, bool, &[Code])] = &[
    (c("R07.9", "Chest pain, unspecified"), 10.0, false, &[c("93010", "Electrocardiogram, interpretation and report"), c("71046", "Radiologic examination, chest; 2 views")]),
    (c("R10.9", "Unspecified abdominal pain"), 10.0, false, &[c("74177", "Computed tomography, abdomen and pelvis; with contrast material(s)")]),
    (c("J06.9", "Acute upper respiratory infection, unspecified"), 8.0, true, &[]),
    (c("J11.1", "Influenza due to unidentified influenza virus with other respiratory manifestations"), 4.0, true, &[]),
    (c("B34.9", "Viral infection, unspecified"), 4.0, true, &[]),
    (c("J20.9", "Acute bronchitis, unspecified"), 3.0, true, &[c("71046", "Radiologic examination, chest; 2 views")]),
    (c("N39.0", "Urinary tract infection, site not specified"), 5.0, false, &[]),
    (c("R51.9", "Headache, unspecified"), 5.0, false, &[c("70450", "Computed tomography, head or brain; without contrast material")]),
    (c("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"), 4.0, false, &[c("29515", "Application of short leg splint (calf to foot)")]),
    (c("S01.81XA", "Laceration without foreign body of other part of head, initial encounter"), 4.0, false, &[c("12011", "Simple repair of superficial wounds of face; 2.5 cm or less")]),
    (c("M54.50", "Low back pain, unspecified"), 5.0, false, &[]),
    (c("K52.9", "Noninfective gastroenteritis and colitis, unspecified"), 3.0, false, &[c("96374", "Therapeutic, prophylactic, or diagnostic injection; intravenous push, single or initial substance/drug")]),
    (c("R55", "Syncope and collapse"), 2.0, false, &[c("93010", "Electrocardiogram, interpretation and report")]),
    (c("J45.901", "Unspecified asthma with (acute) exacerbation"), 2.0, true, &[]),
    (c("T78.40XA", "Allergy, unspecified, initial encounter"), 2.0, false, &[]),
    (c("F10.129", "Alcohol abuse with intoxication, unspecified"), 2.0, false, &[]),
    (c("R50.9", "Fever, unspecified"), 3.0, true, &[]),
    (c("S52.501A", "Unspecified fracture of the lower end of right radius, initial encounter for closed fracture"), 1.5, false, &[c("29125", "Application of short arm splint (forearm to hand); static")]),
    (c("L03.115", "Cellulitis of right lower limb"), 2.0, false, &[]),
    (c("R11.2", "Nausea with vomiting, unspecified"), 3.0, false, &[c("96374", "Therapeutic, prophylactic, or diagnostic injection; intravenous push, single or initial substance/drug")]),
    (c("H66.90", "Otitis media, unspecified, unspecified ear"), 3.0, true, &[]),
];

/// ED visit levels (CPT evaluation and management) and their shares.
pub static ED_LEVELS: &[(Code, f64)] = &[
    (
        c("99281", "Emergency department visit, straightforward"),
        0.05,
    ),
    (
        c("99282", "Emergency department visit, low complexity"),
        0.15,
    ),
    (
        c("99283", "Emergency department visit, moderate complexity"),
        0.35,
    ),
    (
        c(
            "99284",
            "Emergency department visit, moderately high complexity",
        ),
        0.30,
    ),
    (
        c("99285", "Emergency department visit, high complexity"),
        0.15,
    ),
];

/// Relative admissions by weekday, Monday first.
pub const WEEKDAY_MEDICAL: [f64; 7] = [1.10, 1.05, 1.00, 1.00, 1.02, 0.90, 0.93];
pub const WEEKDAY_ELECTIVE: [f64; 7] = [1.35, 1.30, 1.30, 1.30, 1.20, 0.08, 0.02];
pub const WEEKDAY_ED: [f64; 7] = [1.12, 1.03, 1.00, 0.98, 0.98, 0.94, 0.95];

pub const GIVEN_NAMES_F: &[&str] = &[
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Lisa",
    "Nancy",
    "Sandra",
    "Ashley",
    "Emily",
    "Michelle",
    "Amanda",
    "Melissa",
    "Deborah",
    "Laura",
    "Rebecca",
    "Sharon",
    "Cynthia",
    "Amy",
    "Angela",
    "Priya",
    "Mei",
    "Fatima",
    "Sofia",
    "Olga",
    "Aisha",
];
pub const GIVEN_NAMES_M: &[&str] = &[
    "James",
    "Robert",
    "John",
    "Michael",
    "David",
    "William",
    "Richard",
    "Joseph",
    "Thomas",
    "Christopher",
    "Charles",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Steven",
    "Paul",
    "Andrew",
    "Joshua",
    "Kevin",
    "Brian",
    "George",
    "Edward",
    "Ronald",
    "Raj",
    "Wei",
    "Omar",
    "Mateo",
    "Ivan",
    "Kwame",
];
pub const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Patel",
    "Shah",
    "Kim",
    "Chen",
    "Okafor",
    "Kowalski",
    "Novak",
    "Cohen",
    "Murphy",
    "O'Brien",
];

//! A spontaneous-report database in the FDA FAERS quarterly ASCII layout: `ASCII/DEMOyyQq.txt`,
//! `DRUGyyQq.txt`, `REACyyQq.txt` (`$`-delimited, a header line) for the eight quarters of 2023–24,
//! and `Deleted/DELETE24Q4.txt`. Drugs and events are drawn independently from skewed popularity
//! (so most pairs are noise), except for the planted drug–event pairs, whose event is reported
//! with the drug `reporting_ratio` times as often as without it. Some cases get a follow-up
//! version in a later quarter, some are deleted, and a few lines carry Latin-1 bytes, as in the
//! real extracts.

use crate::rng::{self, Rng, Table};
use crate::truth::Signal;
use crate::{Part, Sink, SynthError};
use chrono::{Datelike, Days, NaiveDate};
use rand::Rng as _;
use std::path::Path;

#[rustfmt::skip]
pub static DRUGS: &[&str] = &[
    "ATORVASTATIN", "METFORMIN", "ADALIMUMAB", "APIXABAN", "LISINOPRIL", "SEMAGLUTIDE",
    "LEVOTHYROXINE", "AMLODIPINE", "OMEPRAZOLE", "PREDNISONE", "GABAPENTIN", "SERTRALINE",
    "RIVAROXABAN", "METOPROLOL", "ETANERCEPT", "ROSUVASTATIN", "INSULIN GLARGINE", "LOSARTAN",
    "DUPILUMAB", "PEMBROLIZUMAB", "FUROSEMIDE", "ESCITALOPRAM", "PANTOPRAZOLE", "TRAMADOL",
    "OXYCODONE", "IBUPROFEN", "ACETAMINOPHEN", "QUETIAPINE", "DULAGLUTIDE", "EMPAGLIFLOZIN",
    "SIMVASTATIN", "WARFARIN", "CLOPIDOGREL", "ASPIRIN", "DULOXETINE", "PREGABALIN",
    "METHOTREXATE", "INFLIXIMAB", "USTEKINUMAB", "NIVOLUMAB", "LENALIDOMIDE", "DAPAGLIFLOZIN",
    "SITAGLIPTIN", "CARVEDILOL", "HYDROCHLOROTHIAZIDE", "SPIRONOLACTONE", "ESOMEPRAZOLE",
    "FLUOXETINE", "VENLAFAXINE", "BUPROPION", "TRAZODONE", "ARIPIPRAZOLE", "OLANZAPINE",
    "LAMOTRIGINE", "LEVETIRACETAM", "TOPIRAMATE", "ZOLPIDEM", "ALPRAZOLAM", "CLONAZEPAM",
    "HYDROCODONE", "MORPHINE", "FENTANYL", "NAPROXEN", "CELECOXIB", "METHYLPREDNISOLONE",
    "SECUKINUMAB", "HYDROXYCHLOROQUINE", "TOFACITINIB", "IBRUTINIB", "CAPECITABINE",
    "PACLITAXEL", "CISPLATIN", "TAMOXIFEN", "LETROZOLE", "DENOSUMAB", "ALENDRONIC ACID",
    "AMOXICILLIN", "AZITHROMYCIN", "CIPROFLOXACIN", "LEVOFLOXACIN", "DOXYCYCLINE",
    "SULFAMETHOXAZOLE\\TRIMETHOPRIM", "VANCOMYCIN", "CEFTRIAXONE", "FLUCONAZOLE",
    "VALACYCLOVIR", "MONTELUKAST", "FLUTICASONE", "ALBUTEROL", "TIOTROPIUM", "CETIRIZINE",
    "TAMSULOSIN", "FINASTERIDE", "SILDENAFIL", "ONDANSETRON", "METOCLOPRAMIDE", "LITHIUM",
    "ALLOPURINOL", "COLCHICINE", "VARENICLINE",
];

#[rustfmt::skip]
pub static EVENTS: &[&str] = &[
    "Drug ineffective", "Nausea", "Fatigue", "Headache", "Off label use", "Diarrhoea",
    "Dizziness", "Pain", "Rash", "Dyspnoea", "Vomiting", "Arthralgia", "Pruritus", "Pyrexia",
    "Asthenia", "Malaise", "Insomnia", "Abdominal pain", "Anxiety", "Pain in extremity",
    "Cough", "Back pain", "Fall", "Depression", "Constipation", "Weight decreased",
    "Hypertension", "Myalgia", "Decreased appetite", "Urticaria", "Abdominal pain upper",
    "Oedema peripheral", "Chest pain", "Alopecia", "Weight increased", "Somnolence",
    "Palpitations", "Tremor", "Hypotension", "Confusional state", "Pneumonia",
    "Urinary tract infection", "Nasopharyngitis", "Influenza like illness", "Hyperhidrosis",
    "Paraesthesia", "Hypoaesthesia", "Vision blurred", "Dry mouth", "Injection site pain",
    "Injection site erythema", "Syncope", "Muscle spasms", "Death", "Vertigo", "Contusion",
    "Epistaxis", "Tachycardia", "Dysgeusia", "Tinnitus", "Sepsis", "Anaemia",
    "Acute kidney injury", "Atrial fibrillation", "Cerebrovascular accident",
    "Myocardial infarction", "Deep vein thrombosis", "Pulmonary embolism", "Thrombocytopenia",
    "Neutropenia", "Hepatic enzyme increased", "Alanine aminotransferase increased",
    "Hypoglycaemia", "Hyperglycaemia", "Hyponatraemia", "Hyperkalaemia", "Bradycardia",
    "Cardiac failure", "Seizure", "Hallucination", "Suicidal ideation", "Agitation",
    "Memory impairment", "Nightmare", "Gastrointestinal haemorrhage", "Haemorrhage",
    "Renal failure", "Pancreatitis", "Angioedema", "Anaphylactic reaction",
    "Photosensitivity reaction", "Interstitial lung disease", "Pneumonitis",
    "Febrile neutropenia", "Leukopenia", "Herpes zoster", "Oral candidiasis",
    "Fungal infection", "Clostridium difficile colitis", "Neuropathy peripheral",
    "Hearing loss", "Erectile dysfunction", "Gynaecomastia", "Hypothyroidism",
    "Lactic acidosis", "Diabetic ketoacidosis", "Rhabdomyolysis",
    "Blood creatine phosphokinase increased", "International normalised ratio increased",
    "Electrocardiogram QT prolonged", "Torsade de pointes", "Serotonin syndrome",
    "Somnambulism", "Tendon rupture", "Osteonecrosis of jaw", "Stevens-Johnson syndrome",
    "Toxic epidermal necrolysis", "Drug-induced liver injury", "Completed suicide",
];

#[rustfmt::skip]
const COMPANIES: &[&str] = &[
    "PFIZER", "MERCK", "NOVARTIS", "ROCHE", "ABBVIE", "JOHNSON AND JOHNSON", "SANOFI",
    "ASTRAZENECA", "BRISTOL MYERS SQUIBB", "LILLY", "TEVA", "AMGEN", "GILEAD", "NOVO NORDISK",
];
/// Written as Latin-1, as some real extracts do.
const LATIN1_COMPANY: &[u8] = b"SOCI\xC9T\xC9 G\xC9N\xC9RIQUE";
const COUNTRIES: &[&str] = &[
    "US", "US", "US", "US", "US", "US", "CA", "GB", "DE", "FR", "JP", "BR",
];
const OCCUPATIONS: &[&str] = &["MD", "MD", "HP", "PH", "CN", "CN", "OT"];

const QUARTERS: usize = 8;
/// Planted pairs and the least background count (reports expected without the signal) they
/// need, so that a pair planted at this scale has cases enough to be found.
const PLANTED: usize = 30;
const MIN_EXPECTED: f64 = 5.0;
const RATIOS: &[f64] = &[4.0, 5.0, 6.0, 8.0, 10.0];

/// One version of a case.
struct Version {
    caseid: u64,
    version: u32,
    /// Days from 2023-01-01.
    fda_day: u32,
    init_day: u32,
    event_day: u32,
    suspects: Vec<usize>,
    concomitant: Vec<usize>,
    events: Vec<usize>,
    age: u32,
    female: bool,
    kind: usize,
    country: usize,
    occupation: usize,
    company: usize,
    latin1: bool,
}

/// Per-report probability of each drug and event being named, and the popularity tables.
struct Popularity {
    drugs: Table,
    events: Table,
    /// P(a report names the drug as a suspect), P(a report has the event), before planting.
    drug_share: Vec<f64>,
    event_share: Vec<f64>,
}

const SUSPECTS: [f64; 3] = [0.70, 0.22, 0.08];
const EVENT_COUNTS: [f64; 4] = [0.45, 0.30, 0.15, 0.10];

impl Popularity {
    fn new() -> Popularity {
        let drug_weights: Vec<f64> = (0..DRUGS.len())
            .map(|i| 1.0 / (i as f64 + 3.0).powf(0.8))
            .collect();
        let event_weights: Vec<f64> = (0..EVENTS.len())
            .map(|i| 1.0 / (i as f64 + 3.0).powf(0.9))
            .collect();
        let mean = |w: &[f64]| {
            w.iter()
                .enumerate()
                .map(|(i, p)| (i + 1) as f64 * p)
                .sum::<f64>()
        };
        let (dt, et) = (
            drug_weights.iter().sum::<f64>(),
            event_weights.iter().sum::<f64>(),
        );
        let per_report = |weights: &[f64], total: f64, count: f64| {
            weights
                .iter()
                .map(|w| 1.0 - (1.0 - w / total).powf(count))
                .collect()
        };
        Popularity {
            drug_share: per_report(&drug_weights, dt, mean(&SUSPECTS)),
            event_share: per_report(&event_weights, et, mean(&EVENT_COUNTS)),
            drugs: Table::new(drug_weights),
            events: Table::new(event_weights),
        }
    }
}

/// A planted pair: drug, event, reporting ratio.
pub struct Planted {
    pub drug: usize,
    pub event: usize,
    pub ratio: f64,
    pub expected: f64,
}

fn plant(rng: &mut Rng, popularity: &Popularity, reports: usize) -> Vec<Planted> {
    let mut candidates = Vec::new();
    for d in 0..DRUGS.len() {
        for e in 0..EVENTS.len() {
            let expected = reports as f64 * popularity.drug_share[d] * popularity.event_share[e];
            // Very common events (an eighth of all reports or more) are left unplanted: a
            // drug cannot multiply their share by the planted ratios.
            if expected >= MIN_EXPECTED && popularity.event_share[e] < 0.08 {
                candidates.push((d, e, expected));
            }
        }
    }
    let mut planted: Vec<Planted> = Vec::new();
    while planted.len() < PLANTED && !candidates.is_empty() {
        let (drug, event, expected) = candidates.swap_remove(rng.random_range(0..candidates.len()));
        // At most three events per drug, so that one drug does not dominate the truth.
        if planted.iter().filter(|p| p.drug == drug).count() >= 3 {
            continue;
        }
        planted.push(Planted {
            drug,
            event,
            ratio: RATIOS[rng.random_range(0..RATIOS.len())],
            expected,
        });
    }
    planted.sort_by_key(|p| (p.drug, p.event));
    planted
}

fn distinct(rng: &mut Rng, table: &Table, count: usize, into: &mut Vec<usize>) {
    while into.len() < count {
        let x = table.draw(rng);
        if !into.contains(&x) {
            into.push(x);
        }
    }
}

fn date(day: u32) -> String {
    let d = NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date") + Days::new(day as u64);
    d.format("%Y%m%d").to_string()
}

fn quarter_of(day: u32) -> usize {
    let d = NaiveDate::from_ymd_opt(2023, 1, 1).expect("a date") + Days::new(day as u64);
    ((d.year() - 2023) * 4) as usize + d.month0() as usize / 3
}

const DAYS: u32 = 731;

pub fn write(seed: u64, reports: usize, dir: &Path) -> Result<Part, SynthError> {
    let mut rng = rng::stream(seed, "faers", 0);
    let popularity = Popularity::new();
    let planted = plant(&mut rng, &popularity, reports);
    let mut by_drug: Vec<Vec<&Planted>> = (0..DRUGS.len()).map(|_| Vec::new()).collect();
    for p in &planted {
        by_drug[p.drug].push(p);
    }
    let suspects = Table::new(SUSPECTS);
    let event_counts = Table::new(EVENT_COUNTS);
    let mut versions: Vec<Version> = Vec::with_capacity(reports * 11 / 10);
    let mut deleted = Vec::new();
    for i in 0..reports {
        let caseid = 10_000_000 + i as u64 * 7;
        let init_day = rng.random_range(0..DAYS);
        let mut v = Version {
            caseid,
            version: 1,
            fda_day: init_day,
            init_day,
            event_day: init_day.saturating_sub(rng.random_range(0..120)),
            suspects: Vec::new(),
            concomitant: Vec::new(),
            events: Vec::new(),
            age: (55.0 + 18.0 * crate::faers::normal(&mut rng)).clamp(1.0, 99.0) as u32,
            female: rng.random_bool(0.58),
            kind: crate::rng::weighted(&mut rng, &[0.6, 0.3, 0.1]),
            country: rng.random_range(0..COUNTRIES.len()),
            occupation: rng.random_range(0..OCCUPATIONS.len()),
            company: rng.random_range(0..COMPANIES.len()),
            latin1: rng.random_bool(0.005),
        };
        let n = suspects.draw(&mut rng) + 1;
        distinct(&mut rng, &popularity.drugs, n, &mut v.suspects);
        let concomitant = rng.random_range(0..4);
        let mut all = v.suspects.clone();
        distinct(
            &mut rng,
            &popularity.drugs,
            all.len() + concomitant,
            &mut all,
        );
        v.concomitant = all[v.suspects.len()..].to_vec();
        let n = event_counts.draw(&mut rng) + 1;
        distinct(&mut rng, &popularity.events, n, &mut v.events);
        for &d in &v.suspects {
            for p in &by_drug[d] {
                let q = popularity.event_share[p.event];
                let extra = ((p.ratio - 1.0) * q / (1.0 - q)).min(1.0);
                if !v.events.contains(&p.event) && rng.random_bool(extra) {
                    v.events.push(p.event);
                }
            }
        }
        // A follow-up version: a later date, sometimes one more event.
        let follow_up = rng.random_bool(0.08).then(|| {
            let day = init_day + rng.random_range(10..200);
            let mut events = v.events.clone();
            if rng.random_bool(0.3) {
                distinct(&mut rng, &popularity.events, events.len() + 1, &mut events);
            }
            (day, events)
        });
        if rng.random_bool(0.01) {
            deleted.push(caseid);
        }
        let next = follow_up
            .filter(|(day, _)| *day < DAYS)
            .map(|(day, events)| Version {
                version: 2,
                fda_day: day,
                events,
                suspects: v.suspects.clone(),
                concomitant: v.concomitant.clone(),
                ..v
            });
        versions.push(v);
        versions.extend(next);
    }

    let mut part = Part::default();
    let mut quarters: Vec<Vec<&Version>> = (0..QUARTERS).map(|_| Vec::new()).collect();
    for v in &versions {
        quarters[quarter_of(v.fda_day)].push(v);
    }
    let ascii = dir.join("ASCII");
    for (q, list) in quarters.iter().enumerate() {
        let code = format!("{}Q{}", 23 + q / 4, q % 4 + 1);
        let (demo, drug, reac) = quarter_files(list);
        for (prefix, bytes, rows) in [
            ("DEMO", demo.0, demo.1),
            ("DRUG", drug.0, drug.1),
            ("REAC", reac.0, reac.1),
        ] {
            let name = format!("{prefix}{code}.txt");
            let mut sink = Sink::create(ascii.join(&name))?;
            sink.write(&bytes)?;
            sink.finish()?;
            part.files.insert(format!("faers/ASCII/{name}"), rows);
        }
    }
    let mut text = String::new();
    for c in &deleted {
        text.push_str(&format!("{c}\n"));
    }
    let mut sink = Sink::create(dir.join("Deleted").join("DELETE24Q4.txt"))?;
    sink.write(text.as_bytes())?;
    sink.finish()?;
    part.files.insert(
        "faers/Deleted/DELETE24Q4.txt".to_string(),
        deleted.len() as u64,
    );

    for p in &planted {
        part.signals.push(
            Signal::new(
                "drug-event",
                format!(
                    "{} is reported with {} {} times as often as without it.",
                    DRUGS[p.drug], EVENTS[p.event], p.ratio
                ),
            )
            .id("drug", DRUGS[p.drug])
            .id("event", EVENTS[p.event])
            .parameter("reporting_ratio", p.ratio)
            .parameter(
                "expected_reports_without_signal",
                (p.expected * 10.0).round() / 10.0,
            )
            .parameter("role", "suspect (PS or SS)"),
        );
    }
    Ok(part)
}

fn normal(rng: &mut Rng) -> f64 {
    use rand_distr::Distribution;
    rand_distr::StandardNormal.sample(rng)
}

type File = (Vec<u8>, u64);

fn quarter_files(list: &[&Version]) -> (File, File, File) {
    let mut demo = b"primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod$reporter_country$occr_country\n".to_vec();
    let mut drug = b"primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq\n".to_vec();
    let mut reac = b"primaryid$caseid$pt$drug_rec_act\n".to_vec();
    let (mut drug_rows, mut reac_rows) = (0, 0);
    for v in list {
        let primaryid = format!("{}{}", v.caseid, v.version);
        let kind = ["EXP", "PER", "DIR"][v.kind];
        let sender: &[u8] = if v.kind == 2 {
            b"FDA-CTU"
        } else if v.latin1 {
            LATIN1_COMPANY
        } else {
            COMPANIES[v.company].as_bytes()
        };
        let mfr_num = if v.kind == 2 {
            String::new()
        } else {
            format!("US-{}-{}", &COMPANIES[v.company][..3], v.caseid)
        };
        let age_group = match v.age {
            0..=17 => "C",
            18..=64 => "A",
            _ => "E",
        };
        demo.extend_from_slice(
            format!(
                "{primaryid}${}${}${}${}${}${}${}${kind}$${mfr_num}$",
                v.caseid,
                v.version,
                if v.version == 1 { "I" } else { "F" },
                date(v.event_day),
                if v.kind == 2 {
                    String::new()
                } else {
                    date(v.fda_day)
                },
                date(v.init_day),
                date(v.fda_day),
            )
            .as_bytes(),
        );
        demo.extend_from_slice(sender);
        demo.extend_from_slice(
            format!(
                "$${}$YR${age_group}${}$Y$$${}${}${}${}${}\n",
                v.age,
                if v.female { "F" } else { "M" },
                date(v.fda_day),
                if v.kind == 2 { "" } else { "Y" },
                OCCUPATIONS[v.occupation],
                COUNTRIES[v.country],
                COUNTRIES[v.country],
            )
            .as_bytes(),
        );
        let drugs = v
            .suspects
            .iter()
            .enumerate()
            .map(|(i, d)| (if i == 0 { "PS" } else { "SS" }, *d))
            .chain(v.concomitant.iter().map(|d| ("C", *d)));
        for (seq, (role, d)) in drugs.enumerate() {
            let name = DRUGS[d];
            // Reporters write names in any case; the reader folds them.
            let written = if (v.caseid + seq as u64).is_multiple_of(10) {
                title_case(name)
            } else {
                name.to_string()
            };
            drug.extend_from_slice(
                format!(
                    "{primaryid}${}${}${role}${written}${name}$1$Oral$$$$U$U$$$$$$TABLET$\n",
                    v.caseid,
                    seq + 1
                )
                .as_bytes(),
            );
            drug_rows += 1;
        }
        for &e in &v.events {
            reac.extend_from_slice(format!("{primaryid}${}${}$\n", v.caseid, EVENTS[e]).as_bytes());
            reac_rows += 1;
        }
    }
    (
        (demo, list.len() as u64),
        (drug, drug_rows),
        (reac, reac_rows),
    )
}

fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for ch in name.chars() {
        if first {
            out.push(ch);
        } else {
            out.extend(ch.to_lowercase());
        }
        first = !ch.is_alphabetic();
    }
    out
}

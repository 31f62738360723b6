#!/usr/bin/env python3
"""Writes a large FHIR R4 bulk export (NDJSON, one file per type) in the shapes
docs/clinical/fhir-mapping.md describes, for the import benchmark when the synthetic health
system (`rounds demo`) is not at hand. Deterministic for a given --patients and --seed.

    python3 bench/import/generate.py --patients 100000 --out /tmp/fhir-bench

--claims adds a Claim and an ExplanationOfBenefit per encounter, Synthea's way (the EOB names
its Claim; the Claim names the encounter), without changing the other files.
"""
import argparse, json, os, random

CCN = "urn:oid:2.16.840.1.113883.4.336"
NPI = "http://hl7.org/fhir/sid/us-npi"
OT = "http://terminology.hl7.org/CodeSystem/organization-type"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
DRG = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
PT = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DX = ["I50.9", "J18.9", "N17.9", "A41.9", "E11.9", "I10", "K35.80", "S72.001A", "T81.4XXA", "Z51.11"]
PX = ["0DTJ4ZZ", "0SR9019", "02703ZZ", "0DJU4ZZ", "3E04305", "5A1955Z"]
DRGS = ["291", "292", "193", "871", "470", "343", "392", "690"]


def npi(seed):
    body = f"{seed:09d}"[-9:]
    digits = "80840" + body
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--claims", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    billing = random.Random(a.seed + 1)
    payers = ["Medicare", "Medicaid", "Blue Cross", "Aetna", "Cigna", "UnitedHealthcare"]
    os.makedirs(a.out, exist_ok=True)
    files = {t: open(os.path.join(a.out, f"{t}.ndjson"), "w") for t in
             ["Organization", "Location", "Practitioner", "Patient", "Encounter", "Condition", "Procedure"]
             + (["Claim", "ExplanationOfBenefit"] if a.claims else [])}

    def w(t, r):
        files[t].write(json.dumps(r, separators=(",", ":")) + "\n")

    facilities = 3
    for f in range(facilities):
        w("Organization", {"resourceType": "Organization", "id": f"fac-{f}", "identifier": [{"system": CCN, "value": f"05{f:04d}"}],
                           "type": [{"coding": [{"system": OT, "code": "prov"}]}], "name": f"Bench Hospital {f}"})
        for d in range(8):
            w("Organization", {"resourceType": "Organization", "id": f"dept-{f}-{d}", "type": [{"coding": [{"system": OT, "code": "dept"}]}],
                               "name": f"Department {d}", "partOf": {"reference": f"Organization/fac-{f}"}})
        for u in range(12):
            w("Location", {"resourceType": "Location", "id": f"unit-{f}-{u}", "name": f"Unit {u}",
                           "physicalType": {"coding": [{"code": "wa"}]}, "managingOrganization": {"reference": f"Organization/fac-{f}"}})
    practitioners = 400
    for p in range(practitioners):
        w("Practitioner", {"resourceType": "Practitioner", "id": f"pr-{p}", "identifier": [{"system": NPI, "value": npi(100000 + p)}],
                           "name": [{"family": f"Family{p}", "given": [f"Given{p}"]}]})
    c = x = 0
    e = 0
    for i in range(a.patients):
        pid = f"pt-{i}"
        w("Patient", {"resourceType": "Patient", "id": pid, "gender": rng.choice(["male", "female"]),
                      "birthDate": f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      "address": [{"postalCode": f"{rng.randint(10000, 99999)}"}],
                      "name": [{"family": "Redacted"}]})
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            e += 1
            eid = f"enc-{e}"
            f = rng.randrange(facilities)
            day = rng.randint(1, 700)
            los = rng.choice([0, 1, 2, 3, 4, 5, 7, 10])
            start = 1704067200 + day * 86400 + rng.randint(0, 86399)
            end = start + los * 86400 + rng.randint(3600, 20000)
            iso = lambda t: __import__("datetime").datetime.fromtimestamp(t, __import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            cls = rng.choice(["IMP", "IMP", "EMER", "EMER", "EMER", "OBSENC"])
            ndx = rng.randint(1, 4)
            cids = []
            for k in range(ndx):
                c += 1
                cids.append(f"cond-{c}")
            enc = {"resourceType": "Encounter", "id": eid, "status": "finished",
                   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
                   "subject": {"reference": f"Patient/{pid}"}, "period": {"start": iso(start), "end": iso(end)},
                   "participant": [{"type": [{"coding": [{"system": PT, "code": "ATND"}]}],
                                    "individual": {"reference": f"Practitioner/pr-{rng.randrange(practitioners)}"}}],
                   "location": [{"location": {"reference": f"Location/unit-{f}-{rng.randrange(12)}"}}],
                   "serviceProvider": {"reference": f"Organization/dept-{f}-{rng.randrange(8)}"},
                   "hospitalization": {"dischargeDisposition": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                                                                             "code": rng.choice(["home", "home", "home", "snf", "exp", "other-hcf"])}]}},
                   "diagnosis": [{"condition": {"reference": f"Condition/{cid}"}, "rank": k + 1} for k, cid in enumerate(cids)]}
            if cls == "IMP":
                enc["type"] = [{"coding": [{"system": DRG, "code": rng.choice(DRGS)}]}]
            w("Encounter", enc)
            if a.claims:
                payer = billing.choice(payers)
                charges = billing.randint(500, 90000)
                w("Claim", {"resourceType": "Claim", "id": f"cl-{eid}", "status": "active", "use": "claim",
                            "patient": {"reference": f"Patient/{pid}"},
                            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": payer}}],
                            "item": [{"sequence": 1, "encounter": [{"reference": f"Encounter/{eid}"}]}],
                            "total": {"value": charges, "currency": "USD"}})
                eob = {"resourceType": "ExplanationOfBenefit", "id": f"eob-{eid}", "status": "active",
                       "claim": {"reference": f"Claim/cl-{eid}"}, "insurer": {"display": payer},
                       "payment": {"amount": {"value": round(charges * billing.uniform(0.3, 0.9), 2), "currency": "USD"}},
                       "total": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": charges, "currency": "USD"}}]}
                if cls == "IMP":
                    eob["supportingInfo"] = [{"sequence": 1, "category": {"coding": [{"system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType", "code": "drg"}]},
                                              "code": {"coding": [{"system": DRG, "code": billing.choice(DRGS)}]}}]
                w("ExplanationOfBenefit", eob)
            for k, cid in enumerate(cids):
                w("Condition", {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{pid}"},
                                "encounter": {"reference": f"Encounter/{eid}"}, "code": {"coding": [{"system": ICD, "code": rng.choice(DX)}]},
                                "extension": [{"url": "http://rounds.example/fhir/StructureDefinition/present-on-admission",
                                               "valueCode": "Y" if k == 0 else rng.choice(["Y", "N"])}]})
            for _ in range(rng.choice([0, 0, 1, 2])):
                x += 1
                w("Procedure", {"resourceType": "Procedure", "id": f"proc-{x}", "status": "completed", "subject": {"reference": f"Patient/{pid}"},
                                "encounter": {"reference": f"Encounter/{eid}"}, "code": {"coding": [{"system": PCS, "code": rng.choice(PX)}]},
                                "performedDateTime": iso(start + 7200),
                                "performer": [{"actor": {"reference": f"Practitioner/pr-{rng.randrange(practitioners)}"}}]})
    for fh in files.values():
        fh.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Build the 12-record corpus of the fresh question set (stdlib only).

usage: python3 make_corpus.py OUT_DIR [--shared PATH]

--shared is the shared data folder; default ../shared/data relative to the project root
(the folder three levels above this file, i.e. /work/main -> /work/shared/data).
Legacy XML records are copied byte for byte out of ctgov/ctgov_legacy_xml_6786.tgz
(same as: tar -xzf TGZ --wildcards "*NCTxxxx.xml" -O > OUT/NCTxxxx.xml); API v2 records are
taken from ctgov/api_v2_nsclc_100.json and written one study object per file as OUT/NCTxxxx.json.
The ids are read from records.txt next to this script.
"""
import argparse, json, os, sys, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    a = ap.parse_args()
    ids = open(os.path.join(HERE, "records.txt")).read().split()
    os.makedirs(a.out_dir, exist_ok=True)
    tgz = os.path.join(a.shared, "ctgov", "ctgov_legacy_xml_6786.tgz")
    api = os.path.join(a.shared, "ctgov", "api_v2_nsclc_100.json")

    wanted = set(ids)
    done = set()
    with tarfile.open(tgz, "r:gz") as tf:
        for m in tf:
            name = os.path.basename(m.name)
            if m.isfile() and name.endswith(".xml") and name[:-4] in wanted:
                with open(os.path.join(a.out_dir, name), "wb") as f:
                    f.write(tf.extractfile(m).read())
                done.add(name[:-4])
    for study in json.load(open(api, encoding="utf-8")):
        nct = study["protocolSection"]["identificationModule"]["nctId"]
        if nct in wanted and nct not in done:
            with open(os.path.join(a.out_dir, nct + ".json"), "w", encoding="utf-8") as f:
                json.dump(study, f, indent=2, ensure_ascii=False)
            done.add(nct)
    missing = wanted - done
    if missing:
        sys.exit("not found: " + " ".join(sorted(missing)))
    print(f"wrote {len(done)} records to {a.out_dir}")


if __name__ == "__main__":
    main()

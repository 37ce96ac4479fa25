"""QTI 3.0 export and import of choice items (1EdTech Question & Test Interoperability 3.0).

Each choice item becomes one ``qti-assessment-item`` document with a ``qti-response-declaration``
(``RESPONSE``: cardinality ``single`` or ``multiple``, base-type ``identifier``, the key as
``qti-correct-response``), a ``SCORE`` outcome, a ``qti-item-body`` with the stem and a
``qti-choice-interaction`` (one ``qti-simple-choice`` per option, identifiers A, B, …), and the
standard ``match_correct`` response-processing template. A content package (folder or ``.zip``)
holds the items and an ``imsmanifest.xml``; the junheng fields QTI has no place for (subject,
content domain, cognitive level, status, maximum score) travel in the manifest's resource
metadata under the ``urn:junheng:itembank`` namespace, so a round trip loses nothing.

Constructed-response items are not exported (QTI has no rubric scoring we could use); the
caller is told which were skipped.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from junheng.assessment.items import Item, ItemBank, validate_item
from junheng.exceptions import InputError, Issue, Issues
from junheng.io import check_package

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
JH_NS = "urn:junheng:itembank"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SCHEMA_LOCATION = (f"{QTI_NS} https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd")
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"

ET.register_namespace("", QTI_NS)
ET.register_namespace("xsi", XSI_NS)
ET.register_namespace("jh", JH_NS)


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


def item_to_qti(item: Item) -> bytes:
    """One choice item as a QTI 3.0 ``qti-assessment-item`` document (UTF-8 bytes)."""
    if item.format not in ("single_choice", "multiple_choice"):
        raise ValueError(f"only choice items have a QTI form; {item.item_id} is {item.format}")
    root = ET.Element(_q("qti-assessment-item"), {
        "identifier": item.item_id, "title": item.item_id, "adaptive": "false", "time-dependent": "false",
        f"{{{XML_NS}}}lang": "zh-CN", f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION,
    })
    multiple = item.format == "multiple_choice"
    rd = ET.SubElement(root, _q("qti-response-declaration"), {
        "identifier": "RESPONSE", "cardinality": "multiple" if multiple else "single", "base-type": "identifier"})
    cr = ET.SubElement(rd, _q("qti-correct-response"))
    for letter in item.key or "":
        ET.SubElement(cr, _q("qti-value")).text = letter
    od = ET.SubElement(root, _q("qti-outcome-declaration"), {
        "identifier": "SCORE", "cardinality": "single", "base-type": "float"})
    dv = ET.SubElement(od, _q("qti-default-value"))
    ET.SubElement(dv, _q("qti-value")).text = "0"
    body = ET.SubElement(root, _q("qti-item-body"))
    if item.stem:
        ET.SubElement(body, _q("p")).text = item.stem
    for m in item.media:
        ET.SubElement(ET.SubElement(body, _q("p")), _q("img"), {"src": m, "alt": ""})
    ci = ET.SubElement(body, _q("qti-choice-interaction"), {
        "response-identifier": "RESPONSE", "shuffle": "false", "max-choices": "0" if multiple else "1"})
    for letter, text in zip(item.option_letters, item.options):
        ET.SubElement(ci, _q("qti-simple-choice"), {"identifier": letter}).text = text
    ET.SubElement(root, _q("qti-response-processing"), {"template": MATCH_CORRECT})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _meta(item: Item) -> dict[str, str]:
    return {"subject": item.subject, "max_score": str(item.max_score), "content_domain": item.content_domain,
            "cognitive_level": item.cognitive_level, "status": item.status}


def _manifest(entries: list[tuple[Item, str]]) -> bytes:
    ET.register_namespace("", CP_NS)
    try:
        root = ET.Element(f"{{{CP_NS}}}manifest", {"identifier": "junheng-itembank"})
        ET.SubElement(root, f"{{{CP_NS}}}organizations")
        res = ET.SubElement(root, f"{{{CP_NS}}}resources")
        for item, href in entries:
            r = ET.SubElement(res, f"{{{CP_NS}}}resource", {
                "identifier": item.item_id, "type": "imsqti_item_xmlv3p0", "href": href})
            md = ET.SubElement(r, f"{{{CP_NS}}}metadata")
            ET.SubElement(md, f"{{{JH_NS}}}item", _meta(item))
            ET.SubElement(r, f"{{{CP_NS}}}file", {"href": href})
        ET.indent(root)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    finally:
        ET.register_namespace("", QTI_NS)


def write_qti(bank: ItemBank, path: str | Path) -> tuple[Path, list[str]]:
    """Write the choice items as a QTI 3.0 package: a folder, or a ``.zip`` if ``path`` ends so.

    Returns the path and the ids of the items skipped (constructed response).
    """
    path = Path(path)
    files: dict[str, bytes] = {}
    entries: list[tuple[Item, str]] = []
    skipped: list[str] = []
    for item in bank:
        if item.format == "constructed":
            skipped.append(item.item_id)
            continue
        href = f"items/{item.item_id}.xml"
        files[href] = item_to_qti(item)
        entries.append((item, href))
    files["imsmanifest.xml"] = _manifest(entries)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)
    else:
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return path, skipped


def _parse_xml(xml: bytes, file: str | None) -> tuple[ET.Element | None, list[Issue]]:
    """The root element, or the issue: malformed, or holding entity/DTD declarations (XXE, the
    "billion laughs" — refused by defusedxml before anything is expanded)."""
    try:
        return SafeET.fromstring(xml), []
    except ET.ParseError as exc:
        return None, [Issue(rule_zh="XML 格式错误", rule_en="malformed XML", file=file, value=str(exc))]
    except DefusedXmlException:
        return None, [Issue(rule_zh="XML 含实体或文档类型声明，拒绝读取", rule_en="XML with entity or DTD declarations; refused",
                            file=file)]


def qti_to_dict(xml: bytes, file: str | None = None) -> tuple[dict | None, list[Issue]]:
    """Parse one ``qti-assessment-item`` into the JSON item form (without junheng metadata)."""
    root, found = _parse_xml(xml, file)
    if root is None:
        return None, found
    if root.tag != _q("qti-assessment-item"):
        return None, [Issue(rule_zh="根元素应为 qti-assessment-item", rule_en="root must be qti-assessment-item",
                            file=file, value=root.tag)]
    rd = root.find(_q("qti-response-declaration"))
    ci = root.find(f".//{_q('qti-choice-interaction')}")
    if rd is None or ci is None:
        return None, [Issue(rule_zh="只支持含 qti-choice-interaction 的选择题",
                            rule_en="only choice items (qti-choice-interaction) are supported", file=file)]
    choices = ci.findall(_q("qti-simple-choice"))
    ids = [c.get("identifier", "") for c in choices]
    letters = "ABCDEFGH"[: len(ids)]
    # identifiers other than A, B, … are relettered in document order
    relabel = dict(zip(ids, letters))
    key = "".join(relabel.get(v.text or "", "?") for v in rd.iterfind(f"{_q('qti-correct-response')}/{_q('qti-value')}"))
    body = root.find(_q("qti-item-body"))
    stem_parts = [(p.text or "").strip() for p in body.findall(_q("p"))] if body is not None else []
    media = [img.get("src", "") for img in body.iter(_q("img"))] if body is not None else []
    d = {
        "item_id": root.get("identifier", ""),
        "format": "multiple_choice" if rd.get("cardinality") == "multiple" else "single_choice",
        "key": "".join(sorted(key)) if rd.get("cardinality") == "multiple" else key,
        "options": ["".join(c.itertext()).strip() for c in choices],
        "stem": "\n".join(s for s in stem_parts if s),
        "media": media,
    }
    return d, []


def read_qti(path: str | Path) -> ItemBank:
    """Read a QTI 3.0 package (folder or ``.zip``) written by ``write_qti`` or another tool."""
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*.xml")]
        read = lambda n: (path / n).read_bytes()  # noqa: E731
    elif zipfile.is_zipfile(path):
        check_package(path)  # sizes, zip bomb, entity declarations: refused before any part is read
        z = zipfile.ZipFile(path)
        names = [n for n in z.namelist() if n.endswith(".xml")]
        read = z.read
    else:
        raise InputError(Issue(rule_zh="应为 QTI 包（文件夹或 zip）", rule_en="expected a QTI package (folder or zip)",
                               file=path.name))
    if "[Content_Types].xml" in names:  # an Office file (.xlsx, .docx) is a zip too
        raise InputError(Issue(rule_zh="是 Office 文件（如 Excel 工作簿），不是 QTI 包或 JSON 题库",
                               rule_en="an Office file (e.g. an Excel workbook), not a QTI package or a JSON bank",
                               file=path.name))
    if not [n for n in names if n != "imsmanifest.xml"]:
        raise InputError(Issue(rule_zh="QTI 包中没有题目文件（*.xml）", rule_en="no item files (*.xml) in the QTI package",
                               file=path.name))
    meta: dict[str, dict[str, str]] = {}
    if "imsmanifest.xml" in names:
        man, found = _parse_xml(read("imsmanifest.xml"), "imsmanifest.xml")
        if man is None:
            raise InputError(found)
        for r in man.iter(f"{{{CP_NS}}}resource"):
            m = r.find(f".//{{{JH_NS}}}item")
            if m is not None:
                meta[r.get("href", "")] = dict(m.attrib)
    issues = Issues()
    items: list[Item] = []
    for n in sorted(x for x in names if x != "imsmanifest.xml"):
        d, found = qti_to_dict(read(n), n)
        issues.extend(found)
        if d is None:
            continue
        m = meta.get(n, {})
        d["subject"] = m.get("subject", "")
        d["max_score"] = int(m.get("max_score", "1") or 1)
        for k in ("content_domain", "cognitive_level", "status"):
            if m.get(k):
                d[k] = m[k]
        d = {k: v for k, v in d.items() if v not in ("", [])}
        item, found = validate_item(d, d.get("item_id", n), n)
        issues.extend(found)
        if item is not None:
            items.append(item)
    issues.raise_if_errors()
    return ItemBank(tuple(items))

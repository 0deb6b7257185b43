"""The documents the rules cite: a registry keyed by short id, with citable titles.

A rule names its document by id (``source: guizhou-2019``); :func:`resolve_source` turns the
id into the citation a planner can look up, e.g.
``中共贵州省委 贵州省人民政府《关于加强和完善易地扶贫搬迁后续工作的意见》(2019年)`` and its
English form.  Free text that is not a registered id (a user's own rule file) is kept as
written.  The registry is ``registry/documents.yaml`` beside this module (package data, read once);
``docs/sources.md`` lists the same documents with their dates and where their texts are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from anzhi.core.errors import InputError, Problem

__all__ = ["DOCUMENT_KINDS", "Document", "documents", "document", "resolve_source"]

#: What a registered document is: an official ``policy`` text, a ``standard``, a figure
#: ``restatement`` of a text Anzhi does not hold, or Anzhi's own planning ``default``.
DOCUMENT_KINDS: tuple[str, ...] = ("policy", "standard", "restatement", "default")

_FILE = "registry/documents.yaml"
_KEYS = {"issuer_zh", "issuer_en", "title_zh", "title_en", "doc_no", "date", "year", "kind"}
_REQUIRED = ("issuer_zh", "issuer_en", "title_zh", "title_en", "kind")


@dataclass(frozen=True)
class Document:
    """One cited document.

    Attributes
    ----------
    id
        Short id the rules use (``guizhou-2019``).
    issuer_zh, issuer_en
        Who issued it.
    title_zh, title_en
        Its title, without 《》.
    doc_no
        文号 or standard number; ``None`` when the document has none.
    date
        Date of issue (``YYYY-MM-DD``) when the text states it, else ``None``.
    year
        The year it is cited by; ``None`` when there is none to cite.
    kind
        One of :data:`DOCUMENT_KINDS`.
    """

    id: str
    issuer_zh: str
    issuer_en: str
    title_zh: str
    title_en: str
    doc_no: str | None
    date: str | None
    year: int | None
    kind: str

    def cite(self, lang: str = "zh") -> str:
        """The citable title: issuer, title, 文号 and year.

        ``中共贵州省委 贵州省人民政府《关于…的意见》(2019年)``;
        ``达州市人民政府办公室《关于…的通知》(达市府办函〔2019〕30号,2019年)``; in English
        ``Dazhou …: Notice on … (达市府办函〔2019〕30号, 2019)``.  Only a ``policy`` or
        ``standard`` title is put in 《》 (a title quoted inside it in 〈〉); a restated target
        or Anzhi's default is not a document title.
        """
        titled = self.kind in ("policy", "standard")
        if lang == "zh":
            extra = [p for p in (self.doc_no, f"{self.year}年" if self.year else None) if p]
            tail = f"({','.join(extra)})" if extra else ""
            # a title quoted inside the title takes 〈〉 (GB/T 15834)
            inner = self.title_zh.replace("《", "〈").replace("》", "〉")
            title = f"《{inner}》" if titled else f" {self.title_zh}"
            return f"{self.issuer_zh}{title}{tail}"
        extra = [p for p in (self.doc_no, str(self.year) if self.year else None) if p]
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"{self.issuer_en}: {self.title_en}{tail}"


def _parse_registry(data: Any) -> dict[str, Document]:
    """The registry's documents by id; every problem of the file raised at once."""
    where = f"analysis/rules/{_FILE}"
    entries = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise InputError(Problem("has no 'documents' mapping", file=where,
                                 fix="list the documents under 'documents:' by id"))
    problems: list[Problem] = []
    out: dict[str, Document] = {}
    for doc_id, raw in entries.items():
        if not isinstance(raw, dict):
            problems.append(Problem(f"document {doc_id!r} is not a mapping", file=where))
            continue
        unknown = sorted(set(raw) - _KEYS)
        missing = [k for k in _REQUIRED if not str(raw.get(k) or "").strip()]
        if unknown or missing or raw.get("kind") not in DOCUMENT_KINDS:
            problems.append(Problem(
                f"document {doc_id!r}: unknown keys {unknown}, missing {missing} or kind "
                f"{raw.get('kind')!r} not in {DOCUMENT_KINDS}", file=where, column=str(doc_id),
                fix=f"give {', '.join(_REQUIRED)}; allowed keys: {', '.join(sorted(_KEYS))}"))
            continue

        def opt(key: str, raw: dict[str, Any] = raw) -> str | None:
            v = raw.get(key)
            return None if v is None or str(v).strip() == "" else " ".join(str(v).split())

        year = raw.get("year")
        out[str(doc_id)] = Document(
            id=str(doc_id), issuer_zh=str(raw["issuer_zh"]).strip(),
            issuer_en=str(raw["issuer_en"]).strip(), title_zh=str(raw["title_zh"]).strip(),
            title_en=" ".join(str(raw["title_en"]).split()), doc_no=opt("doc_no"),
            date=opt("date"), year=int(year) if year is not None else None, kind=raw["kind"])
    if problems:
        raise InputError(problems)
    return out


@lru_cache(maxsize=1)
def documents() -> dict[str, Document]:
    """Every registered document by id, in file order (read once from package data)."""
    text = resources.files("analysis.rules").joinpath(_FILE).read_text(encoding="utf-8")
    return _parse_registry(yaml.safe_load(text))


def document(doc_id: str) -> Document:
    """The registered document ``doc_id``; an unknown id raises :class:`InputError`."""
    docs = documents()
    if doc_id not in docs:
        raise InputError(Problem(f"no registered document {doc_id!r}", value=doc_id,
                                 fix=f"use one of: {', '.join(docs)} (docs/sources.md)"))
    return docs[doc_id]


def resolve_source(text: str) -> tuple[str, str, str | None]:
    """A rule's ``source`` as ``(Chinese citation, English citation, document id)``.

    A registered document id gives its citations (:meth:`Document.cite`) and the id; any
    other text (a user's own rule file citing a local document) is kept as written, in both
    languages, with no id.
    """
    doc = documents().get(text.strip())
    if doc is None:
        return text, text, None
    return doc.cite("zh"), doc.cite("en"), doc.id

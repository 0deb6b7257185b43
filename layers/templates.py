"""Blank input templates a county office fills in: the site table and the facility table.

:func:`template_bytes` builds ``安置点模板.xlsx`` (relocation sites) and ``设施模板.xlsx``
(facilities) from the readers' own column definitions (:data:`layers.sites.SITE_FIELDS`,
:data:`layers.points.COORD_FIELDS`, :data:`layers.facilities.FACILITY_FIELDS`) and the
facility vocabulary, so a template always reads back with :func:`layers.sites.read_sites` /
:func:`layers.facilities.read_facilities`.  Each workbook holds the table (the preferred
header of every column and one example row) and a ``填表说明`` sheet: per column, whether
it is required, its unit, the other accepted headers and an explanation in Chinese and
English.  The repository keeps copies in ``templates/`` (README links them; the app offers
them in its upload panel); ``python -m layers.templates templates`` rewrites them.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from openpyxl import Workbook

from anzhi.core.files import atomic_write
from anzhi.core.vocabulary import FACILITY_TYPES
from layers.facilities import FACILITY_FIELDS
from layers.points import COORD_FIELDS
from layers.sheets import write_table
from layers.sites import SITE_FIELDS
from layers.tables import Field

__all__ = ["TEMPLATE_NAMES", "TemplateKind", "template_bytes", "write_templates"]

TemplateKind = Literal["sites", "facilities"]

#: File name of each template.
TEMPLATE_NAMES: Final[dict[TemplateKind, str]] = {
    "sites": "安置点模板.xlsx",
    "facilities": "设施模板.xlsx",
}


@dataclass(frozen=True)
class _Column:
    key: str        # the reader's field key (or ``has_<type>`` for a yes/no column)
    header: str     # the preferred header written in the template
    example: object
    required: str   # 必填 / 选填 and when
    unit: str
    zh: str
    en: str


_SITE_COLUMNS: Final[tuple[_Column, ...]] = (
    _Column("site_id", "编号", "S001", "必填", "", "安置点编号,表内唯一", "site id, unique in the table"),
    _Column("site_name", "安置点名称", "示例安置点", "选填", "", "安置点名称", "site name"),
    _Column("county", "县(市、区)", "示例县", "选填(覆盖率按县汇总)", "", "所属县(市、区)",
            "county (coverage is grouped by it)"),
    _Column("township", "乡镇", "示例镇", "选填(覆盖率按乡镇汇总)", "", "所属乡镇(街道)",
            "township (coverage is grouped by it)"),
    _Column("village", "村(社区)", "示例社区", "选填", "", "所属村(社区)", "village or community"),
    _Column("households", "户数", 120, "选填", "户", "搬迁户数(整数)", "households moved in (integer)"),
    _Column("population", "人数", 512, "必填", "人", "安置人口(整数),规模门槛按此判断",
            "people resettled (integer); the scale thresholds use it"),
    _Column("kind", "安置方式", "城镇", "选填", "", "城镇 或 农村", "城镇 (urban) or 农村 (rural)"),
    _Column("children_3_5", "3-5岁儿童数", 31, "选填(幼儿园学位)", "人",
            "3-5岁儿童人数,用于幼儿园学位测算", "children aged 3-5, for kindergarten places"),
    _Column("lon", "经度", 106.712345, "必填(或东坐标/北坐标)", "度",
            "十进制度;坐标系见下一列", "decimal degrees; system in the next column"),
    _Column("lat", "纬度", 26.578901, "必填(或东坐标/北坐标)", "度", "十进制度", "decimal degrees"),
    _Column("coord_system", "坐标系", "gcj02", "选填(缺省按 --coords)", "",
            "wgs84 / cgcs2000 / gcj02(高德、腾讯)/ bd09(百度)",
            "wgs84 / cgcs2000 / gcj02 (Amap, Tencent) / bd09 (Baidu)"),
    _Column("has_clinic", "卫生室", "是", "选填", "是/否",
            "已有该设施填 是;任一设施类型名称均可作列名(见下表)",
            "是 (yes) when the site has one; any facility type name may head such a column"),
)

_FACILITY_COLUMNS: Final[tuple[_Column, ...]] = (
    _Column("facility_id", "编号", "F001", "选填(缺省自动编号)", "", "设施编号", "facility id"),
    _Column("name", "名称", "示例社区卫生室", "选填", "", "设施名称", "facility name"),
    _Column("facility_type", "类型", "卫生室", "必填", "", "设施类型,见下表的类型名称",
            "facility type: one of the names listed below"),
    _Column("capacity", "容量", None, "选填", "学位/床位", "幼儿园学位数、养老床位数等;不填表示未知",
            "places (kindergarten places, care beds); empty when unknown"),
    _Column("lon", "经度", 106.713456, "必填(或东坐标/北坐标)", "度", "十进制度", "decimal degrees"),
    _Column("lat", "纬度", 26.579012, "必填(或东坐标/北坐标)", "度", "十进制度", "decimal degrees"),
    _Column("coord_system", "坐标系", "gcj02", "选填(缺省按 --facility-coords / --coords)", "",
            "wgs84 / cgcs2000 / gcj02 / bd09", "wgs84 / cgcs2000 / gcj02 / bd09"),
)


def _aliases(fields: Sequence[Field], key: str, preferred: str) -> str:
    for f in fields:
        if f.key == key:
            return "、".join(a for a in f.aliases if a != preferred)
    if key.startswith("has_"):
        ft = FACILITY_TYPES[key[4:]]
        return "、".join([f"是否有{ft.zh}", f"{ft.zh}(有/无)", ft.en, key])
    return ""


def _workbook(kind: TemplateKind) -> Workbook:
    cols = _SITE_COLUMNS if kind == "sites" else _FACILITY_COLUMNS
    fields = (SITE_FIELDS if kind == "sites" else FACILITY_FIELDS) + COORD_FIELDS
    wb = Workbook(write_only=True)
    used: set[str] = set()
    title = "安置点" if kind == "sites" else "设施"
    write_table(wb, title, used, [c.header for c in cols], [[c.example] for c in cols])
    notes = [
        [c.header, c.required, c.unit, _aliases(fields, c.key, c.header), c.zh, c.en]
        for c in cols
    ]
    write_table(wb, "填表说明", used, ["列名", "是否必填", "单位", "也可用的列名", "说明", "Notes"],
                [list(col) for col in zip(*notes)], max_width=70)
    types = list(FACILITY_TYPES.values())
    write_table(wb, "设施类型", used, ["类型名称", "Facility type", "也可写作", "key"],
                [[t.zh for t in types], [t.en for t in types],
                 ["、".join(t.aliases) for t in types], [t.key for t in types]], max_width=80)
    return wb


def template_bytes(kind: TemplateKind) -> bytes:
    """The template workbook of ``kind`` as xlsx bytes (for a download button).

    Parameters
    ----------
    kind
        ``"sites"`` (安置点模板) or ``"facilities"`` (设施模板).
    """
    if kind not in TEMPLATE_NAMES:
        raise ValueError(f"unknown template {kind!r}: use one of {', '.join(TEMPLATE_NAMES)}")
    buf = io.BytesIO()
    _workbook(kind).save(buf)
    return buf.getvalue()


def write_templates(folder: Path) -> list[Path]:
    """Write both templates into ``folder`` (atomically, each file whole or not at all).

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for kind, name in TEMPLATE_NAMES.items():
        data = template_bytes(kind)

        def _write(tmp: Path, data: bytes = data) -> None:
            tmp.write_bytes(data)

        atomic_write(folder / name, _write)
        out.append(folder / name)
    return out


if __name__ == "__main__":
    for path in write_templates(Path(sys.argv[1] if len(sys.argv) > 1 else "templates")):
        print(path)

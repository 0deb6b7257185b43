"""The one documented vocabulary of facility types, with Chinese and English labels.

Every facility layer is normalised to these keys (``facility_type``).  Input files may use
the key itself, the Chinese or English label, or any alias below; matching ignores case,
spaces, hyphens and underscores.  OSM tags map through :data:`OSM_TAGS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "FacilityType",
    "FACILITY_TYPES",
    "OSM_TAGS",
    "facility_type_keys",
    "normalise_facility_type",
    "label",
]


@dataclass(frozen=True)
class FacilityType:
    """One kind of public facility.

    Attributes
    ----------
    key
        Stable English identifier used in files and rule sets.
    zh, en
        Labels for tables and the map.
    aliases
        Other names seen in county tables (Chinese and English).
    """

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


FACILITY_TYPES: dict[str, FacilityType] = {
    ft.key: ft
    for ft in [
        FacilityType("clinic", "卫生室", "Clinic",
                     ("村卫生室", "社区卫生服务站", "卫生服务站", "社区卫生服务机构", "卫生服务机构",
                      "诊所", "医务室", "village clinic", "health station", "doctors")),
        FacilityType("township_health_centre", "乡镇卫生院", "Township health centre",
                     ("卫生院", "社区卫生服务中心", "卫生服务中心", "医院", "hospital",
                      "health centre", "community health centre")),
        FacilityType("kindergarten", "幼儿园", "Kindergarten",
                     ("普惠性幼儿园", "幼儿班", "托幼", "preschool")),
        FacilityType("childcare", "托育机构", "Childcare (under 3)",
                     ("托育", "托儿所", "婴幼儿照护服务机构", "托育服务机构", "nursery",
                      "childcare centre")),
        FacilityType("primary_school", "小学", "Primary school", ("完小", "教学点", "primary")),
        FacilityType("middle_school", "中学", "Middle school",
                     ("初中", "初级中学", "九年一贯制学校", "junior middle school", "secondary school")),
        FacilityType("police_room", "警务室", "Police room", ("社区警务室", "警务站", "police post")),
        FacilityType("police_station", "派出所", "Police station",
                     ("公安派出所", "枫桥式公安派出所", "police")),
        FacilityType("elderly_care", "养老服务设施", "Elderly care",
                     ("养老服务中心", "居家养老服务中心", "居家养老服务设施", "农村互助养老服务站",
                      "互助养老服务站", "村级养老服务中心", "农村幸福院", "幸福院", "老年服务中心",
                      "日间照料中心", "养老院", "敬老院", "老年活动中心", "elderly service centre",
                      "nursing home")),
        FacilityType("children_centre", "儿童之家", "Children's centre",
                     ("儿童活动中心", "儿童服务中心", "children's home", "children centre")),
        FacilityType("community_service", "社区综合服务站", "Community service centre",
                     ("社区综合服务中心", "社区服务中心", "综合服务站", "社区综合服务设施",
                      "综合服务设施", "为民服务站", "社区为民服务站", "便民服务中心", "便民服务站",
                      "党群服务中心", "community centre")),
        FacilityType("employment_station", "就业服务站", "Employment service station",
                     ("就业创业服务站", "就业创业服务中心", "就业服务中心", "就业服务点",
                      "就业服务站点", "公共就业服务站点", "employment centre")),
        FacilityType("residents_committee", "社区居委会", "Residents' committee",
                     ("居委会", "居民委员会", "社区居民委员会", "residents committee")),
        FacilityType("village_committee", "村民委员会", "Villagers' committee",
                     ("村委会", "村(居)委会", "villagers committee", "village committee")),
        FacilityType("sub_district_office", "街道办事处", "Sub-district office",
                     ("街道办", "sub-district", "subdistrict office")),
        FacilityType("civilisation_practice", "新时代文明实践中心", "Civilisation practice centre",
                     ("新时代文明实践站", "新时代文明实践所", "文明实践站", "文明实践中心", "乡愁馆",
                      "道德讲堂")),
        FacilityType("culture_sports", "文体活动中心", "Culture and sports centre",
                     ("文化活动室", "文体活动室", "文体活动场所", "综合性文体场所", "文化广场",
                      "农家书屋", "culture centre")),
        FacilityType("affordable_shop", "平价购物中心", "Affordable shop",
                     ("平价商店", "平价超市", "便民超市", "惠民商店")),
        FacilityType("cemetery", "公益性公墓(骨灰堂)", "Public cemetery (columbarium)",
                     ("公益性公墓", "农村公益性公墓", "公墓", "骨灰堂", "殡葬服务设施", "cemetery",
                      "columbarium")),
        FacilityType("assistance_workshop", "帮扶车间", "Assistance workshop",
                     ("就业帮扶车间", "扶贫车间", "就业扶贫车间", "就业扶贫基地", "帮扶工厂",
                      "poverty-alleviation workshop")),
        FacilityType("odd_job_market", "零工市场", "Odd-job market",
                     ("劳务市场", "gig market", "day labour market")),
        FacilityType("training_base", "实训基地", "Training and start-up base",
                     ("创业实训基地", "创业孵化基地", "training base", "incubation base")),
        FacilityType("micro_fire_station", "微型消防站", "Micro fire station",
                     ("社区微型消防站", "micro fire station")),
        FacilityType("bus_stop", "公交/城乡客运站点", "Bus or rural coach stop",
                     ("公交", "公交站", "公交站点", "城乡客运", "城乡客运站", "客运站", "招呼站",
                      "bus stop", "bus station")),
    ]
}

#: OSM ``amenity`` / ``healthcare`` / ``office`` values mapped to facility types.
OSM_TAGS: dict[tuple[str, str], str] = {
    ("amenity", "clinic"): "clinic",
    ("amenity", "doctors"): "clinic",
    ("healthcare", "clinic"): "clinic",
    ("healthcare", "doctor"): "clinic",
    ("amenity", "hospital"): "township_health_centre",
    ("healthcare", "hospital"): "township_health_centre",
    ("amenity", "kindergarten"): "kindergarten",
    ("amenity", "childcare"): "childcare",
    ("amenity", "school"): "primary_school",
    ("amenity", "police"): "police_station",
    ("amenity", "social_facility"): "elderly_care",
    ("amenity", "community_centre"): "community_service",
    ("office", "employment_agency"): "employment_station",
    ("amenity", "townhall"): "residents_committee",
    ("amenity", "bus_station"): "bus_stop",
    ("highway", "bus_stop"): "bus_stop",
    ("amenity", "grave_yard"): "cemetery",
}


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-'’]+", "", str(text)).casefold()


_LOOKUP: dict[str, str] = {}
for _ft in FACILITY_TYPES.values():
    for _name in (_ft.key, _ft.zh, _ft.en, *_ft.aliases):
        _LOOKUP.setdefault(_fold(_name), _ft.key)


def facility_type_keys() -> list[str]:
    """All facility type keys, in vocabulary order."""
    return list(FACILITY_TYPES)


def normalise_facility_type(name: object) -> str | None:
    """Map a key, label or alias to its facility type key, or ``None`` if unknown.

    Examples
    --------
    >>> normalise_facility_type("卫生室"), normalise_facility_type("Police Room")
    ('clinic', 'police_room')
    """
    if name is None:
        return None
    return _LOOKUP.get(_fold(str(name)))


def label(key: str, lang: str = "zh") -> str:
    """Chinese (``lang="zh"``) or English (``"en"``) label of a facility type key."""
    ft = FACILITY_TYPES.get(key)
    if ft is None:
        return key
    return ft.zh if lang == "zh" else ft.en

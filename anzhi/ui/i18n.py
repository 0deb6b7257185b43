"""Chinese and English labels for the app and the map (Chinese first).

Every piece of text the Streamlit app or the folium map shows goes through :func:`t`,
:func:`status_label` or :func:`column_labels`, so that switching 中文/English changes all of
it at once.  Facility type names come from :mod:`anzhi.core.vocabulary`.  The tables here are
read-only (:class:`types.MappingProxyType`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "LANGS",
    "STATUSES",
    "t",
    "status_label",
    "column_labels",
    "GAP_TABLE_COLUMNS",
    "COVERAGE_TABLE_COLUMNS",
]

#: Supported languages, in the order the language switch offers them.
LANGS: tuple[str, ...] = ("zh", "en")

#: Site × rule statuses of the gap list (docs/schemas.md), best first.
STATUSES: tuple[str, ...] = ("ok", "ok_shared", "gap_capacity", "gap_missing", "unroutable")

_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "title": {"zh": "易地扶贫搬迁安置点公共服务设施检查", "en": "Relocation-site facility check"},
        "subtitle": {
            "zh": "按道路可达性和政策规模门槛检查每个安置点的公共服务设施。",
            "en": "Checks every relocation site's public facilities by road access and policy "
            "population thresholds.",
        },
        "language": {"zh": "语言 / Language", "en": "Language / 语言"},
        "data": {"zh": "数据", "en": "Data"},
        "demo_county": {"zh": "示例县(合成数据)", "en": "Demo county (synthetic data)"},
        "rules": {"zh": "规则", "en": "Rules"},
        "preset": {"zh": "规则集", "en": "Rule preset"},
        "thresholds": {"zh": "门槛", "en": "Thresholds"},
        "min_population": {"zh": "人数门槛(人)", "en": "Population threshold (people)"},
        "max_population": {"zh": "人数上限(人)", "en": "Population upper bound (people)"},
        "min_households": {"zh": "户数门槛(户)", "en": "Household threshold (households)"},
        "max_time_min": {"zh": "到达时间上限(分钟)", "en": "Reach time limit (minutes)"},
        "max_dist_m": {"zh": "到达距离上限(米)", "en": "Reach distance limit (metres)"},
        "max_per_unit": {"zh": "每单位容量最多服务(人)", "en": "Most served per unit of capacity"},
        "child_share": {"zh": "3–5岁儿童占人口比例", "en": "Share of population aged 3–5"},
        "profile": {"zh": "出行方式", "en": "Travel profile"},
        "profile_walk": {"zh": "步行", "en": "Walk"},
        "profile_drive": {"zh": "驾车", "en": "Drive"},
        "profile_motorbike": {"zh": "摩托车", "en": "Motorbike"},
        "filter": {"zh": "范围", "en": "Area"},
        "county": {"zh": "县", "en": "County"},
        "township": {"zh": "乡镇", "en": "Township"},
        "all": {"zh": "全部", "en": "All"},
        "basemap": {"zh": "底图", "en": "Basemap"},
        "basemap_none": {"zh": "无(离线)", "en": "None (offline)"},
        "basemap_osm": {"zh": "OpenStreetMap(需联网)", "en": "OpenStreetMap (needs internet)"},
        "show_all_checks": {"zh": "显示全部检查(含已满足)", "en": "Show all checks (incl. satisfied)"},
        "loading": {"zh": "正在读取数据并构建路网……", "en": "Reading the data and building the road graph…"},
        "routing": {"zh": "正在计算道路可达性……", "en": "Routing sites to facilities…"},
        "input_error": {"zh": "输入数据有问题,请修正后重试:", "en": "The input has problems; fix them and retry:"},
        "map": {"zh": "地图", "en": "Map"},
        "metric_sites": {"zh": "安置点", "en": "Sites"},
        "metric_sites_gap": {"zh": "有缺口的安置点", "en": "Sites with a gap"},
        "metric_gaps": {"zh": "缺口", "en": "Gaps"},
        "metric_unroutable": {"zh": "无法计算可达性", "en": "Unroutable"},
        "metric_coverage": {"zh": "覆盖率", "en": "Coverage"},
        "metric_coverage_help": {
            "zh": "满足的 安置点×规则 检查占应检查总数的比例",
            "en": "Share of required site × rule checks that are satisfied",
        },
        "gap_table": {"zh": "缺口清单", "en": "Gap list"},
        "coverage_table": {"zh": "分乡镇覆盖率", "en": "Coverage by township"},
        "no_rows": {"zh": "没有符合条件的记录。", "en": "No matching rows."},
        "sites_layer": {"zh": "安置点", "en": "Sites"},
        "facilities_layer": {"zh": "设施", "en": "Facilities"},
        "townships_layer": {"zh": "乡镇边界", "en": "Township boundaries"},
        "legend_title": {"zh": "安置点状态(最差)", "en": "Site status (worst)"},
        "legend_size": {"zh": "圆大小 ∝ √人数", "en": "Circle area ∝ population"},
        "legend_facilities": {"zh": "设施", "en": "Facilities"},
        "no_rule": {"zh": "无适用规则", "en": "No applicable rule"},
        "population": {"zh": "人数", "en": "Population"},
        "status": {"zh": "状态", "en": "Status"},
        "reasons": {"zh": "原因", "en": "Reasons"},
        "data_source": {"zh": "数据来源", "en": "Data source"},
        "source_demo": {"zh": "示例县", "en": "Demo county"},
        "source_upload": {"zh": "上传本县数据", "en": "Upload a county"},
        "upload_files": {"zh": "上传文件", "en": "Upload files"},
        "upload_limits": {
            "zh": "文件只保存在本次会话的临时文件夹中,关闭页面后删除。必需:安置点表和 OSM 道路文件。",
            "en": "Files are kept only in this session's temporary folder and deleted when the "
            "session ends. Required: the site table and the OSM road file.",
        },
        "up_sites": {"zh": "安置点表", "en": "Site table"},
        "up_facilities": {"zh": "设施图层(可多个;也可为 OSM 文件中的设施点)",
                          "en": "Facility layers (several allowed; an OSM file's amenities too)"},
        "up_roads": {"zh": "OSM 道路文件(.osm、.osm.bz2、.osm.pbf)",
                     "en": "OSM road file (.osm, .osm.bz2, .osm.pbf)"},
        "up_dem": {"zh": "数字高程模型 DEM", "en": "Elevation model (DEM)"},
        "up_townships": {"zh": "乡镇边界", "en": "Township boundaries"},
        "up_parcels": {"zh": "迁出区地块", "en": "Out-migration parcels"},
        "up_limit": {"zh": "最大 {mb} MB", "en": "at most {mb} MB"},
        "up_coords": {"zh": "安置点表坐标系", "en": "Site table coordinates"},
        "up_coords_auto": {"zh": "按表中“坐标系”列(默认 WGS84)", "en": "From the 坐标系 column (else WGS84)"},
        "up_crs": {"zh": "高斯-克吕格投影 EPSG(可选,如 EPSG:4542)",
                   "en": "Gauss-Krüger EPSG code (optional, e.g. EPSG:4542)"},
        "upload_needed": {
            "zh": "请在左侧上传安置点表和 OSM 道路文件。",
            "en": "Upload the site table and the OSM road file in the sidebar.",
        },
        "uploaded_region": {"zh": "上传的数据", "en": "Uploaded data"},
        "show_types": {"zh": "显示的设施类型", "en": "Facility types shown"},
        "service_toggle": {"zh": "显示服务范围", "en": "Show service areas"},
        "service_note": {
            "zh": "沿道路网从设施出发在规定时间内可到达的道路,两侧各加 50 米(按当前出行方式)。"
            "有时间上限的规则用其分钟数,其他设施类型用下面的分钟数。",
            "en": "The roads from which a facility is reached within the time by the road network "
            "(current travel profile), widened by 50 m each side. Types with a rule time limit use "
            "its minutes, the others the minutes below.",
        },
        "service_minutes": {"zh": "服务范围时间(分钟)", "en": "Service area time (minutes)"},
        "loading_service": {"zh": "正在计算道路网服务范围……", "en": "Computing road-network service areas…"},
        "steep_toggle": {"zh": "显示坡度 > 25° 的土地", "en": "Show land steeper than 25°"},
        "steep_note": {
            "zh": "由 DEM 计算坡度(第一次需要几秒钟);退耕还林等政策针对 25° 以上坡地。",
            "en": "Slope from the DEM (the first time takes a few seconds); Grain-for-Green "
            "policies target land steeper than 25°.",
        },
        "loading_terrain": {"zh": "正在由 DEM 计算坡度……", "en": "Computing slope from the DEM…"},
        "selected_site": {"zh": "已在地图上选中:{name}", "en": "Selected on the map: {name}"},
        "clear_selection": {"zh": "显示全部安置点", "en": "Show all sites"},
        "gap_status_filter": {"zh": "按状态筛选", "en": "Filter by status"},
        "gap_search": {"zh": "搜索安置点名称", "en": "Search site name"},
        "gap_sort_note": {"zh": "点击表头可排序。", "en": "Click a header to sort."},
        "coverage_chart": {"zh": "安置点覆盖率(%),按规则", "en": "Sites covered (%), by rule"},
        "coverage_by_county": {"zh": "分县覆盖率", "en": "Coverage by county"},
        "downloads": {"zh": "下载", "en": "Downloads"},
        "prepare_downloads": {"zh": "生成下载文件", "en": "Prepare the files"},
        "downloads_note": {
            "zh": "与命令行 anzhi gaps 相同的文件,覆盖整个区域,使用当前规则和门槛。",
            "en": "The same files as the anzhi gaps command, for the whole region with the current "
            "rules and thresholds.",
        },
        "downloads_stale": {
            "zh": "规则或门槛已改变,请重新生成下载文件。",
            "en": "Rules or thresholds changed since; prepare the files again.",
        },
        "assets_missing": {
            "zh": "地图脚本未安装到 static/vendor(运行 make assets),或未启用静态文件服务;地图暂时从互联网加载。",
            "en": "The map's scripts are not installed in static/vendor (run make assets) or static "
            "serving is off; the map loads them from the internet for now.",
        },
        "fullscreen": {"zh": "全屏", "en": "Full screen"},
        "fullscreen_exit": {"zh": "退出全屏", "en": "Exit full screen"},
        "legend_land": {"zh": "土地与服务范围", "en": "Land and service areas"},
        "steep_layer": {"zh": "坡度 > 25° 的土地", "en": "Land steeper than 25°"},
        "parcels_layer": {"zh": "迁出区地块", "en": "Out-migration parcels"},
        "service_layer": {
            "zh": "服务范围 (道路网 {minutes} 分钟)",
            "en": "Service area (road network, {minutes} min)",
        },
        "service_legend": {"zh": "服务范围(道路网,按设施类型着色)",
                           "en": "Service area (road network, in the type's colour)"},
        "attr_osm": {
            "zh": "地图数据 © OpenStreetMap 贡献者(ODbL)",
            "en": "Map data © OpenStreetMap contributors (ODbL)",
        },
        "attr_synthetic": {
            "zh": "示例县的道路、地形、安置点和设施均为合成数据,并非真实情况",
            "en": "Demo county roads, terrain, sites and facilities are synthetic, not real",
        },
        "attr_user": {
            "zh": "道路数据来自用户提供的 OSM 文件:地图数据 © OpenStreetMap 贡献者(ODbL)",
            "en": "Roads from the user's OSM file: map data © OpenStreetMap contributors (ODbL)",
        },
    }
)

_STATUS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "ok": {"zh": "已满足(本点设有)", "en": "OK (at the site)"},
        "ok_shared": {"zh": "已满足(共享周边设施)", "en": "OK (shared nearby)"},
        "gap_missing": {"zh": "缺口:可达范围内没有", "en": "Gap: none within reach"},
        "gap_capacity": {"zh": "缺口:容量不足", "en": "Gap: over capacity"},
        "unroutable": {"zh": "无法计算可达性", "en": "Unroutable"},
    }
)

#: Gap-table columns shown in the app: gap-list column → (Chinese header, English header).
GAP_TABLE_COLUMNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "site_name": ("安置点名称", "Site name"),
        "township": ("乡镇", "Township"),
        "population": ("人数", "Population"),
        "facility_type": ("设施类型", "Facility type"),
        "rule_id": ("规则", "Rule"),
        "status": ("状态", "Status"),
        "dist_m": ("距离(米)", "Distance (m)"),
        "time_min": ("时间(分钟)", "Time (min)"),
        "reason": ("原因", "Reason"),
    }
)

#: Coverage-table columns shown in the app: coverage column → (Chinese, English) header.
COVERAGE_TABLE_COLUMNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "county": ("县", "County"),
        "township": ("乡镇", "Township"),
        "facility_type": ("设施类型", "Facility type"),
        "rule_id": ("规则", "Rule"),
        "sites_required": ("应覆盖安置点", "Sites required"),
        "sites_covered": ("已覆盖安置点", "Sites covered"),
        "share_sites": ("安置点覆盖率(%)", "Sites covered (%)"),
        "pop_required": ("应覆盖人口", "Population required"),
        "pop_covered": ("已覆盖人口", "Population covered"),
        "share_pop": ("人口覆盖率(%)", "Population covered (%)"),
    }
)


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str = "zh") -> str:
    """The label ``key`` in ``lang`` (``"zh"`` or ``"en"``).

    Raises
    ------
    KeyError
        When ``key`` has no label (a programming error, not user input).
    """
    return _TEXT[key][_check_lang(lang)]


def status_label(status: str, lang: str = "zh") -> str:
    """Localised label of a gap status; unknown statuses are returned unchanged."""
    labels = _STATUS.get(str(status))
    return labels[_check_lang(lang)] if labels else str(status)


def column_labels(columns: Mapping[str, tuple[str, str]], lang: str = "zh") -> dict[str, str]:
    """``{column: header}`` in ``lang`` for :data:`GAP_TABLE_COLUMNS` or
    :data:`COVERAGE_TABLE_COLUMNS`."""
    i = LANGS.index(_check_lang(lang))
    return {col: pair[i] for col, pair in columns.items()}

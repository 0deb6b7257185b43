"""The ledger columns of a parcel layer (Chinese or English headers, units) and land_ledger.csv."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.ledger import LEDGER_INPUT_COLUMNS, ledger_table
from anzhi.core.errors import InputError
from layers.ledger import M2_PER_HA, M2_PER_MU, ledger_csv_frame, write_ledger_csv
from layers.terrain import read_parcels


def _layer(tmp_path: Path, columns: dict[str, list[object]], name: str = "p.gpkg") -> Path:
    n = len(next(iter(columns.values())))
    geoms = [shapely.box(100.0 + i * 0.01, 25.0, 100.005 + i * 0.01, 25.005) for i in range(n)]
    path = tmp_path / name
    gpd.GeoDataFrame(columns, geometry=geoms, crs=4326).to_file(path)
    return path


def test_chinese_headers_with_units(tmp_path: Path) -> None:
    path = _layer(tmp_path, {
        "地块编号": ["A", "B", "C", "D"], "村": ["甲"] * 4, "地类": ["宅基地", "宅基地", "耕地", "宅基地"],
        "台账状态": ["已复垦", "旧房拆除", None, "待处理"],
        "复垦面积（亩）": [3.0, None, None, None],  # full-width brackets
        "增减挂钩节余指标(平方米)": ["1,500", None, None, None]})
    p = read_parcels(path)
    assert set(LEDGER_INPUT_COLUMNS) <= set(p.columns)
    assert not {"台账状态", "复垦面积（亩）", "增减挂钩节余指标(平方米)"} & set(p.columns)
    assert p["ledger_status"].tolist() == ["reclaimed", "demolished", None, "pending"]
    assert p["reclaimed_m2"].iloc[0] == pytest.approx(3 * 10_000 / 15)
    assert M2_PER_MU == pytest.approx(666.6667, abs=1e-4)
    assert p["quota_m2"].iloc[0] == 1500.0 and np.isnan(p["quota_m2"].iloc[1])


def test_english_headers_and_no_ledger(tmp_path: Path) -> None:
    path = _layer(tmp_path, {"parcel_id": ["A", "B"], "village": ["v", "v"], "land_use": ["宅基地", "耕地"],
                             "Ledger status": ["Reclaimed", None], "reclaimed_m2": [2000.0, None],
                             "quota_ha": [0.12, None]})
    p = read_parcels(path)
    assert p["ledger_status"].tolist() == ["reclaimed", None]
    assert p["reclaimed_m2"].iloc[0] == 2000.0
    assert p["quota_m2"].iloc[0] == pytest.approx(0.12 * M2_PER_HA)
    plain = read_parcels(_layer(tmp_path, {"parcel_id": ["A"], "village": ["v"], "land_use": ["耕地"],
                                           "备注": ["状态良好"]}, "plain.gpkg"))
    assert "ledger_status" not in plain.columns and "备注" in plain.columns


def test_every_bad_ledger_cell_is_reported(tmp_path: Path) -> None:
    path = _layer(tmp_path, {
        "地块编号": ["A", "B", "C", "D"], "村": ["甲"] * 4, "地类": ["宅基地"] * 4,
        "拆旧复垦状态": ["拆了一半", "待处理", None, "已复垦"],
        "复垦面积(平方米)": ["x", "-5", "300", None],
        "复垦面积(亩)": [None, None, None, 1.0]})
    with pytest.raises(InputError) as info:
        read_parcels(path)
    text = str(info.value)
    assert "two columns give the ledger's reclaimed_m2: '复垦面积(平方米)' and '复垦面积(亩)'" in text
    assert "row 1, column '拆旧复垦状态': unknown ledger status (value: '拆了一半')" in text
    assert "旧房拆除 (demolished), 宅基地复垦复绿 (reclaimed), 待处理 (pending)" in text
    assert "row 1, column '复垦面积(平方米)': not a number" in text
    assert "row 2, column '复垦面积(平方米)': a negative area" in text
    assert "row 3, column '复垦面积(平方米)': an area or quota on a parcel with no ledger status" in text
    assert len(info.value.problems) == 5
    no_status = _layer(tmp_path, {"parcel_id": ["A"], "village": ["v"], "land_use": ["宅基地"],
                                  "节余指标(亩)": [1.0]}, "nostatus.gpkg")
    with pytest.raises(InputError, match="ledger columns without a status column"):
        read_parcels(no_status)


def test_ledger_csv_headers_follow_the_language(tmp_path: Path) -> None:
    parcels = pd.DataFrame({"parcel_id": ["A", "B"], "village": ["甲", "乙"], "land_use": ["宅基地"] * 2,
                            "area_m2": [2000.0, 3000.0], "area_gt25_m2": [0.0, 3000.0]})
    ledger = ledger_table(parcels, pd.DataFrame({
        "parcel_id": ["A", "B"], "ledger_status": ["reclaimed", "pending"],
        "reclaimed_m2": [1900.0, np.nan], "quota_m2": [1200.5, np.nan]}))
    zh = pd.read_csv(write_ledger_csv(ledger, tmp_path / "zh.csv"), encoding="utf-8-sig")
    assert list(zh.columns) == ["地块编号", "村", "户编号", "地类", "台账状态", "面积(平方米)",
                                "坡度>25°面积(平方米)", "复垦复绿面积(平方米)", "增减挂钩节余指标(平方米)",
                                "下一步", "依据"]
    assert zh["台账状态"].tolist() == ["宅基地复垦复绿", "待处理"]
    assert zh["增减挂钩节余指标(平方米)"].sum() == 1200.5
    en = ledger_csv_frame(ledger, lang="en")
    assert list(en.columns)[4:9] == ["Ledger status", "Area (m²)", "Area > 25° (m²)",
                                     "Reclaimed area (m²)", "Surplus quota (m²)"]
    assert en["Ledger status"].tolist() == ["reclaimed", "pending"]
    assert en["Basis"].iloc[0].startswith("CPC Guizhou")
    # the Chinese csv reads back as a parcel layer's ledger columns (same header words)
    back = _layer(tmp_path, {"地块编号": ["A", "B"], "村": ["甲", "乙"], "地类": ["宅基地"] * 2,
                             "台账状态": zh["台账状态"].tolist(),
                             "增减挂钩节余指标(平方米)": zh["增减挂钩节余指标(平方米)"].tolist()}, "back.gpkg")
    assert read_parcels(back)["ledger_status"].tolist() == ["reclaimed", "pending"]

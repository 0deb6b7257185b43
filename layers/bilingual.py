"""Bilingual header tables of the output files: ``key | 中文 | English`` lines as a mapping."""

from __future__ import annotations

__all__ = ["bilingual"]


def bilingual(table: str) -> dict[str, tuple[str, str]]:
    """``key | 中文 | English`` lines as ``{key: (中文, English)}``, in order.

    >>> bilingual('''
    ...     site_id | 安置点编号 | Site ID
    ... ''')
    {'site_id': ('安置点编号', 'Site ID')}
    """
    out: dict[str, tuple[str, str]] = {}
    for line in table.strip().splitlines():
        key, zh, en = (cell.strip() for cell in line.split("|"))
        out[key] = (zh, en)
    return out

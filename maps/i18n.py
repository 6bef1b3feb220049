"""Words on maps and pages, in Chinese (default) and English."""

from __future__ import annotations

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "text"]

DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")

_TEXT = {
    "grid": {"zh": "网格", "en": "Grid"},
    "grid_code": {"zh": "网格编码", "en": "Grid code"},
    "grids": {"zh": "网格", "en": "Grids"},
    "building": {"zh": "楼栋", "en": "Building"},
    "buildings": {"zh": "楼栋数", "en": "Buildings"},
    "households": {"zh": "户数", "en": "Households"},
    "persons": {"zh": "人数", "en": "Persons"},
    "status": {"zh": "状态", "en": "Status"},
    "status_ok": {"zh": "均衡", "en": "balanced"},
    "status_oversize": {"zh": "超大楼栋(单独成格)", "en": "oversize building (own grid)"},
    "status_undersize": {"zh": "偏小(被道路或边界隔开)", "en": "undersize (cut off by a barrier)"},
    "status_out_of_tolerance": {"zh": "超出容差", "en": "out of tolerance"},
    "map_title": {"zh": "网格作战图", "en": "Grid battle map"},
    "plans": {"zh": "网格方案", "en": "Grid plans"},
    "plan": {"zh": "方案", "en": "Plan"},
    "target": {"zh": "每格目标户数", "en": "Target households per grid"},
    "balance": {"zh": "均衡率", "en": "Balanced grids"},
    "updated": {"zh": "更新时间", "en": "Last change"},
    "open_map": {"zh": "打开地图", "en": "Open map"},
    "not_found": {"zh": "未找到", "en": "Not found"},
    "language": {"zh": "English", "en": "中文"},
    "schematic": {"zh": "示意图", "en": "Schematic"},
}


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The word for ``key`` in ``lang`` (falls back to Chinese, then to the key itself)."""
    entry = _TEXT.get(key, {})
    return entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or key

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

# Printed wall maps (maps/wallmap.py): appended, not reordered.
_TEXT.update({
    "community_placeholder": {"zh": "XX社区", "en": "XX Community"},
    "grid_sheet_title": {"zh": "{community} 第{number}网格 作战图", "en": "{community} — Grid {number} battle map"},
    "overview_title": {"zh": "{community} 网格总览图", "en": "{community} — grid overview"},
    "grid_number": {"zh": "第{number}网格", "en": "Grid {number}"},
    "number": {"zh": "编号", "en": "No."},
    "figures": {"zh": "网格概况", "en": "Figures"},
    "plan_figures": {"zh": "社区概况", "en": "Figures"},
    "legend": {"zh": "图例", "en": "Legend"},
    "contacts": {"zh": "网格联系人", "en": "Contacts"},
    "building_leaders": {"zh": "楼栋及楼栋长", "en": "Buildings and building leaders"},
    "role": {"zh": "职务", "en": "Role"},
    "name": {"zh": "姓名", "en": "Name"},
    "phone": {"zh": "电话", "en": "Phone"},
    "role_grid_leader": {"zh": "网格长", "en": "Grid leader"},
    "role_grid_worker": {"zh": "网格员", "en": "Grid worker"},
    "role_police": {"zh": "社区民警", "en": "Community police"},
    "role_building_leader": {"zh": "楼栋长", "en": "Building leader"},
    "role_volunteer": {"zh": "志愿者", "en": "Volunteer"},
    "households_column": {"zh": "户数", "en": "Hh."},
    "households_unit": {"zh": "{n}户", "en": "{n} hh"},
    "legend_this_grid": {"zh": "本网格边界", "en": "This grid"},
    "legend_grid_buildings": {"zh": "本网格楼栋(编号/户数)", "en": "Buildings of the grid (no./households)"},
    "legend_neighbours": {"zh": "相邻网格", "en": "Neighbouring grids"},
    "legend_other_buildings": {"zh": "其他楼栋", "en": "Other buildings"},
    "legend_major": {"zh": "主干道路/河流", "en": "Main road / river"},
    "legend_minor": {"zh": "其他道路", "en": "Other road"},
    "legend_boundary": {"zh": "社区边界", "en": "Community boundary"},
    "legend_grids": {"zh": "网格(相邻网格颜色不同)", "en": "Grids (neighbours differ in colour)"},
    "legend_buildings": {"zh": "楼栋", "en": "Buildings"},
    "north": {"zh": "北", "en": "N"},
    "scale": {"zh": "比例尺", "en": "Scale"},
    "scan_grid": {"zh": "扫码查看本网格", "en": "Scan for the grid's page"},
    "scan_plan": {"zh": "扫码查看网格地图", "en": "Scan for the web map"},
    "schematic_note": {"zh": "非测绘成果,不作权属依据", "en": "not a survey map"},
    "data_source": {"zh": "数据来源", "en": "Data"},
    "plan_version": {"zh": "方案版本", "en": "Plan version"},
    "printed": {"zh": "打印日期", "en": "Printed"},
    "n_grids": {"zh": "网格数", "en": "Grids"},
    "labels_omitted": {"zh": "另有{n}栋楼标注从略,见表", "en": "{n} building label(s) left out for room: see the table"},
    "grid_labels_omitted": {"zh": "另有{n}个网格编号从略,见表", "en": "{n} grid label(s) left out for room: see the table"},
    "code_note": {"zh": "网格编码 = {prefix} + {width}位编号", "en": "Grid code = {prefix} + {width}-digit number"},
    "rows_omitted": {"zh": "……另有{n}行从略", "en": "… {n} more row(s) left out"},
})

# Web pages and web maps (app/, maps/webmap.py): appended, not reordered.
_TEXT.update({
    "not_assigned": {"zh": "未指定", "en": "not assigned"},
    "annotation": {"zh": "注记", "en": "labels"},
    "fullscreen": {"zh": "全屏", "en": "Full screen"},
    "fullscreen_exit": {"zh": "退出全屏", "en": "Exit full screen"},
    "locate_me": {"zh": "显示我的位置", "en": "Show my location"},
    "buildings_layer": {"zh": "楼栋", "en": "Buildings"},
    "grid_codes": {"zh": "网格编码", "en": "Grid codes"},
    "neighbour_grids": {"zh": "相邻网格", "en": "Neighbouring grids"},
    "neighbour_codes": {"zh": "相邻网格编码", "en": "Codes of neighbouring grids"},
    "building_labels": {"zh": "楼栋编号/户数", "en": "Building numbers / households"},
    "building_no": {"zh": "楼栋序号", "en": "No."},
    "special_households": {"zh": "重点户", "en": "Special households"},
    "community_map": {"zh": "社区网格图", "en": "Community grid map"},
    "battle_map": {"zh": "网格作战图", "en": "Grid battle map"},
    "search": {"zh": "搜索", "en": "Search"},
    "search_placeholder": {"zh": "网格编码、楼栋号或地址", "en": "Grid code, building or address"},
    "search_results": {"zh": "搜索结果", "en": "Search results"},
    "no_results": {"zh": "没有找到匹配的网格或楼栋", "en": "No grid or building matches"},
    "downloads": {"zh": "下载", "en": "Downloads"},
    "print_sheet": {"zh": "打印作战图 (PDF)", "en": "Printed battle map (PDF)"},
    "layout_normal": {"zh": "常态", "en": "Normal"},
    "layout_emergency": {"zh": "应急", "en": "Emergency"},
    "level": {"zh": "层级", "en": "Level"},
    "grid_not_found": {"zh": "网格不存在", "en": "No such grid"},
    "building_not_found": {"zh": "楼栋不存在", "en": "No such building"},
    "page_not_found": {"zh": "页面不存在", "en": "No such page"},
    "api_docs": {"zh": "接口说明 (OpenAPI)", "en": "API (OpenAPI)"},
    "back_to_map": {"zh": "返回社区地图", "en": "Back to the community map"},
    "grid_figures": {"zh": "网格概况", "en": "Figures of the grid"},
    "error": {"zh": "出错了", "en": "Error"},
    "offline": {"zh": "离线模式", "en": "Offline mode"},
    "flag_elderly_alone": {"zh": "独居老人", "en": "Elderly living alone"},
    "flag_disabled": {"zh": "残疾人", "en": "Disabled"},
    "flag_low_income": {"zh": "低保户", "en": "Low income"},
    "flag_party_member": {"zh": "党员户", "en": "Party-member households"},
    "level_community": {"zh": "社区", "en": "Community"},
    "level_zone": {"zh": "片区", "en": "Zone"},
    "level_grid": {"zh": "网格", "en": "Grids"},
    "level_small": {"zh": "微网格", "en": "Small grids"},
    "level_comprehensive": {"zh": "综合网格", "en": "Comprehensive grids"},
})

# Sign-in and access control (app/auth.py).
_TEXT.update({
    "login": {"zh": "登录", "en": "Sign in"},
    "logout": {"zh": "退出登录", "en": "Sign out"},
    "username": {"zh": "用户名", "en": "User name"},
    "password": {"zh": "密码", "en": "Password"},
    "login_failed": {"zh": "用户名或密码错误", "en": "Wrong user name or password"},
    "locked": {"zh": "登录失败次数过多, 账户已锁定, 请稍后再试", "en": "Too many failed sign-ins: the account is locked, try again later"},
    "signed_in_as": {"zh": "当前用户", "en": "Signed in as"},
    "no_users": {"zh": "尚无用户: 请先运行 gridplan users add 用户名 --role admin",
                 "en": "No users yet: run gridplan users add NAME --role admin first"},
    "residents": {"zh": "重点人群(特殊户)", "en": "Special households"},
    "address": {"zh": "地址", "en": "Address"},
    "escalation": {"zh": "网格吹哨 · 部门报到", "en": "Escalation chain"},
})

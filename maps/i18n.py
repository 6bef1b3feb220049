"""Words on maps and pages, in Chinese (default) and English."""

from __future__ import annotations

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "text", "EDITOR_KEYS", "DRILL_KEYS"]

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
    "status_undersize": {"zh": "偏小(无法扩大)", "en": "undersize (cannot grow)"},
    "status_out_of_tolerance": {"zh": "超出容差", "en": "out of tolerance"},
    "map_title": {"zh": "网格作战图", "en": "Grid battle map"},
    "plans": {"zh": "网格方案", "en": "Grid plans"},
    "plan": {"zh": "方案", "en": "Plan"},
    "target": {"zh": "每格目标户数", "en": "Target households per grid"},
    "balance": {"zh": "均衡率(不含超大楼栋)", "en": "Balanced grids (oversize aside)"},
    "updated": {"zh": "更新时间", "en": "Last change"},
    "open_map": {"zh": "打开地图", "en": "Open map"},
    "not_found": {"zh": "未找到", "en": "Not found"},
    "plan_unreadable": {"zh": "方案文件无法读取(损坏或不完整),请联系管理员", "en": "the plan file cannot be read "
                        "(corrupt or incomplete); tell the administrator"},
    "edit_bad_number": {"zh": "{op}:{key} 须为 0 至 {most} 的整数", "en": "{op}: {key} must be a whole number "
                        "from 0 to {most}"},
    "edit_bad_ids": {"zh": "{op}:{key} 须为编号列表(至多 {most} 个)", "en": "{op}: {key} must be a list of ids "
                     "(at most {most})"},
    "edit_bad_comment": {"zh": "版本说明须为文字,至多 {most} 个字符", "en": "the version comment must be text of "
                         "at most {most} characters"},
    "too_large": {"zh": "请求过大(上限 {limit} 字节)", "en": "request too large (at most {limit} bytes)"},
    "language": {"zh": "English", "en": "中文"},
    "schematic": {"zh": "示意图", "en": "Schematic"},
}


def has_text(key: str) -> bool:
    """Whether ``key`` has words of its own (not a fallback)."""
    return key in _TEXT


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The word for ``key`` in ``lang`` (falls back to Chinese, then to the key itself; a ``flag_*``
    key of the input's own to the flag's name in words)."""
    entry = _TEXT.get(key, {})
    return entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or _flag_fallback(key) or key

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

# Web pages and web maps (app/, maps/web/): appended, not reordered.
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

# Posts whose holder's name is withheld from the visitor (the public map): appended, one block.
_TEXT.update({
    "name_withheld": {"zh": "已指定（姓名不公开）", "en": "assigned (name withheld)"},
    "community_office": {"zh": "社区办公电话", "en": "Community office"},
    "posts_count": {"zh": "{n} 人", "en": "{n} people"},
})

# The plan editor page (app/templates/editor.html, app/static/editor/): appended, not reordered.
# The server's refusal reasons are English text from partitioning.editing.EditError, shown as they
# come after "editor_refused".
_EDITOR = {
    "edit_grids": {"zh": "编辑网格", "en": "Edit grids"},
    "editor_title": {"zh": "网格编辑", "en": "Grid editor"},
    "editor_loading": {"zh": "正在载入…", "en": "Loading…"},
    "editor_working": {"zh": "处理中…", "en": "Working…"},
    "editor_figures": {"zh": "方案概况", "en": "Plan figures"},
    "editor_n_grids": {"zh": "网格数", "en": "Grids"},
    "editor_balance": {"zh": "均衡率", "en": "Within tolerance"},
    "editor_hh_range": {"zh": "每格户数（最少–最多）", "en": "Households per grid (min–max)"},
    "editor_base_version": {"zh": "编辑基于版本", "en": "Editing version"},
    "editor_latest_version": {"zh": "最新版本", "en": "Latest version"},
    "editor_unsaved": {"zh": "未保存的修改", "en": "Unsaved edits"},
    "editor_newer": {"zh": "他人已保存更新的版本 {v}：保存时将提示冲突，可重新载入并重做您的修改",
                     "en": "A newer version ({v}) was saved by someone else: saving will report a conflict, "
                           "which you resolve by reloading and re-applying your edits"},
    "editor_legend": {"zh": "图例", "en": "Legend"},
    "editor_legend_ok": {"zh": "网格（户数在容差内）", "en": "Grid within tolerance"},
    "editor_legend_flagged": {"zh": "超出容差的网格", "en": "Grid outside tolerance"},
    "editor_legend_locked": {"zh": "已锁定的网格", "en": "Locked grid"},
    "editor_legend_selected": {"zh": "已选", "en": "Selected"},
    "editor_selection": {"zh": "已选楼栋", "en": "Selected buildings"},
    "editor_select_hint": {"zh": "点击地图上的楼栋选择或取消；按住 Shift 拖动可框选；按 Esc 清除",
                           "en": "Click buildings on the map to select or unselect them, Shift-drag to select "
                                 "those in a box; Esc clears"},
    "editor_sel_summary": {"zh": "{n} 栋楼，共 {hh} 户", "en": "{n} building(s), {hh} households"},
    "editor_from": {"zh": "所在网格", "en": "In grid"},
    "editor_partners": {"zh": "与所选楼栋重叠，已一并选中（须一起移动）：{ids}",
                        "en": "Overlapping the selection, selected too (they move together): {ids}"},
    "editor_move_to": {"zh": "移至网格", "en": "Move to grid"},
    "editor_move": {"zh": "移动", "en": "Move"},
    "editor_no_targets": {"zh": "没有可移入的相邻网格", "en": "No neighbouring grid to move to"},
    "editor_target_hint": {"zh": "也可在地图上点击目标网格", "en": "or click the target grid on the map"},
    "editor_clear": {"zh": "清除选择", "en": "Clear selection"},
    "editor_grid_selection": {"zh": "已选网格", "en": "Selected grids"},
    "editor_grid_hint": {"zh": "点击网格（楼栋以外处）选择；按住 Ctrl 或 Shift 点击再选一个",
                         "en": "Click a grid (off the buildings) to select it; Ctrl- or Shift-click adds another"},
    "editor_locked": {"zh": "锁定", "en": "Locked"},
    "editor_yes": {"zh": "是", "en": "yes"},
    "editor_no": {"zh": "否", "en": "no"},
    "editor_split": {"zh": "切分", "en": "Split"},
    "editor_merge": {"zh": "合并", "en": "Merge"},
    "editor_lock": {"zh": "锁定", "en": "Lock"},
    "editor_unlock": {"zh": "解锁", "en": "Unlock"},
    "editor_rerun": {"zh": "重新计算", "en": "Re-run engine"},
    "editor_proposal": {"zh": "建议切分：{a}（{na} 户）/ {b}（{nb} 户）",
                        "en": "Proposed cut: {a} ({na} households) / {b} ({nb} households)"},
    "editor_accept": {"zh": "接受", "en": "Accept"},
    "editor_reject": {"zh": "放弃", "en": "Reject"},
    "editor_another": {"zh": "换一种切法", "en": "Another cut"},
    "editor_undo": {"zh": "撤销", "en": "Undo"},
    "editor_redo": {"zh": "重做", "en": "Redo"},
    "editor_last_change": {"zh": "上一步改动的网格", "en": "Grids of the last change"},
    "editor_before": {"zh": "改前", "en": "Before"},
    "editor_after": {"zh": "改后", "en": "After"},
    "editor_removed": {"zh": "已删除", "en": "removed"},
    "editor_new": {"zh": "新增", "en": "new"},
    "editor_warnings": {"zh": "提示（{n}）", "en": "Warnings ({n})"},
    "editor_refused": {"zh": "拒绝：", "en": "Refused: "},
    "editor_failed": {"zh": "出错：", "en": "Error: "},
    "editor_latency": {"zh": "上一步 {op}：服务器 {server} ms，共 {total} ms",
                       "en": "Last edit {op}: server {server} ms, total {total} ms"},
    "editor_op_move": {"zh": "移动楼栋", "en": "move"},
    "editor_op_merge": {"zh": "合并", "en": "merge"},
    "editor_op_split": {"zh": "切分", "en": "split"},
    "editor_op_rerun": {"zh": "重新计算", "en": "re-run"},
    "editor_op_lock": {"zh": "锁定", "en": "lock"},
    "editor_op_unlock": {"zh": "解锁", "en": "unlock"},
    "editor_op_undo": {"zh": "撤销", "en": "undo"},
    "editor_op_redo": {"zh": "重做", "en": "redo"},
    "editor_save_title": {"zh": "保存为新版本", "en": "Save as a new version"},
    "editor_comment": {"zh": "修改说明", "en": "Comment"},
    "editor_comment_placeholder": {"zh": "例如：按小区围墙调整", "en": "e.g. follow the compound wall"},
    "editor_save": {"zh": "保存", "en": "Save"},
    "editor_saved": {"zh": "已保存为版本 {v}", "en": "Saved as version {v}"},
    "editor_conflict": {"zh": "保存冲突：", "en": "Conflict: "},
    "editor_reload": {"zh": "载入最新版本并重做我的修改", "en": "Reload and re-apply my edits"},
    "editor_reloaded": {"zh": "已在版本 {v} 上重做 {n} 项修改", "en": "Re-applied {n} edit(s) on version {v}"},
    "editor_refused_ops": {"zh": "以下修改已不适用，未重做：", "en": "These edits no longer apply and were left out:"},
    "editor_versions": {"zh": "版本历史", "en": "Versions"},
    "editor_version": {"zh": "版本 {v}", "en": "Version {v}"},
    "editor_diff": {"zh": "移动楼栋 {moved} 栋；网格 新增 {added}、删除 {removed}、变动 {changed}",
                    "en": "buildings moved {moved}; grids added {added}, removed {removed}, changed {changed}"},
    "editor_first_version": {"zh": "初始方案文件", "en": "the plan file as first served"},
    "editor_moved_ids": {"zh": "移动的楼栋", "en": "Moved buildings"},
    "editor_restore": {"zh": "恢复此版本", "en": "Restore"},
    "editor_restored": {"zh": "已恢复版本 {old}（保存为版本 {v}）", "en": "Restored version {old} (saved as version {v})"},
    "editor_confirm_restore": {"zh": "未保存的修改将丢失。确定恢复版本 {v}？",
                               "en": "Your unsaved edits will be lost. Restore version {v}?"},
    "editor_open_grid": {"zh": "网格页面", "en": "grid page"},
}
_TEXT.update(_EDITOR)

#: The words the editor page's script shows (its own, and shared ones), sent to it with the page.
EDITOR_KEYS = (*_EDITOR, "grid", "grid_code", "households", "buildings", "building", "status", "status_ok",
               "status_oversize", "status_undersize", "status_out_of_tolerance")

# Why the editor refuses an edit (partitioning.editing.REFUSALS; its fields, grids by number and
# buildings by name: app.editor names the ids of partitioning.editing.GRID_FIELDS/BUILDING_FIELDS): appended.
_TEXT.update({
    "refused_unknown_grid": {"zh": "方案中没有网格 {grid}", "en": "no grid '{grid}' in the plan"},
    "refused_unknown_building": {"zh": "方案中没有楼栋 {buildings}", "en": "no building {buildings} in the plan"},
    "refused_locked": {"zh": "网格 {grids} 已锁定；请先解锁", "en": "grid {grids} is locked; unlock it first"},
    "refused_falls_apart": {"zh": "网格 {grid} 将断开成 {pieces} 块；请改移能保持网格连通的楼栋",
                            "en": "grid {grid} would fall apart into {pieces} pieces; move buildings "
                                  "that keep it connected"},
    "refused_no_building": {"zh": "请至少选择一栋楼", "en": "select at least one building to move"},
    "refused_already_there": {"zh": "所选楼栋已在网格 {grid} 中", "en": "the selected buildings are already in grid {grid}"},
    "refused_overlap_left": {"zh": "楼栋 {moving} 与 {left} 重叠：二者之间的网格边界会切开建筑；请一起选择",
                             "en": "building(s) {moving} overlap {left}: a grid boundary between them would cut a "
                                   "building; select them together"},
    "refused_other_unit": {"zh": "所选楼栋与网格 {grid} 不在同一个 {level} 单元；网格不跨出所属单元",
                           "en": "the buildings are in another {level} unit than grid {grid}; a grid stays inside "
                                 "its unit"},
    "refused_not_touching": {"zh": "楼栋 {buildings} 与网格 {grid} 不相邻；只能移到相邻网格",
                             "en": "building(s) {buildings} do not touch grid {grid}; move them to a "
                                   "neighbouring grid"},
    "refused_same_grid": {"zh": "请选择两个不同的网格合并", "en": "choose two different grids to merge"},
    "refused_different_units": {"zh": "网格 {a} 和 {b} 属于不同的 {level} 单元",
                                "en": "grids {a} and {b} are in different {level} units"},
    "refused_grids_not_touching": {"zh": "网格 {a} 和 {b} 不相邻；只能合并相邻网格",
                                   "en": "grids {a} and {b} do not touch; merge neighbouring grids"},
    "refused_bad_seed": {"zh": "网格 {grid}:切分编号 {seed} 须为 0、1、2…… 的整数", "en": "grid {grid}: seed {seed} "
                         "is not a whole number 0, 1, 2, …"},
    "refused_one_building": {"zh": "网格 {grid} 只有一栋楼（或互相重叠的楼栋），无法切分",
                             "en": "grid {grid} is one building (or overlapping footprints): it cannot be split"},
    "refused_no_other_cut": {"zh": "网格 {grid} 没有第 {seed} 种其他切法（引擎共找到 {found} 种把它分成两个连通部分的其他切法）",
                             "en": "grid {grid}: no other cut number {seed} (the engine found {found} other cut(s) "
                                   "into two connected halves)"},
    "refused_no_grid": {"zh": "请至少选择一个网格重新计算", "en": "select at least one grid to re-run"},
})
# What an allowed edit warns about (partitioning.editing.WARNINGS, same fields; {status} is said
# with status_<status>): appended.
_TEXT.update({
    "warning_out_of_band": {"zh": "网格 {grid}：{households} 户，超出 {lo:g}–{hi:g}（{status}）",
                            "en": "grid {grid}: {households} households, outside {lo:g}–{hi:g} ({status})"},
    "warning_why": {"zh": "；户数不足原因：{why}", "en": "; why it is small: {why}"},
    "warning_emergency_stale": {"zh": "应急网格是在此次修改之前划分的；请用 `gridplan update` 重新划分",
                                "en": "the emergency layout was drawn before this edit; redraw it with "
                                      "`gridplan update`"},
})
# Offline by default (maps/web/assets.py: the notice of a page whose scripts did not load, the note of
# a map without basemap): appended.
_TEXT.update({
    "scripts_failed": {"zh": "地图脚本未能加载，地图无法显示。", "en": "The map's scripts did not load, so the map "
                       "cannot be shown."},
    "scripts_failed_server": {"zh": "请管理员以默认的离线方式运行服务（gridplan serve，不加 --online），或检查网络连接。",
                              "en": "Ask the administrator to run the server in its default offline mode "
                                    "(gridplan serve without --online), or check the network connection."},
    "scripts_failed_file": {"zh": "请不加 --online 重新生成此地图文件（gridplan map），或检查网络连接。",
                            "en": "Write this map file again without --online (gridplan map), or check the "
                                  "network connection."},
    "scripts_failed_files": {"zh": "未能加载：", "en": "Not loaded: "},
    "basemap_none_note": {"zh": "无底图：网格画在空白背景上（离线）。如需底图，请管理员设置内网瓦片（--tiles-url）。",
                          "en": "No basemap: the grids are drawn on a blank background (offline). For a basemap, "
                                "ask the administrator to set intranet tiles (--tiles-url)."},
    "basemap_failed_note": {"zh": "底图瓦片未能加载（无法连接瓦片服务器）；网格照常显示。",
                            "en": "The basemap tiles did not load (the tile server cannot be reached); the grids "
                                  "are shown as usual."},
})
# Printed wall maps designed for the wall (maps/wallmap/): titles in two lines, the escalation chain,
# continuation pages: appended.
_TEXT.update({
    "grid_sheet_heading": {"zh": "第{number}网格 作战图", "en": "Grid {number} battle map"},
    "overview_heading": {"zh": "网格总览图", "en": "Grid overview"},
    "chain_grid": {"zh": "网格", "en": "Grid"},
    "level_street": {"zh": "街道", "en": "Street"},
    "post": {"zh": "岗位", "en": "Post"},
    "continued": {"zh": "{title}(续{page})", "en": "{title} (continued, {page})"},
    "table_continues": {"zh": "楼栋表续见下页", "en": "The building table continues overleaf"},
    "grid_table": {"zh": "网格一览表", "en": "Table of grids"},
    "grid_table_follows": {"zh": "网格一览表见后页", "en": "Table of grids: see the following page(s)"},
    "per_community": {"zh": "各社区概况", "en": "Per community"},
})

# Drill-down pages (app/drill.py, app/static/drill.js; issue 16): the page's own words.
_DRILL = {
    "drill_title": {"zh": "分级总览", "en": "Overview by level"},
    "drill_open": {"zh": "分级总览", "en": "By level"},
    "drill_no_units": {"zh": "方案没有街道、社区等上级单元，请打开网格地图", "en": "the plan has no streets or "
                       "communities to drill down; open its grid map"},
    "drill_unit_not_found": {"zh": "未找到单元", "en": "no such unit"},
    "drill_buildings_lowest": {"zh": "只提供最低一级单元（如社区）的楼栋", "en": "buildings are sent for the units of "
                               "the last level (e.g. communities) only"},
    "drill_name": {"zh": "名称", "en": "Name"},
    "drill_grids": {"zh": "网格数", "en": "Grids"},
    "drill_posts": {"zh": "岗位已配", "en": "Posts filled"},
    "drill_gap": {"zh": "缺口", "en": "Gap"},
    "drill_loading": {"zh": "加载中…", "en": "Loading…"},
    "drill_failed": {"zh": "数据加载失败，请刷新页面", "en": "the data did not load; reload the page"},
    "drill_sort": {"zh": "点击表头排序", "en": "Click a heading to sort"},
    "drill_open_unit": {"zh": "点击地图或表格进入下一级", "en": "Click the map or the table to go one level down"},
    "drill_open_grid": {"zh": "点击网格打开作战图", "en": "Click a grid to open its battle map"},
    "drill_whole_plan": {"zh": "全域", "en": "Whole plan"},
}
_TEXT.update(_DRILL)
#: The words the drill page's script shows, sent to it with the page.
DRILL_KEYS = (*_DRILL, "households", "balance", "special_households", "status", "grid")

# Names people read (issue 18): every special-household flag (partitioning.people.roster.SPECIAL_FLAGS,
# geo.households.FLAG_COLUMNS and the common ones of household registers), the versions the plan
# file itself makes, and buildings without a name; appended in one block.
_TEXT.update({
    "flag_ill": {"zh": "重病患者", "en": "Seriously ill"},
    "flag_other": {"zh": "其他重点户", "en": "Other"},
    "flag_elderly": {"zh": "老年人", "en": "Elderly"},
    "flag_empty_nest": {"zh": "空巢老人", "en": "Empty-nest elderly"},
    "flag_left_behind_child": {"zh": "留守儿童", "en": "Left-behind child"},
    "flag_veteran": {"zh": "退役军人", "en": "Veteran"},
    "flag_pregnant": {"zh": "孕产妇", "en": "Pregnant or new mother"},
    "flag_severe_mental": {"zh": "严重精神障碍患者", "en": "Severe mental disorder"},
    "flag_community_correction": {"zh": "社区矫正对象", "en": "Under community correction"},
    "flag_unemployed": {"zh": "失业人员", "en": "Unemployed"},
    "flag_bedridden": {"zh": "失能卧床", "en": "Bedridden"},
    "editor_file_version": {"zh": "方案文件", "en": "the plan file"},
    "editor_outside_version": {"zh": "方案文件在编辑器之外被修改", "en": "the plan file was changed outside the editor"},
    "building_in_grid": {"zh": "{grid}号网格第{no}栋", "en": "grid {grid} building {no}"},
    "editor_restored_comment": {"zh": "恢复版本 {v}", "en": "restored version {v}"},
})


def _flag_fallback(key: str) -> str | None:
    """A ``flag_*`` key no table entry has: the input's own column name, words not a key
    (``flag_night_shift`` → ``night shift``)."""
    if key.startswith("flag_") and key not in _TEXT:
        return key[5:].replace("_", " ").strip() or key
    return None

EDITOR_KEYS = (*EDITOR_KEYS, "building_in_grid")  # the editor names unnamed moved buildings by it

# The 新建方案 and 更新户数 pages (app/newplan.py, app/recount.py, app/uploads.py): appended in one block.
_TEXT.update({k: {"zh": zh, "en": en} for k, zh, en in (
    ("newplan_title", "新建方案", "New plan"),
    ("recount_title", "更新户数", "Update households"),
    ("newplan_forbidden", "新建方案和更新户数需要编辑或管理员角色", "making and updating plans needs the editor or admin role"),
    ("newplan_intro", "上传楼栋轮廓和台账:先检查,看过检查报告后再生成方案。", "Upload footprints and a ledger: check first, "
     "read the report, then make the plan."),
    ("newplan_footprints", "楼栋轮廓(必填)", "Building footprints (required)"),
    ("newplan_footprints_help", "GeoPackage (.gpkg)、Shapefile 压缩包 (.zip,含 .shp .shx .dbf,最好有 .prj .cpg)、"
     "GeoJSON 或 CAD 图 (.dxf)", "GeoPackage (.gpkg), zipped Shapefile (.zip with .shp .shx .dbf, best with .prj "
     ".cpg), GeoJSON or a CAD drawing (.dxf)"),
    ("newplan_ledger", "户数台账(可选)", "Household ledger (optional)"),
    ("newplan_ledger_help", "Excel (.xlsx) 或 CSV (UTF-8 或 GBK):小区、楼栋号、单元、户数,或每户一行;没有台账时按面积×层数估算",
     "Excel (.xlsx) or CSV (UTF-8 or GBK): compound, building number, unit, households, or one row per household; "
     "without a ledger households are estimated from area × floors"),
    ("newplan_boundary", "边界(可选,社区、小区)", "Boundaries (optional: communities, compounds)"),
    ("newplan_barriers", "阻隔线(可选,主干道、河流)", "Barriers (optional: main roads, rivers)"),
    ("newplan_crs", "坐标系(文件未带坐标系时填写,如 EPSG:4549)", "CRS (when the file has none, e.g. EPSG:4549)"),
    ("newplan_encoding", "编码(Shapefile 无 .cpg、CSV 时,如 GBK;默认自动识别)", "Encoding (Shapefile without .cpg, "
     "CSV; e.g. GBK; detected by default)"),
    ("newplan_name", "方案名称(字母、数字、汉字、- 或 _)", "Plan name (letters, digits, Chinese, - or _)"),
    ("newplan_target", "每格目标户数", "Target households per grid"),
    ("newplan_limit", "所有文件合计不超过 {mb} MB", "all files together at most {mb} MB"),
    ("newplan_check", "检查", "Check"),
    ("newplan_recheck", "按所选列重新检查", "Check again with these columns"),
    ("newplan_make", "生成方案", "Make the plan"),
    ("newplan_report", "检查报告", "Check report"),
    ("newplan_nothing_written", "尚未写入任何文件。", "Nothing has been written yet."),
    ("newplan_method", "户数来源", "Households from"),
    ("newplan_notes", "修复、剔除与提示", "Repairs, drops and notes"),
    ("newplan_no_notes", "无", "none"),
    ("newplan_ledger_match", "台账匹配", "Ledger match"),
    ("newplan_rows", "行数", "Rows"),
    ("newplan_problems", "未匹配或有歧义的行", "Rows not matched or ambiguous"),
    ("newplan_problems_more", "另有 {n} 行未列出", "{n} more rows not listed"),
    ("newplan_line", "行号", "Line"),
    ("newplan_key_value", "楼栋(台账原文)", "Building (as written)"),
    ("newplan_candidates", "最接近的楼栋", "Nearest buildings"),
    ("newplan_ledger_key", "台账的楼栋列", "Ledger building column"),
    ("newplan_ledger_count", "台账的户数列", "Ledger households column"),
    ("newplan_one_per_row", "(无:每行一户)", "(none: one row per household)"),
    ("newplan_building_key", "楼栋轮廓中与之匹配的字段", "Footprint field it matches"),
    ("newplan_automatic", "(自动识别)", "(detected)"),
    ("newplan_boundaries", "边界", "Boundaries"),
    ("newplan_barrier_lines", "阻隔线", "Barrier lines"),
    ("newplan_done", "方案已生成", "The plan is made"),
    ("newplan_open", "打开方案 {name}", "Open plan {name}"),
    ("newplan_check_ok", "校验通过:每栋楼恰在一个网格,网格连通,无重叠、无缝隙、不切楼", "check passed: every building in "
     "exactly one grid, every grid connected, no overlap, no gap, no cut building"),
    ("newplan_check_failed", "校验未通过", "check failed"),
    ("newplan_check_first", "请先完成检查", "check the inputs first"),
    ("newplan_bad_name", "方案名称“{name}”不可用:以字母、数字或汉字开头,只含字母、数字、汉字、- 和 _,最多 64 个字符",
     "plan name “{name}” cannot be used: start with a letter, digit or Chinese character, use only those, - and _, "
     "at most 64 characters"),
    ("newplan_bad_target", "每格目标户数须为 1 至 {most} 的整数", "target households must be a whole number from 1 to {most}"),
    ("job", "任务", "Job"),
    ("job_failed", "任务失败", "The job failed"),
    ("job_busy", "任务正在运行,请等待结束", "the job is running; wait for it to end"),
    ("job_gone", "任务进程意外中止,请重新上传", "the job's process stopped unexpectedly; upload again"),
    ("job_internal", "内部错误({kind}),请联系管理员", "internal error ({kind}); tell the administrator"),
    ("job_name_exists", "已有名为“{name}”的方案,请换一个名称", "a plan named “{name}” exists; choose another name"),
    ("job_progress", "进度", "Progress"),
    ("upload_missing", "请选择文件:{field}", "choose a file: {field}"),
    ("upload_empty", "{field}:文件为空", "{field}: the file is empty"),
    ("upload_wrong_type", "{field}:不接受此类文件({kind});可用:{accepted}", "{field}: a {kind} file is not taken "
     "here; give one of {accepted}"),
    ("upload_zip_unsafe", "压缩包含有指向包外的路径或链接,已拒收:{entries}", "the ZIP has entries outside its folder "
     "or links, refused: {entries}"),
    ("upload_zip_shapefiles", "压缩包中有 {count} 个 Shapefile(.shp),请只放一个", "the ZIP holds {count} Shapefiles "
     "(.shp); put exactly one in it"),
    ("upload_zip_parts", "压缩包中的 Shapefile 缺少 {missing}", "the Shapefile in the ZIP has no {missing}"),
    ("upload_zip_too_large", "Shapefile 解压后超过 {limit} 字节", "the Shapefile unpacks to more than {limit} bytes"),
    ("upload_name_exists", "已有名为“{name}”的方案,请换一个名称", "a plan named “{name}” exists; choose another name"),
    ("stage_queued", "排队中", "queued"), ("stage_start", "启动", "starting"), ("stage_read", "读取与校验", "reading and validating"),
    ("stage_report", "整理报告", "writing the report"), ("stage_plan", "划分网格", "drawing the grids"),
    ("stage_write", "写入方案", "writing the plan"), ("stage_check", "校验方案", "checking the plan"),
    ("stage_publish", "发布方案", "publishing the plan"), ("stage_ledger", "匹配台账", "matching the ledger"),
    ("stage_update", "最小调整", "minimal-change update"), ("stage_diff", "对比前后", "comparing before and after"),
    ("stage_done", "完成", "done"),
    ("recount_intro", "上传新的户数台账:按最小调整重算网格,先看对比,确认后才保存为新版本。", "Upload a new household "
     "ledger: the grids are redrawn moving as few buildings as possible; you see the diff first, and it is saved "
     "as a new version only when you accept."),
    ("recount_start", "上传并计算", "Upload and compute"),
    ("recount_result", "更新结果", "The update"),
    ("recount_before", "更新前", "Before"), ("recount_after", "更新后", "After"),
    ("recount_moved", "调整的楼栋", "Buildings moved"),
    ("recount_no_moves", "没有楼栋需要调整", "no building moves"),
    ("recount_recounted", "户数变化的楼栋", "Buildings with new counts"),
    ("recount_grids_changed", "网格:{unchanged} 个不变,{changed} 个调整,{added} 个新增,{removed} 个撤销",
     "grids: {unchanged} unchanged, {changed} changed, {added} added, {removed} removed"),
    ("recount_from_to", "原网格 → 新网格", "from grid → to grid"),
    ("recount_comment", "版本说明", "Version comment"),
    ("recount_default_comment", "按新台账更新户数", "households updated from a new ledger"),
    ("recount_accept", "接受并保存为新版本", "Accept and save as a new version"),
    ("recount_discard", "放弃(方案不变)", "Discard (the plan stays as it is)"),
    ("recount_conflict", "上传后方案已有新版本,未保存;请放弃本次结果并重新上传", "the plan got a new version since the "
     "upload; nothing was saved: discard this result and upload again"),
    ("recount_not_done", "更新尚未完成", "the update has not finished"),
    ("recount_balance", "均衡率", "Balanced grids"), ("recount_range", "每格户数范围", "Households per grid"),
    ("change_unchanged", "不变", "unchanged"), ("change_changed", "楼栋调整", "buildings changed"),
    ("change_households", "仅户数变化", "households only"), ("change_added", "新增网格", "added grid"),
    ("change_removed", "撤销网格", "removed grid"),
    ("ledger_status_matched", "已匹配", "matched"), ("ledger_status_unmatched", "未匹配", "unmatched"),
    ("ledger_status_ambiguous", "有歧义", "ambiguous"), ("ledger_status_duplicate", "重复行", "duplicate"),
    ("ledger_status_blank", "空行", "blank"),
)})

# Towers (docs/hierarchy.md): the emergency layout's sub-grids by unit and floor, the posts of a
# grid, and the figures over all grids that count the towers (partitioning.metrics).
_TEXT.update({
    "subgrid_code": {"zh": "编码", "en": "Code"},
    "subgrids": {"zh": "应急分格(按单元、楼层)", "en": "Emergency sub-grids (by unit and floor)"},
    "subgrid_unit": {"zh": "{u}单元", "en": "Unit {u}"},
    "subgrid_units": {"zh": "{a}–{b}单元", "en": "Units {a}–{b}"},
    "subgrid_floor": {"zh": "{f}层", "en": "floor {f}"},
    "subgrid_floors": {"zh": "{a}–{b}层", "en": "floors {a}–{b}"},
    "subgrid_households": {"zh": "{n}户", "en": "{n} households"},
    "subgrid_sep": {"zh": " ", "en": ", "},
    "subgrid_across": {"zh": "跨单元(小单元合并)", "en": "across units (tiny units joined)"},
    "subgrids_overleaf": {"zh": "应急分格({n}格)见下页", "en": "Emergency sub-grids ({n}) overleaf"},
    "posts": {"zh": "岗位配置", "en": "Posts"},
    "units_of_building": {"zh": "{n}个单元", "en": "{n} units"},
    "balance_all": {"zh": "全部网格均衡率", "en": "All grids balanced"},
    "households_balanced": {"zh": "住在均衡网格的户数", "en": "Households in balanced grids"},
    "oversize_grids": {"zh": "超大楼栋网格", "en": "Oversize grids"},
    "oversize_households": {"zh": "{n}格 {h}户", "en": "{n} grids, {h} households"},
})

# Why a grid is undersize (partitioning.undersize): on its battle map, in words a planner can act on.
_TEXT.update({
    "undersize_why": {"zh": "户数不足原因", "en": "Why it is small"},
    "undersize_oversize": {"zh": "被超大楼栋网格 {codes} 隔断(超大楼栋单独成格),无楼栋可并入",
                           "en": "cut off by the oversize grid(s) {codes} (towers stay alone): no building to join"},
    "undersize_group": {"zh": "所在小区“{compound}”仅 {households} 户(网格不跨小区)",
                        "en": "its compound “{compound}” holds only {households} households (grids never cross compounds)"},
    "undersize_boundary": {"zh": "所在边界单元 {unit} 仅 {households} 户(网格不跨边界)",
                           "en": "its boundary unit {unit} holds only {households} households (grids never cross it)"},
    "undersize_barrier": {"zh": "被{barrier}隔开:到最近楼栋({distance_m} 米)须跨越它",
                          "en": "enclosed: the way to the nearest building ({distance_m} m) crosses {barrier}"},
    "undersize_isolated": {"zh": "{gap_m} 米内没有其他楼栋", "en": "no other building within {gap_m} m"},
    "undersize_nearest": {"zh": ",最近的在 {distance_m} 米外", "en": "; the nearest is {distance_m} m away"},
    "barrier_major": {"zh": "主要障碍(干道、河流、铁路)", "en": "a major barrier (main road, river, railway)"},
    "barrier_minor": {"zh": "次要障碍", "en": "a minor barrier"},
    "barrier_named": {"zh": "{name}", "en": "{name}"},
    "barrier_kind": {"zh": "({kind})", "en": " ({kind})"},
})
